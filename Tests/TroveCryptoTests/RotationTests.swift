import Crypto
import Foundation
import Testing
import Trove
import TroveCrypto
import TroveTestSupport

/// Keys rotate without rewriting data: old values stay readable while the keyring holds their
/// key, and new writes use the current key.
@Suite("Key rotation and keyrings")
struct RotationTests {
    @Test(arguments: LayerKind.allCases)
    func oldValuesStayReadableAndNewWritesUseTheCurrentKey(_ kind: LayerKind) async throws {
        let first = SymmetricKey(size: .bits256), second = SymmetricKey(size: .bits256)
        let before = try LayerHarness(kind, base: MemoryStore(), keyring: try Keyring(current: 1, key: first), key: first)
        let old = Data("written with key 1".utf8)
        try await before.store.set(old, for: "old")
        try await before.store.set(contentsOf: ValueChunks(chunksOf: old, chunkSize: 3), for: "old/streamed")
        #expect(try await before.storedKeyID("old") == 1)
        #expect(try await before.storedKeyID("old/streamed") == 1)

        let rotated = try before.keyring.rotating(to: 2, key: second)
        #expect(rotated.currentKeyID == 2)
        #expect(rotated.keyIDs == [1, 2])
        let after = try before.with(rotated)
        #expect(try await after.store.read("old")?.value == old)
        #expect(try await after.store.read("old/streamed")?.value == old)

        let new = Data("written with key 2".utf8)
        try await after.store.set(new, for: "new")
        try await after.store.set(contentsOf: ValueChunks(chunksOf: new, chunkSize: 5), for: "new/streamed")
        #expect(try await after.storedKeyID("new") == 2)
        #expect(try await after.storedKeyID("new/streamed") == 2)
        #expect(try await after.storedKeyID("old") == 1, "reading must not rewrite a value")

        // Rewriting an old value moves it to the current key.
        let value = try #require(try await after.store.read("old")?.value)
        try await after.store.set(value, for: "old")
        #expect(try await after.storedKeyID("old") == 2)
        #expect(try await after.store.read("old")?.value == old)

        // Once key 1 is removed, what it sealed reads as an integrity error; the rest still reads.
        let retired = try after.with(try rotated.removing(1))
        let error = await retired.expectIntegrityFailure("old/streamed")
        #expect(error?.message.contains("key 1") == true, "\(error?.message ?? "")")
        #expect(try await retired.store.read("new")?.value == new)
        #expect(try await retired.store.read("old")?.value == old)

        // The layer that only knows key 1 cannot read what key 2 sealed.
        let stale = await before.expectIntegrityFailure("new")
        #expect(stale?.message.contains("key 2") == true, "\(stale?.message ?? "")")
    }

    @Test func encryptedStoresReadEitherCipher() async throws {
        let harness = try LayerHarness(.encryptedChaCha)
        let value = patternedBytes(segmentSize + 3, seed: 11)
        try await harness.store.set(value, for: "chacha")
        #expect([UInt8](try await harness.stored("chacha"))[1] == 2, "the envelope must name ChaCha20-Poly1305")

        let aes = harness.base.encrypted(with: harness.keyring)
        #expect(aes.algorithm == .aes256GCM)
        #expect(try await aes.read("chacha")?.value == value)
        try await aes.set(value, for: "aes")
        #expect([UInt8](try await harness.stored("aes"))[1] == 1, "the envelope must name AES-256-GCM")
        #expect(try await harness.store.read("aes")?.value == value)

        // A flipped cipher byte is caught: the other cipher's key and tag do not fit.
        var planted = try await harness.stored("aes")
        planted[planted.startIndex + 1] = 2
        try await harness.plant(planted, at: "aes")
        await harness.expectIntegrityFailure("aes")
        planted[planted.startIndex + 1] = 9
        try await harness.plant(planted, at: "aes")
        let unknown = await harness.expectIntegrityFailure("aes")
        #expect(unknown?.message.contains("algorithm") == true, "\(unknown?.message ?? "")")
    }

    @Test func oneKeyringServesBothLayers() async throws {
        let key = SymmetricKey(size: .bits256)
        let keyring = try Keyring(current: 1, key: key)
        let base = MemoryStore()
        let store = base.signed(with: keyring).encrypted(with: keyring)
        let value = Data("same keyring for both".utf8)
        try await store.set(value, for: "k")
        #expect(try await store.read("k")?.value == value)
        // Signing and encryption derive different keys from it: an encrypted envelope planted in
        // a signed store does not pass for a signed one.
        let encryptedOnly = base.encrypted(with: keyring)
        try await encryptedOnly.set(value, for: "e")
        let signedOnly = base.signed(with: keyring)
        let error = await #expect(throws: StoreError.self) { try await signedOnly.read("e") }
        #expect(error?.code == .integrity)
    }

    @Test func keyringsRefuseBadKeys() throws {
        let key = SymmetricKey(size: .bits256)
        let short = #expect(throws: StoreError.self) { try Keyring(current: 1, key: SymmetricKey(size: .bits128)) }
        #expect(short?.code == .invalidArgument)
        #expect(short?.message.contains("128 bits") == true, "\(short?.message ?? "")")

        let missing = #expect(throws: StoreError.self) { try Keyring(current: 3, keys: [1: key]) }
        #expect(missing?.code == .invalidArgument)

        let keyring = try Keyring(current: 1, keys: [1: key, 2: SymmetricKey(size: .bits256)])
        let current = #expect(throws: StoreError.self) { try keyring.removing(1) }
        #expect(current?.code == .invalidArgument)
        #expect(try keyring.removing(2).keyIDs == [1])

        let reused = #expect(throws: StoreError.self) { try keyring.rotating(to: 2, key: SymmetricKey(size: .bits256)) }
        #expect(reused?.code == .invalidArgument)
        // Making a key it already holds current is a plain rotation.
        #expect(try keyring.rotating(to: 2, key: #require(keyring.key(2))).currentKeyID == 2)
        #expect(keyring.contains(2))
        #expect(!keyring.contains(3))
    }

    @Test func keyringsShowNoKeyMaterial() throws {
        let key = SymmetricKey(size: .bits256)
        let keyring = try Keyring(current: 20250601, keys: [20250601: key, 20240101: SymmetricKey(size: .bits256)])
        #expect(keyring.description == "keyring [20240101, 20250601] current 20250601")
        var dumped = ""
        dump(keyring, to: &dumped)
        let hex = key.withUnsafeBytes { Data($0) }.map { String(format: "%02x", $0) }.joined()
        let decimal = key.withUnsafeBytes { Array($0) }.map(String.init).joined(separator: ", ")
        for text in [keyring.description, dumped, String(describing: keyring), String(reflecting: keyring)] {
            #expect(!text.contains(hex))
            #expect(!text.contains(decimal), "\(text)")
        }
        #expect(dumped.contains("20250601"))
        let store = MemoryStore().encrypted(with: keyring)
        #expect(store.description == "memory encrypted (AES-256-GCM, key 20250601)")
    }
}
