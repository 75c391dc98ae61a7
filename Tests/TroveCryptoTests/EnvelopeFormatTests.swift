import Crypto
import Foundation
import Testing
import Trove
import TroveCrypto
import TroveTestSupport

/// The envelopes are what the documentation says: checked here by an independent implementation
/// of the documented formats, which must open what the layers write and write what they open.
@Suite("Envelope formats")
struct EnvelopeFormatTests {
    static let sizes = [0, 1, 100, segmentSize - 1, segmentSize, segmentSize + 1, 2 * segmentSize, 2 * segmentSize + 7]

    /// The bound context of the documentation: header, key length (4 bytes, big-endian), key.
    static func context(_ header: Data, _ key: StoreKey) -> Data {
        let keyBytes = Data(key.rawValue.utf8)
        return header + bigEndian(UInt64(keyBytes.count), bytes: 4) + keyBytes
    }

    static func bigEndian(_ value: UInt64, bytes: Int) -> Data {
        Data((0..<bytes).reversed().map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) })
    }

    /// The documented segmentation: 64 KiB pieces, the last one shorter or empty.
    static func segments(_ value: Data) -> [Data] {
        if value.isEmpty { return [Data()] }
        return stride(from: 0, to: value.count, by: segmentSize).map { Data(value.dropFirst($0).prefix(segmentSize)) }
    }

    /// A signed envelope built from the documentation alone.
    static func documentedSignedEnvelope(_ value: Data, key: StoreKey, keyringKey: SymmetricKey, id: UInt32) -> Data {
        let signingKey = HKDF<SHA256>.deriveKey(inputKeyMaterial: keyringKey, info: Data("Trove SignedStore v1 HMAC-SHA256".utf8),
                                                outputByteCount: 32)
        let header = Data([1]) + bigEndian(UInt64(id), bytes: 4) + Data(repeating: 0xAB, count: 16)
        var envelope = header
        let parts = segments(value)
        for (index, part) in parts.enumerated() {
            let isLast: UInt8 = index == parts.count - 1 ? 1 : 0
            let tagged = context(header, key) + bigEndian(UInt64(index), bytes: 8) + Data([isLast]) + part
            envelope += part + Data(HMAC<SHA256>.authenticationCode(for: tagged, using: signingKey))
        }
        return envelope
    }

    /// An encrypted envelope built from the documentation alone.
    static func documentedEncryptedEnvelope(_ value: Data, key: StoreKey, keyringKey: SymmetricKey, id: UInt32,
                                            cipher: UInt8) throws -> Data {
        let salt = Data(repeating: 0x5A, count: 16)
        let header = Data([1, cipher]) + bigEndian(UInt64(id), bytes: 4) + salt
        let writeKey = HKDF<SHA256>.deriveKey(inputKeyMaterial: keyringKey, salt: salt,
                                              info: Data("Trove EncryptedStore v1".utf8) + [cipher], outputByteCount: 32)
        var envelope = header
        let parts = segments(value)
        for (index, part) in parts.enumerated() {
            let nonce = bigEndian(UInt64(index), bytes: 12)
            let aad = context(header, key) + Data([index == parts.count - 1 ? 1 : 0])
            if cipher == 1 {
                let box = try AES.GCM.seal(part, using: writeKey, nonce: try AES.GCM.Nonce(data: nonce), authenticating: aad)
                envelope += box.ciphertext + box.tag
            } else {
                let box = try ChaChaPoly.seal(part, using: writeKey, nonce: try ChaChaPoly.Nonce(data: nonce), authenticating: aad)
                envelope += box.ciphertext + box.tag
            }
        }
        return envelope
    }

    /// Opens an encrypted envelope by the documentation alone.
    static func documentedDecryption(_ envelope: Data, key: StoreKey, keyringKey: SymmetricKey) throws -> Data {
        let bytes = [UInt8](envelope)
        let header = Data(bytes[0..<22]), cipher = bytes[1], salt = Data(bytes[6..<22])
        let writeKey = HKDF<SHA256>.deriveKey(inputKeyMaterial: keyringKey, salt: salt,
                                              info: Data("Trove EncryptedStore v1".utf8) + [cipher], outputByteCount: 32)
        var value = Data()
        var offset = 22, index = 0
        while offset < bytes.count {
            let end = min(offset + segmentSize + 16, bytes.count)
            let sealed = Data(bytes[offset..<end])
            let nonce = bigEndian(UInt64(index), bytes: 12)
            let aad = context(header, key) + Data([end == bytes.count ? 1 : 0])
            if cipher == 1 {
                let box = try AES.GCM.SealedBox(nonce: try AES.GCM.Nonce(data: nonce), ciphertext: sealed.dropLast(16), tag: sealed.suffix(16))
                value += try AES.GCM.open(box, using: writeKey, authenticating: aad)
            } else {
                let box = try ChaChaPoly.SealedBox(nonce: try ChaChaPoly.Nonce(data: nonce), ciphertext: sealed.dropLast(16), tag: sealed.suffix(16))
                value += try ChaChaPoly.open(box, using: writeKey, authenticating: aad)
            }
            offset = end
            index += 1
        }
        return value
    }

    @Test(arguments: sizes)
    func signedEnvelopeIsAsDocumented(_ size: Int) async throws {
        let harness = try LayerHarness(.signed)
        let value = patternedBytes(size, seed: UInt64(size))
        let key: StoreKey = "docs/signed"
        // The layer reads an envelope made from the documentation.
        let documented = Self.documentedSignedEnvelope(value, key: key, keyringKey: harness.key, id: 1)
        #expect(documented.count == LayerKind.signed.storedSize(of: size))
        try await harness.plant(documented, at: key)
        #expect(try await harness.store.read(key)?.value == value)
        #expect(try await harness.store.readStream(key, chunkSize: 5000)?.chunks.collect() == value)

        // What the layer writes is the documented envelope, but for its random write id.
        try await harness.store.set(value, for: key)
        let written = try await harness.stored(key)
        let writeID = written.dropFirst(5).prefix(16)
        var expected = Self.documentedSignedEnvelope(value, key: key, keyringKey: harness.key, id: 1)
        expected.replaceSubrange(5..<21, with: writeID)
        #expect(written == Self.resigned(expected, key: key, keyringKey: harness.key))
    }

    /// `envelope` with its tags recomputed for the header it now has (used after putting the
    /// layer's write id into a documented envelope).
    static func resigned(_ envelope: Data, key: StoreKey, keyringKey: SymmetricKey) -> Data {
        let bytes = [UInt8](envelope)
        let header = Data(bytes[0..<21])
        let signingKey = HKDF<SHA256>.deriveKey(inputKeyMaterial: keyringKey, info: Data("Trove SignedStore v1 HMAC-SHA256".utf8),
                                                outputByteCount: 32)
        var result = header
        var offset = 21, index = 0
        while offset < bytes.count {
            let end = min(offset + segmentSize + 32, bytes.count)
            let part = Data(bytes[offset..<(end - 32)])
            let tagged = context(header, key) + bigEndian(UInt64(index), bytes: 8) + Data([end == bytes.count ? 1 : 0]) + part
            result += part + Data(HMAC<SHA256>.authenticationCode(for: tagged, using: signingKey))
            offset = end
            index += 1
        }
        return result
    }

    @Test(arguments: sizes, [UInt8(1), UInt8(2)])
    func encryptedEnvelopeIsAsDocumented(_ size: Int, _ cipher: UInt8) async throws {
        let harness = try LayerHarness(cipher == 1 ? .encryptedAES : .encryptedChaCha)
        let value = patternedBytes(size, seed: UInt64(size) + 100)
        let key: StoreKey = "docs/encrypted"
        let documented = try Self.documentedEncryptedEnvelope(value, key: key, keyringKey: harness.key, id: 1, cipher: cipher)
        #expect(documented.count == LayerKind.encryptedAES.storedSize(of: size))
        try await harness.plant(documented, at: key)
        #expect(try await harness.store.read(key)?.value == value)
        #expect(try await harness.store.readStream(key, chunkSize: 5000)?.chunks.collect() == value)

        try await harness.store.set(value, for: key)
        let written = try await harness.stored(key)
        #expect([UInt8](written.prefix(6)) == [1, cipher, 0, 0, 0, 1])
        #expect(try Self.documentedDecryption(written, key: key, keyringKey: harness.key) == value)
    }

    @Test(arguments: LayerKind.allCases)
    func sizesAreTheValuesAndComputedWithoutReading(_ kind: LayerKind) async throws {
        let harness = try LayerHarness(kind)
        for size in Self.sizes {
            let key = try StoreKey(validating: "size/\(size)")
            let value = patternedBytes(size, seed: 9)
            let written = try await harness.store.set(value, for: key)
            #expect(written.size == Int64(size))
            #expect(try await harness.base.metadata(for: key)?.size == Int64(kind.storedSize(of: size)))
            #expect(try await harness.store.metadata(for: key)?.size == Int64(size))
            #expect(try await harness.store.read(key)?.metadata.size == Int64(size))
            #expect(try await harness.store.readStream(key, chunkSize: 100)?.metadata.size == Int64(size))

            // A streamed write cuts the value into the same segments.
            let streamed = try await harness.store.set(contentsOf: ValueChunks(chunksOf: value, chunkSize: 1000), for: key)
            #expect(streamed.size == Int64(size))
            #expect(try await harness.base.metadata(for: key)?.size == Int64(kind.storedSize(of: size)))
            #expect(try await harness.store.read(key)?.value == value)

            // metadata neither reads nor checks the value: a spoiled one still reports its size.
            let stored = try await harness.stored(key)
            try await harness.plant(flipping(stored, at: stored.count - 1), at: key)
            #expect(try await harness.store.metadata(for: key)?.size == Int64(size))
            await harness.expectIntegrityFailure(key)
        }
        let listed = try await collect(harness.store.metadata(withPrefix: "size/"))
        #expect(Set(listed.map(\.size)) == Set(Self.sizes.map(Int64.init)))
        let page = try await harness.store.listPage(try ListQuery(prefix: "size/", includesMetadata: true), after: nil, limit: 100)
        #expect(Set(page.elements.compactMap(\.metadata?.size)) == Set(Self.sizes.map(Int64.init)))
    }

    @Test(arguments: LayerKind.allCases)
    func everyWriteDrawsFreshRandomness(_ kind: LayerKind) async throws {
        let harness = try LayerHarness(kind)
        let value = Data("the same value, written again and again".utf8)
        var seen = Set<Data>()
        for _ in 0..<500 {
            try await harness.store.set(value, for: "same")
            let stored = try await harness.stored("same")
            seen.insert(stored.subdata(in: kind.randomRange))
        }
        #expect(seen.count == 500, "a write id or salt repeated")
    }

    @Test(arguments: [LayerKind.encryptedAES, .encryptedChaCha])
    func encryptionHidesTheValue(_ kind: LayerKind) async throws {
        let harness = try LayerHarness(kind)
        let marker = Data(String(repeating: "plain marker ", count: 20).utf8)
        try await harness.store.set(marker, for: "hidden")
        let stored = try await harness.stored("hidden")
        #expect(stored.range(of: Data("plain marker".utf8)) == nil, "the base store holds the plaintext")
        #expect(try await harness.store.read("hidden")?.value == marker)

        let signed = try LayerHarness(.signed)
        try await signed.store.set(marker, for: "visible")
        #expect(try await signed.stored("visible").range(of: marker) != nil, "signing keeps the value readable")
    }
}
