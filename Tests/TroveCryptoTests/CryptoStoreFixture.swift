import Crypto
import Foundation
import Trove
import TroveConformance
import TroveCrypto

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

/// A stack of crypto layers the contract is checked against, able to build a fresh one for each
/// test, as the core's `StoreFixture` does: a `ManualWallClock` per store, and file stores in a
/// fresh directory under the system's temporary directory, removed when the test ends.
struct CryptoStoreFixture: Sendable, CustomStringConvertible {
    /// The fixture's name in test reports.
    let name: String
    /// Whether the store keeps its data in a directory.
    let usesDirectory: Bool
    /// Builds the store over `root` (a directory for file stores, `nil` otherwise).
    private let open: @Sendable (_ clock: ManualWallClock, _ root: URL?, _ keys: TestKeys) throws -> any KeyValueStore

    var description: String { name }

    /// `Encrypted(Signed(Memory))`: both layers stacked on the reference store.
    static let encryptedSignedMemory = CryptoStoreFixture(name: "memory.signed.encrypted", usesDirectory: false) { clock, _, keys in
        MemoryStore(clock: clock.wallClock).signed(with: keys.signing).encrypted(with: keys.encryption)
    }

    /// `Signed(File)`.
    static let signedFile = CryptoStoreFixture(name: "file.signed", usesDirectory: true) { clock, root, keys in
        try FileSystemStore(root: try requireRoot(root), clock: clock.wallClock).signed(with: keys.signing)
    }

    /// `Encrypted(File)` with the default cipher, AES-256-GCM.
    static let encryptedFile = CryptoStoreFixture(name: "file.encrypted", usesDirectory: true) { clock, root, keys in
        try FileSystemStore(root: try requireRoot(root), clock: clock.wallClock).encrypted(with: keys.encryption)
    }

    /// `Encrypted(File)` with ChaCha20-Poly1305.
    static let encryptedChaChaFile = CryptoStoreFixture(name: "file.encrypted(chacha)", usesDirectory: true) { clock, root, keys in
        try FileSystemStore(root: try requireRoot(root), clock: clock.wallClock)
            .encrypted(with: keys.encryption, algorithm: .chaCha20Poly1305)
    }

    /// Every fixture.
    static let all: [CryptoStoreFixture] = [.encryptedSignedMemory, .signedFile, .encryptedFile, .encryptedChaChaFile]

    /// Runs `body` with a fresh, empty store of this kind and the environment that goes with it.
    func withFreshStore(_ body: (any KeyValueStore, ConformanceEnvironment) async throws -> Void) async throws {
        let clock = ManualWallClock()
        let keys = try TestKeys()
        guard usesDirectory else {
            try await body(try open(clock, nil, keys), ConformanceEnvironment(clock: clock))
            return
        }
        let open = self.open
        try await ConformanceEnvironment.withStoreInTemporaryDirectory(
            clock: clock, open: { root in try open(clock, root, keys) }, body)
    }

    private static func requireRoot(_ root: URL?) throws -> URL {
        guard let root else { throw FixtureError("a file fixture was opened without a directory") }
        return root
    }
}

/// A fixture could not be set up.
struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
