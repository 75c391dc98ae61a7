public import Foundation
public import Trove

/// A layer that encrypts every value with an authenticated cipher (AES-256-GCM or
/// ChaCha20-Poly1305) and checks it on every read, so that the base store never sees a value and
/// a value changed, cut, or moved to another key there is reported as a
/// `StoreError.Code.integrity` error instead of being returned.
///
///     let keyring = try Keyring(current: 1, key: SymmetricKey(size: .bits256))
///     let store = try FileSystemStore(root: dataDirectory).encrypted(with: keyring)
///     try await store.set(Data("hello".utf8), for: "greeting")
///
/// Keys, sizes, dates and expiry stay visible in the base store: only values are encrypted. The
/// check covers the value and the key it is stored under; it does not cover metadata kept by the
/// base store, and it cannot tell an older value of the same key put back in place (a replay)
/// from the current one. Stack it on a ``SignedStore`` only if you want a second, independent
/// check: the cipher already authenticates.
///
/// ## Keys, nonces and rotation
/// Every envelope names the keyring key and the cipher that sealed it, so after
/// `keyring.rotating(to: 2, key: newKey)` new values are sealed with key 2 while values sealed
/// with key 1 still read, as long as the keyring holds key 1; and a store reads values of either
/// cipher. Each write draws a 16-byte random salt and seals with its own key, derived by
/// HKDF-SHA256 from the keyring key and the salt (info `Trove EncryptedStore v1` followed by the
/// cipher's code); segment `i` of the write uses the 96-bit nonce `i`. So a nonce never repeats
/// under one key, unless two writes draw the same 128-bit salt: after 2^32 writes with one keyring
/// key the chance of that is below 2^-64. The keyring key itself never touches a value.
///
/// ## Envelope, version 1
/// The base store holds, for a value of `n` bytes:
///
/// | Bytes | Field |
/// | --- | --- |
/// | 1 | version: `0x01` |
/// | 1 | cipher: `0x01` AES-256-GCM, `0x02` ChaCha20-Poly1305 |
/// | 4 | key id, big-endian |
/// | 16 | salt: random bytes, fresh for every write |
/// | … | the encrypted value in segments of 65,536 bytes (the last one shorter, and empty for an empty value), each followed by its 16-byte tag |
///
/// The nonce is not stored: segment `i`'s is `i` as 12 big-endian bytes. Each segment's
/// associated data is: the 22 header bytes, the entry's key as a 4-byte big-endian UTF-8 length
/// and its bytes, and a byte `1` if the segment is the last or `0`. So a segment is bound to its
/// entry's key (two entries' values cannot be swapped), to its write and place (through the key
/// and nonce) and to the end of the value (a value cannot be cut at a segment boundary).
///
/// The overhead is fixed: 22 bytes, plus 16 bytes per started 64 KiB (38 bytes for a small
/// value). Sizes reported by ``metadata(for:)``, writes and listings are the value's, computed
/// from the stored size without reading it.
///
/// ## Capabilities
/// Conditions, expiry, ETags, dates and streaming pass through to the base store, so the
/// capabilities are the base store's. Streamed writes encrypt each segment as it comes; streamed
/// reads check each segment before handing out any of its bytes, so a stream may end with an
/// `StoreError.Code.integrity` error after some checked chunks. ``url(for:)`` is always `nil`:
/// the bytes behind a base store's URL are ciphertext.
///
/// ## Errors
/// `StoreError.Code.integrity` on a read (`read`, `readStream`, and `metadata(for:)` or a
/// listing with metadata when the stored size cannot be an envelope's) of bytes that this layer
/// did not write with a key of its keyring: changed, cut, swapped, garbage, of an unknown version
/// or cipher, or sealed with a key the keyring does not hold or holds under another secret. The
/// message names the key and the store and, where it helps, the key id; never key material or
/// value bytes. The base store's errors are reported with this layer's description.
public struct EncryptedStore<Base: KeyValueStore>: KeyValueStore {
    /// The store beneath, which holds the envelopes.
    public let base: Base
    /// The keys this layer seals and opens with.
    public let keyring: Keyring
    /// The cipher of new values; values of either cipher read.
    public let algorithm: EncryptionAlgorithm

    private let layer: EnvelopeLayer<Base, EncryptedEnvelope>

    /// Encrypts the values of `base` with the keys of `keyring`.
    ///
    /// - Parameters:
    ///   - base: The store that holds the encrypted envelopes.
    ///   - keyring: New values are sealed with its current key; values sealed with any of its keys
    ///     read.
    ///   - algorithm: The cipher of new values. Defaults to ``EncryptionAlgorithm/aes256GCM``.
    public init(base: Base, keyring: Keyring, algorithm: EncryptionAlgorithm = .aes256GCM) {
        self.base = base
        self.keyring = keyring
        self.algorithm = algorithm
        let description = "\(base.description) encrypted (\(algorithm), key \(keyring.currentKeyID))"
        let engine = EnvelopeEngine(format: EncryptedEnvelope(keyring: keyring, algorithm: algorithm), storeDescription: description)
        self.layer = EnvelopeLayer(base: base, engine: engine)
    }

    /// The base store's description, then `encrypted (<cipher>, key <current id>)`.
    public var description: String { layer.engine.storeDescription }

    /// The base store's capabilities: everything passes through.
    public var capabilities: StoreCapabilities { base.capabilities }

    /// Reads the envelope under `key` and returns the value once every segment is decrypted and
    /// checked.
    ///
    /// - Throws: `StoreError.Code.integrity` when the envelope fails its check.
    public func read(_ key: StoreKey) async throws -> StoreEntry? {
        try await layer.read(key)
    }

    /// Opens the envelope under `key` as a stream; each segment is decrypted and checked before
    /// its bytes are handed out, and a segment that fails ends the stream with
    /// `StoreError.Code.integrity`.
    public func readStream(_ key: StoreKey, chunkSize: Int) async throws -> StreamedEntry? {
        try await layer.readStream(key, chunkSize: chunkSize)
    }

    /// The base store's metadata, with the value's size computed from the stored size (without
    /// reading or decrypting the value).
    ///
    /// - Throws: `StoreError.Code.integrity` when no envelope has the stored size.
    public func metadata(for key: StoreKey) async throws -> EntryMetadata? {
        try await layer.metadata(for: key)
    }

    /// Encrypts `value` with the current key and writes the envelope under `options`.
    public func write(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        try await layer.write(value, for: key, options: options)
    }

    /// Encrypts the chunks segment by segment as they come and streams the envelope to the base
    /// store, which commits it atomically.
    public func write<Chunks: AsyncSequence & Sendable>(
        contentsOf chunks: Chunks, for key: StoreKey, options: WriteOptions
    ) async throws -> EntryMetadata where Chunks.Element == Data {
        try await layer.write(contentsOf: chunks, for: key, options: options)
    }

    /// Reads under `options`: the ETag comparison and a renewed expiry are the base store's
    /// (the ETags are its), the range is cut from the checked value.
    public func read(_ key: StoreKey, options: ReadOptions) async throws -> ReadOutcome<StoreEntry>? {
        try await layer.read(key, options: options)
    }

    /// Opens the value under `options` (see ``read(_:options:)``).
    public func readStream(_ key: StoreKey, chunkSize: Int, options: ReadOptions) async throws -> ReadOutcome<StreamedEntry>? {
        try await layer.readStream(key, chunkSize: chunkSize, options: options)
    }

    /// The base store's metadata under `options`, with the value's size.
    public func metadata(for key: StoreKey, options: ReadOptions) async throws -> EntryMetadata? {
        try await layer.metadata(for: key, options: options)
    }

    /// Deletes through the base store without asking whether the key held a value.
    public func discard(_ key: StoreKey) async throws {
        try await layer.discard(key)
    }

    /// The base store's count.
    public func count(withPrefix prefix: String) async throws -> Int {
        try await layer.count(withPrefix: prefix)
    }

    /// The base store's batched read, each value checked.
    public func readBatch(_ keys: [StoreKey]) async throws -> [StoreEntry?] {
        try await layer.readBatch(keys)
    }

    /// Seals every value, then writes them in one base batch.
    public func writeBatch(_ writes: [BatchWrite]) async throws -> [Result<EntryMetadata, StoreError>] {
        try await layer.writeBatch(writes)
    }

    /// The base store's batched delete.
    public func deleteBatch(_ deletes: [BatchDelete]) async throws -> [Result<Void, StoreError>] {
        try await layer.deleteBatch(deletes)
    }

    /// Deletes through the base store; ETag conditions are the base store's ETags.
    public func delete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool {
        try await layer.delete(key, condition: condition)
    }

    /// The base store's page, with each value's size in place of its envelope's.
    public func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
        try await layer.listPage(query, after: cursor, limit: limit)
    }

    /// The base store's listing, with each value's size in place of its envelope's.
    public func list(_ query: ListQuery, pageSize: Int) -> StoreListing {
        layer.list(query, pageSize: pageSize)
    }

    /// Always `nil`: the bytes behind a base store's URL are ciphertext, not the value.
    public func url(for key: StoreKey, validFor lifetime: Duration) async throws -> URL? { nil }

    /// Reclaims the base store's expired entries.
    public func reclaimExpired() async throws -> Int {
        try await layer.reclaimExpired()
    }
}

extension KeyValueStore {
    /// This store with every value encrypted under `keyring`'s current key and checked on every
    /// read (see ``EncryptedStore``).
    ///
    ///     let store = MemoryStore().signed(with: signingKeys).encrypted(with: encryptionKeys)
    ///
    /// - Parameters:
    ///   - keyring: The keys to seal and open with.
    ///   - algorithm: The cipher of new values. Defaults to ``EncryptionAlgorithm/aes256GCM``.
    public func encrypted(with keyring: Keyring, algorithm: EncryptionAlgorithm = .aes256GCM) -> EncryptedStore<Self> {
        EncryptedStore(base: self, keyring: keyring, algorithm: algorithm)
    }
}
