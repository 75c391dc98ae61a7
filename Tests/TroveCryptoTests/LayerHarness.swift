import Crypto
import Foundation
import Testing
import Trove
import TroveCrypto
import TroveTestSupport

/// A kind of crypto layer, with what the tests need to know of its envelope.
enum LayerKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case signed
    case encryptedAES
    case encryptedChaCha

    var description: String { rawValue }

    /// Bytes before the first segment.
    var headerSize: Int { self == .signed ? 21 : 22 }
    /// Bytes of tag after each segment.
    var tagSize: Int { self == .signed ? 32 : 16 }
    /// Where the 4-byte key id starts in the header.
    var keyIDOffset: Int { self == .signed ? 1 : 2 }
    /// Where the random write id (signed) or salt (encrypted) starts, and its length.
    var randomRange: Range<Int> { self == .signed ? 5..<21 : 6..<22 }

    /// The layer over `base` with `keyring`.
    func wrap(_ base: MemoryStore, _ keyring: Keyring) -> any KeyValueStore {
        switch self {
        case .signed: return base.signed(with: keyring)
        case .encryptedAES: return base.encrypted(with: keyring)
        case .encryptedChaCha: return base.encrypted(with: keyring, algorithm: .chaCha20Poly1305)
        }
    }

    /// The stored size of a value of `size` bytes, as the documentation gives it.
    func storedSize(of size: Int) -> Int {
        headerSize + size + max(1, (size + segmentSize - 1) / segmentSize) * tagSize
    }
}

/// The bytes of value in every segment but the last, as the documentation gives it.
let segmentSize = 65_536

/// A layer over a memory store that the test can reach beneath, to read and tamper with the
/// stored envelopes.
struct LayerHarness {
    let kind: LayerKind
    let base: MemoryStore
    let keyring: Keyring
    let key: SymmetricKey
    let store: any KeyValueStore

    /// A fresh memory store under a layer of `kind`, with one key of id 1.
    init(_ kind: LayerKind) throws {
        let key = SymmetricKey(size: .bits256)
        try self.init(kind, base: MemoryStore(), keyring: try Keyring(current: 1, key: key), key: key)
    }

    /// A layer of `kind` with `keyring` over `base`; `key` is the key whose bytes must never
    /// appear in a message.
    init(_ kind: LayerKind, base: MemoryStore, keyring: Keyring, key: SymmetricKey) throws {
        self.kind = kind
        self.base = base
        self.keyring = keyring
        self.key = key
        self.store = kind.wrap(base, keyring)
    }

    /// The same base store under a layer of the same kind with another keyring.
    func with(_ keyring: Keyring) throws -> LayerHarness {
        try LayerHarness(kind, base: base, keyring: keyring, key: key)
    }

    /// The envelope stored under `key`.
    func stored(_ storeKey: StoreKey) async throws -> Data {
        let data = try await base.read(storeKey)?.value
        return try #require(data, "the base store holds no envelope under \(storeKey)")
    }

    /// Replaces the envelope under `key` with `bytes`, behind the layer's back.
    func plant(_ bytes: Data, at storeKey: StoreKey) async throws {
        try await base.set(bytes, for: storeKey)
    }

    /// The key id stored in the envelope under `key`.
    func storedKeyID(_ storeKey: StoreKey) async throws -> UInt32 {
        let bytes = [UInt8](try await stored(storeKey))
        return bytes[kind.keyIDOffset..<kind.keyIDOffset + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// Checks that reading `key` in every way fails with an integrity error that names the key
    /// and this layer and holds no secret; returns the error of `read`.
    @discardableResult
    func expectIntegrityFailure(_ storeKey: StoreKey, secretValue: Data? = nil,
                                sourceLocation: SourceLocation = #_sourceLocation) async -> StoreError? {
        let error = await #expect(throws: StoreError.self, "read must refuse the envelope", sourceLocation: sourceLocation) {
            try await store.read(storeKey)
        }
        #expect(error?.code == .integrity, "read: \(error.map(String.init(describing:)) ?? "no error")",
                sourceLocation: sourceLocation)
        #expect(error?.key == storeKey, sourceLocation: sourceLocation)
        #expect(error?.store == store.description, sourceLocation: sourceLocation)
        if let error { expectNoSecrets(in: error, value: secretValue, sourceLocation: sourceLocation) }

        let streamError = await #expect(throws: StoreError.self, "readStream must refuse the envelope",
                                        sourceLocation: sourceLocation) {
            guard let stream = try await store.readStream(storeKey, chunkSize: 1000) else { return Data() }
            return try await stream.chunks.collect()
        }
        #expect(streamError?.code == .integrity, "readStream: \(streamError.map(String.init(describing:)) ?? "no error")",
                sourceLocation: sourceLocation)
        #expect(streamError?.key == storeKey, sourceLocation: sourceLocation)
        return error
    }

    /// Checks that `error`'s texts hold neither the key's bytes (in hexadecimal or base64) nor
    /// `value`.
    func expectNoSecrets(in error: StoreError, value: Data?, sourceLocation: SourceLocation = #_sourceLocation) {
        let keyBytes = key.withUnsafeBytes { Data($0) }
        let texts = [error.description, error.debugDescription, error.message]
        let secrets = [keyBytes.map { String(format: "%02x", $0) }.joined(), keyBytes.base64EncodedString()]
            + (value.flatMap { String(data: $0, encoding: .utf8) }.map { [$0] } ?? [])
        for text in texts {
            for secret in secrets where !secret.isEmpty {
                #expect(!text.contains(secret), "an error message holds a secret: \(text)", sourceLocation: sourceLocation)
            }
        }
    }
}

/// `data` with the byte at `offset` inverted.
func flipping(_ data: Data, at offset: Int) -> Data {
    var copy = data
    let index = copy.startIndex + offset
    copy[index] ^= 0xFF
    return copy
}

/// Every element of `sequence`, in order.
func collect<Elements: AsyncSequence>(_ sequence: Elements) async throws -> [Elements.Element] {
    var elements: [Elements.Element] = []
    for try await element in sequence { elements.append(element) }
    return elements
}
