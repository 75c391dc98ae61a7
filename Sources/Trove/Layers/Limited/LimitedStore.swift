public import Foundation

/// A store with caps on key length and value size, as small embedded stores impose, so that code
/// written against it also runs on them.
///
///     let store = MemoryStore().limited(keyLength: 32, valueSize: 16 << 10)
///     try await store.set(Data(count: 20_000), for: "big")   // throws StoreError, code valueTooLarge
///
/// **Keys.** The length of a key is counted in UTF-8 bytes (32 bytes are 32 ASCII characters,
/// fewer accented or CJK ones). Every operation on a longer key (read, metadata, write, delete,
/// URL) is refused with ``StoreError/Code/invalidKey`` before anything reaches the base: such a
/// key cannot exist in the store being imitated. Listings are forwarded unchanged.
///
/// **Values.** A write of more than `maximumValueSize` bytes is refused with
/// ``StoreError/Code/valueTooLarge`` and stores nothing. A streamed value is counted as its
/// chunks pass: the chunk that crosses the cap is not handed to the base, which sees its source
/// fail and, as every store does for a failed source, keeps the previous value (or its absence);
/// the rest of the source is never read. Values the base already holds are read whatever their
/// size.
///
/// Conditions, expiry, streaming and metadata pass through unchanged.
///
/// Capabilities: the base's.
public struct LimitedStore<Base: KeyValueStore>: KeyValueStore {
    /// The store beneath.
    public let base: Base
    /// The longest key accepted, in UTF-8 bytes.
    public let maximumKeyLength: Int
    /// The largest value accepted, in bytes.
    public let maximumValueSize: Int

    /// Creates a view of `base` with caps.
    ///
    /// - Parameters:
    ///   - base: The store that keeps the entries.
    ///   - maximumKeyLength: The longest key accepted, in UTF-8 bytes, from 1 to 1,024 (a value
    ///     outside is clamped). Defaults to ``StoreKey/maximumByteCount`` (1,024), no cap beyond
    ///     the contract's.
    ///   - maximumValueSize: The largest value accepted, in bytes (a negative value is taken as
    ///     0). Defaults to `Int.max`, no cap.
    public init(base: Base, maximumKeyLength: Int = StoreKey.maximumByteCount, maximumValueSize: Int = .max) {
        self.base = base
        self.maximumKeyLength = Swift.min(Swift.max(1, maximumKeyLength), StoreKey.maximumByteCount)
        self.maximumValueSize = Swift.max(0, maximumValueSize)
    }

    /// The base store's description followed by the caps, such as
    /// `memory limited(keys 32 bytes, values 16384 bytes)`.
    public var description: String {
        var caps: [String] = []
        if maximumKeyLength < StoreKey.maximumByteCount { caps.append("keys \(maximumKeyLength) bytes") }
        if maximumValueSize < .max { caps.append("values \(maximumValueSize) bytes") }
        return "\(base.description) limited" + (caps.isEmpty ? "" : "(\(caps.joined(separator: ", ")))")
    }

    /// The base store's capabilities.
    public var capabilities: StoreCapabilities { base.capabilities }

    /// The base's entry under `key`.
    ///
    /// - Throws: ``StoreError/Code/invalidKey`` for a key over the cap.
    public func read(_ key: StoreKey) async throws -> StoreEntry? {
        try check(key, .read)
        return try await forwarding(key) { try await base.read(key) }
    }

    /// The base's entry under `key`, in chunks of about `chunkSize` bytes.
    ///
    /// - Throws: ``StoreError/Code/invalidKey`` for a key over the cap.
    public func readStream(_ key: StoreKey, chunkSize: Int) async throws -> StreamedEntry? {
        try check(key, .read)
        return try await forwarding(key) { try await base.readStream(key, chunkSize: chunkSize) }
    }

    /// The base's metadata for `key`.
    ///
    /// - Throws: ``StoreError/Code/invalidKey`` for a key over the cap.
    public func metadata(for key: StoreKey) async throws -> EntryMetadata? {
        try check(key, .metadata)
        return try await forwarding(key) { try await base.metadata(for: key) }
    }

    /// Stores `value` under `key` in the base, if both are within the caps.
    ///
    /// - Throws: ``StoreError/Code/invalidKey`` for a key over the cap,
    ///   ``StoreError/Code/valueTooLarge`` for a value over it (nothing is written), and whatever
    ///   the base throws.
    public func write(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        try check(key, .write)
        guard value.count <= maximumValueSize else {
            throw StoreError(.valueTooLarge, operation: .write, key: key, store: description,
                             message: "the value is \(value.count) bytes, over this store's cap of \(maximumValueSize) bytes per value; nothing was written")
        }
        return try await forwarding(key) { try await base.write(value, for: key, options: options) }
    }

    /// Streams the bytes of `chunks` into the base under `key`, refusing them as soon as they
    /// exceed the cap.
    ///
    /// At most `maximumValueSize` bytes reach the base and at most one chunk past them is read
    /// from `chunks`.
    ///
    /// - Throws: ``StoreError/Code/invalidKey`` for a key over the cap (no chunk is read),
    ///   ``StoreError/Code/valueTooLarge`` when the chunks exceed the value cap (the previous
    ///   value stays), and whatever the base or `chunks` throw.
    public func write<Chunks: AsyncSequence & Sendable>(
        contentsOf chunks: Chunks, for key: StoreKey, options: WriteOptions
    ) async throws -> EntryMetadata where Chunks.Element == Data {
        try check(key, .write)
        let description = self.description
        let maximum = maximumValueSize
        let capped = SizeCappedChunks(chunks: chunks, limit: maximum, refusal: { seen in
            StoreError(.valueTooLarge, operation: .write, key: key, store: description,
                       message: "the streamed value reached \(seen) bytes, over this store's cap of \(maximum) bytes per value; "
                           + "nothing was written and the rest of the stream was not read")
        }, tracker: .init())
        do {
            return try await forwarding(key) { try await base.write(contentsOf: capped, for: key, options: options) }
        } catch {
            // The base may report its source's failure in its own words; the cap is the cause.
            if let refusal = capped.tracker.refusal { throw refusal }
            throw error
        }
    }

    /// Deletes the value under `key` in the base.
    ///
    /// - Throws: ``StoreError/Code/invalidKey`` for a key over the cap.
    public func delete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool {
        try check(key, .delete)
        return try await forwarding(key) { try await base.delete(key, condition: condition) }
    }

    /// One page of the base's listing, unchanged.
    public func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
        try await forwarding(nil) { try await base.listPage(query, after: cursor, limit: limit) }
    }

    /// The base's listing, unchanged.
    public func list(_ query: ListQuery, pageSize: Int) -> StoreListing {
        base.list(query, pageSize: pageSize)
    }

    /// The base's URL for `key`.
    ///
    /// - Throws: ``StoreError/Code/invalidKey`` for a key over the cap.
    public func url(for key: StoreKey, validFor lifetime: Duration) async throws -> URL? {
        try check(key, .read)
        return try await forwarding(key) { try await base.url(for: key, validFor: lifetime) }
    }

    /// Reclaims the base's expired entries.
    public func reclaimExpired() async throws -> Int {
        try await forwarding(nil) { try await base.reclaimExpired() }
    }

    /// The base's entry under `key` under `options`.
    public func read(_ key: StoreKey, options: ReadOptions) async throws -> ReadOutcome<StoreEntry>? {
        try check(key, .read)
        return try await forwarding(key) { try await base.read(key, options: options) }
    }

    /// The base's stream of `key` under `options`.
    public func readStream(_ key: StoreKey, chunkSize: Int, options: ReadOptions) async throws -> ReadOutcome<StreamedEntry>? {
        try check(key, .read)
        return try await forwarding(key) { try await base.readStream(key, chunkSize: chunkSize, options: options) }
    }

    /// The base's metadata for `key` under `options`.
    public func metadata(for key: StoreKey, options: ReadOptions) async throws -> EntryMetadata? {
        try check(key, .metadata)
        return try await forwarding(key) { try await base.metadata(for: key, options: options) }
    }

    /// Deletes `key` in the base, without reporting whether it held a value.
    public func discard(_ key: StoreKey) async throws {
        try check(key, .delete)
        try await forwarding(key) { try await base.discard(key) }
    }

    /// The base's count.
    public func count(withPrefix prefix: String) async throws -> Int {
        try await forwarding(nil) { try await base.count(withPrefix: prefix) }
    }

    /// The base's batched read.
    ///
    /// - Throws: ``StoreError/Code/invalidKey`` for the first key over the cap (nothing is read).
    public func readBatch(_ keys: [StoreKey]) async throws -> [StoreEntry?] {
        for key in keys { try check(key, .read) }
        return try await forwarding(nil) { try await base.readBatch(keys) }
    }

    /// The base's batched write of the entries within the caps; an entry over a cap fails with
    /// ``StoreError/Code/invalidKey`` or ``StoreError/Code/valueTooLarge`` (and, on an atomic
    /// base, fails the whole batch).
    public func writeBatch(_ writes: [BatchWrite]) async throws -> [Result<EntryMetadata, StoreError>] {
        try await forwardingBatch(
            writes, atomic: capabilities.contains(.atomicBatches), store: description, key: \.key,
            refusal: { write in
                if let refused = keyRefusal(write.key, .write) { return refused }
                guard write.value.count <= maximumValueSize else {
                    return StoreError(.valueTooLarge, operation: .write, key: write.key, store: description,
                                      message: "the value is \(write.value.count) bytes, over this store's cap of \(maximumValueSize) bytes per value; nothing was written")
                }
                return nil
            },
            forward: { accepted in try await forwarding(nil) { try await base.writeBatch(accepted) } })
    }

    /// The base's batched delete of the keys within the cap.
    public func deleteBatch(_ deletes: [BatchDelete]) async throws -> [Result<Void, StoreError>] {
        try await forwardingBatch(
            deletes, atomic: capabilities.contains(.atomicBatches), store: description, key: \.key,
            refusal: { delete in
                keyRefusal(delete.key, .delete)
            },
            forward: { accepted in try await forwarding(nil) { try await base.deleteBatch(accepted) } })
    }

    /// Throws ``StoreError/Code/invalidKey`` unless `key` is within the cap.
    private func check(_ key: StoreKey, _ operation: StoreOperation) throws(StoreError) {
        if let refused = keyRefusal(key, operation) { throw refused }
    }

    /// The error for `key` if it is over the cap.
    private func keyRefusal(_ key: StoreKey, _ operation: StoreOperation) -> StoreError? {
        guard key.byteCount <= maximumKeyLength else {
            return StoreError(.invalidKey, operation: operation, key: key, store: description,
                              message: "'\(key.escapedDescription)' is \(key.byteCount) UTF-8 bytes long, over this store's cap of "
                                  + "\(maximumKeyLength) bytes per key")
        }
        return nil
    }

    /// Runs `body` on the base, reporting its errors in this layer's terms.
    private func forwarding<T>(_ key: StoreKey?, _ body: () async throws -> T) async throws -> T {
        try await StoreError.relabeling(store: description, key: key, body)
    }
}
