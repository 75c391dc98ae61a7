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
    public func write<Chunks: AsyncSequence>(
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
    public func url(for key: StoreKey) async throws -> URL? {
        try check(key, .read)
        return try await forwarding(key) { try await base.url(for: key) }
    }

    /// Reclaims the base's expired entries.
    public func reclaimExpired() async throws -> Int {
        try await forwarding(nil) { try await base.reclaimExpired() }
    }

    /// Throws ``StoreError/Code/invalidKey`` unless `key` is within the cap.
    private func check(_ key: StoreKey, _ operation: StoreOperation) throws(StoreError) {
        guard key.byteCount <= maximumKeyLength else {
            throw StoreError(.invalidKey, operation: operation, key: key, store: description,
                             message: "'\(key.escapedDescription)' is \(key.byteCount) UTF-8 bytes long, over this store's cap of "
                                 + "\(maximumKeyLength) bytes per key")
        }
    }

    /// Runs `body` on the base, reporting its errors in this layer's terms.
    private func forwarding<T>(_ key: StoreKey?, _ body: () async throws -> T) async throws -> T {
        try await StoreError.relabeling(store: description, key: key, body)
    }
}
