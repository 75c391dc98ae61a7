import Crypto
import Foundation
import Trove
import TroveConformance
import TroveCrypto
import TroveTestSupport

/// The keys of one test: a signing keyring and an encryption keyring, fresh for every test and
/// shared by a store and its second instance.
struct TestKeys: Sendable {
    let signing: Keyring
    let encryption: Keyring

    init() throws {
        signing = try Keyring(current: 1, key: SymmetricKey(size: .bits256))
        encryption = try Keyring(current: 7, key: SymmetricKey(size: .bits256))
    }
}

/// The stacks of crypto layers the contract is checked against (``ConformanceFixture``s), each
/// with fresh keys for every test, shared by a store and its second instance.
enum CryptoStoreFixture {
    /// A fixture whose stores `open` builds with the keys of the test.
    static func stack(_ name: String, usesDirectory: Bool,
                      _ open: @escaping @Sendable (ManualWallClock, URL?, TestKeys) throws -> any KeyValueStore) -> ConformanceFixture {
        ConformanceFixture(name: name, usesDirectory: usesDirectory) {
            let keys = try TestKeys()
            return { clock, root in try open(clock, root, keys) }
        }
    }

    /// `Encrypted(Signed(Memory))`: both layers stacked on the reference store.
    static let encryptedSignedMemory = stack("memory.signed.encrypted", usesDirectory: false) { clock, _, keys in
        MemoryStore(clock: clock.wallClock).signed(with: keys.signing).encrypted(with: keys.encryption)
    }

    /// `Signed(File)`.
    static let signedFile = stack("file.signed", usesDirectory: true) { clock, root, keys in
        try FileSystemStore(root: try ConformanceFixture.require(root), clock: clock.wallClock).signed(with: keys.signing)
    }

    /// `Encrypted(File)` with the default cipher, AES-256-GCM.
    static let encryptedFile = stack("file.encrypted", usesDirectory: true) { clock, root, keys in
        try FileSystemStore(root: try ConformanceFixture.require(root), clock: clock.wallClock).encrypted(with: keys.encryption)
    }

    /// `Encrypted(File)` with ChaCha20-Poly1305.
    static let encryptedChaChaFile = stack("file.encrypted(chacha)", usesDirectory: true) { clock, root, keys in
        try FileSystemStore(root: try ConformanceFixture.require(root), clock: clock.wallClock)
            .encrypted(with: keys.encryption, algorithm: .chaCha20Poly1305)
    }

    /// Every fixture.
    static let all: [ConformanceFixture] = [encryptedSignedMemory, signedFile, encryptedFile, encryptedChaChaFile]
}
