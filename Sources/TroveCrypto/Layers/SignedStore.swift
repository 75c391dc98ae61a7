public import Foundation
public import Trove

/// A layer that signs every value with HMAC-SHA256 and checks the signature on every read, so
/// that a value changed, cut, or moved to another key in the base store is reported as a
/// `StoreError.Code.integrity` error instead of being returned.
///
///     let keyring = try Keyring(current: 1, key: SymmetricKey(size: .bits256))
///     let store = try FileSystemStore(root: dataDirectory).signed(with: keyring)
///     try await store.set(Data("hello".utf8), for: "greeting")
///
/// Values stay readable in the base store (signing does not hide them; ``EncryptedStore`` does).
/// The check covers the value and the key it is stored under; it does not cover metadata kept
/// by the base store (dates, expiry), and it cannot tell an older signed value of the same key
/// put back in place (a replay) from the current one.
///
/// ## Keys and rotation
/// Every envelope names the keyring key that signed it, so after
/// `keyring.rotating(to: 2, key: newKey)` new values are signed with key 2 while values signed
/// with key 1 still read, as long as the keyring holds key 1. The layer signs with a key
/// derived from each keyring key by HKDF-SHA256 (info `Trove SignedStore v1 HMAC-SHA256`), never
/// with the keyring key itself.
///
/// ## Envelope, version 1
/// The base store holds, for a value of `n` bytes:
///
/// | Bytes | Field |
/// | --- | --- |
/// | 1 | version: `0x01` |
/// | 4 | key id, big-endian |
/// | 16 | write id: random bytes, fresh for every write |
/// | … | the value in segments of 65,536 bytes (the last one shorter, and empty for an empty value), each followed by its 32-byte HMAC-SHA256 tag |
///
/// Segment `i`'s tag is HMAC-SHA256, under the derived key, of: the 21 header bytes, the entry's
/// key as a 4-byte big-endian UTF-8 length and its bytes, `i` as 8 big-endian bytes, a byte `1`
/// if the segment is the last or `0`, and the segment's bytes. So a segment is bound to its
/// entry's key (two entries' values cannot be swapped), to its write (segments of two writes
/// cannot be mixed), to its place (segments cannot be reordered) and to the end of the value (a
/// value cannot be cut at a segment boundary). Tags are compared in constant time.
///
/// The overhead is fixed: 21 bytes, plus 32 bytes per started 64 KiB (53 bytes for a small
/// value). Sizes reported by ``metadata(for:)``, writes and listings are the value's, computed
/// from the stored size without reading it.
///
/// ## Capabilities
/// Conditions, expiry, ETags, dates and streaming pass through to the base store, so the
/// capabilities are the base store's. Streamed writes sign each segment as it comes; streamed
/// reads check each segment before handing out any of its bytes, so a stream may end with an
/// `StoreError.Code.integrity` error after some checked chunks. ``url(for:)`` is always `nil`:
/// the bytes behind a base store's URL are an envelope, not the value.
///
/// ## Errors
/// `StoreError.Code.integrity` on a read (`read`, `readStream`, and `metadata(for:)` or a
/// listing with metadata when the stored size cannot be an envelope's) of bytes that this layer
/// did not write with a key of its keyring: changed, cut, swapped, garbage, of an unknown
/// version, or signed with a key the keyring does not hold or holds under another secret. The
/// message names the key and the store and, where it helps, the key id; never key material or
/// value bytes. The base store's errors are reported with this layer's description.
public struct SignedStore<Base: KeyValueStore>: KeyValueStore {
    /// The store beneath, which holds the envelopes.
    public let base: Base
    /// The keys this layer signs and checks with.
    public let keyring: Keyring

    private let layer: EnvelopeLayer<Base, SignedEnvelope>

    /// Signs the values of `base` with the keys of `keyring`.
    ///
    /// - Parameters:
    ///   - base: The store that holds the signed envelopes.
    ///   - keyring: New values are signed with its current key; values signed with any of its keys
    ///     read.
    public init(base: Base, keyring: Keyring) {
        self.base = base
        self.keyring = keyring
        let description = "\(base.description) signed (HMAC-SHA256, key \(keyring.currentKeyID))"
        let engine = EnvelopeEngine(format: SignedEnvelope(keyring: keyring), storeDescription: description)
        self.layer = EnvelopeLayer(base: base, engine: engine)
    }

    /// The base store's description, then `signed (HMAC-SHA256, key <current id>)`.
    public var description: String { layer.engine.storeDescription }

    /// The base store's capabilities: everything passes through.
    public var capabilities: StoreCapabilities { base.capabilities }

    /// Reads the envelope under `key` and returns the value once every segment is checked.
    ///
    /// - Throws: `StoreError.Code.integrity` when the envelope fails its check.
    public func read(_ key: StoreKey) async throws -> StoreEntry? {
        try await layer.read(key)
    }

    /// Opens the envelope under `key` as a stream; each segment is checked before its bytes are
    /// handed out, and a segment that fails ends the stream with `StoreError.Code.integrity`.
    public func readStream(_ key: StoreKey, chunkSize: Int) async throws -> StreamedEntry? {
        try await layer.readStream(key, chunkSize: chunkSize)
    }

    /// The base store's metadata, with the value's size computed from the stored size (without
    /// reading or checking the value).
    ///
    /// - Throws: `StoreError.Code.integrity` when no envelope has the stored size.
    public func metadata(for key: StoreKey) async throws -> EntryMetadata? {
        try await layer.metadata(for: key)
    }

    /// Signs `value` with the current key and writes the envelope under `options`.
    public func write(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        try await layer.write(value, for: key, options: options)
    }

    /// Signs the chunks segment by segment as they come and streams the envelope to the base
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

    /// Always `nil`: the bytes behind a base store's URL are the envelope, not the value.
    public func url(for key: StoreKey, validFor lifetime: Duration) async throws -> URL? { nil }

    /// Reclaims the base store's expired entries.
    public func reclaimExpired() async throws -> Int {
        try await layer.reclaimExpired()
    }
}

extension KeyValueStore {
    /// This store with every value signed with HMAC-SHA256 under `keyring`'s current key and
    /// checked on every read (see ``SignedStore``).
    ///
    ///     let store = MemoryStore().signed(with: keyring)
    public func signed(with keyring: Keyring) -> SignedStore<Self> {
        SignedStore(base: self, keyring: keyring)
    }
}
