public import Foundation

/// A view of a store that can only be read: reads, metadata and listings are forwarded, every
/// write, delete and reclaim is refused.
///
///     let published = FileSystemStore(root: releaseDirectory).readOnly()
///     let manifest = try await published["manifest.json"]
///     try await published.set(data, for: "x")   // throws StoreError, code readOnly
///
/// A refusal happens before anything reaches the base: a streamed write does not read a single
/// chunk, and the refusal takes precedence over an option the base could not honour either.
/// Handing out this view does not protect the data from whoever holds the base.
///
/// Capabilities: the base's, without ``StoreCapabilities/conditionalWrites``,
/// ``StoreCapabilities/conditionalDeletes`` and ``StoreCapabilities/expiration``.
public struct ReadOnlyStore<Base: KeyValueStore>: KeyValueStore {
    /// The store beneath.
    public let base: Base

    /// Creates a read-only view of `base`.
    public init(base: Base) {
        self.base = base
    }

    /// The base store's description followed by `read-only`.
    public var description: String { "\(base.description) read-only" }

    /// The base store's capabilities, without the write-related ones (conditional writes and
    /// deletes, expiration, renewing an expiry on read).
    public var capabilities: StoreCapabilities {
        base.capabilities.subtracting([.conditionalWrites, .conditionalDeletes, .expiration, .expiryRefreshOnRead])
    }

    /// The base's entry under `key`.
    public func read(_ key: StoreKey) async throws -> StoreEntry? {
        try await forwarding(key) { try await base.read(key) }
    }

    /// The base's entry under `key`, in chunks of about `chunkSize` bytes.
    public func readStream(_ key: StoreKey, chunkSize: Int) async throws -> StreamedEntry? {
        try await forwarding(key) { try await base.readStream(key, chunkSize: chunkSize) }
    }

    /// The base's metadata for `key`.
    public func metadata(for key: StoreKey) async throws -> EntryMetadata? {
        try await forwarding(key) { try await base.metadata(for: key) }
    }

    /// The base's entry under `key` under `options`; renewing an expiry, a write, is refused.
    ///
    /// - Throws: ``StoreError/Code/readOnly`` for ``ReadOptions/refreshingExpiry``.
    public func read(_ key: StoreKey, options: ReadOptions) async throws -> ReadOutcome<StoreEntry>? {
        try refuseRefresh(options, key)
        return try await forwarding(key) { try await base.read(key, options: options) }
    }

    /// The base's stream of `key` under `options`; renewing an expiry is refused.
    public func readStream(_ key: StoreKey, chunkSize: Int, options: ReadOptions) async throws -> ReadOutcome<StreamedEntry>? {
        try refuseRefresh(options, key)
        return try await forwarding(key) { try await base.readStream(key, chunkSize: chunkSize, options: options) }
    }

    /// The base's metadata for `key`; renewing an expiry is refused.
    public func metadata(for key: StoreKey, options: ReadOptions) async throws -> EntryMetadata? {
        try refuseRefresh(options, key)
        return try await forwarding(key) { try await base.metadata(for: key, options: options) }
    }

    /// The base's count.
    public func count(withPrefix prefix: String) async throws -> Int {
        try await forwarding(nil) { try await base.count(withPrefix: prefix) }
    }

    /// The base's batched read.
    public func readBatch(_ keys: [StoreKey]) async throws -> [StoreEntry?] {
        try await forwarding(nil) { try await base.readBatch(keys) }
    }

    /// Refuses the whole batch before anything reaches the base.
    ///
    /// - Throws: Always ``StoreError/Code/readOnly``.
    public func writeBatch(_ writes: [BatchWrite]) async throws -> [Result<EntryMetadata, StoreError>] {
        throw refusal(.write, writes.first?.key, "writes are refused")
    }

    /// Refuses the whole batch before anything reaches the base.
    ///
    /// - Throws: Always ``StoreError/Code/readOnly``.
    public func deleteBatch(_ deletes: [BatchDelete]) async throws -> [Result<Void, StoreError>] {
        throw refusal(.delete, deletes.first?.key, "deletes are refused")
    }

    /// Refuses the delete.
    ///
    /// - Throws: Always ``StoreError/Code/readOnly``.
    public func discard(_ key: StoreKey) async throws {
        throw refusal(.delete, key, "deletes are refused")
    }

    private func refuseRefresh(_ options: ReadOptions, _ key: StoreKey) throws(StoreError) {
        if options.refreshingExpiry != nil {
            throw refusal(.read, key, "renewing an expiry writes to the entry, and writes are refused")
        }
    }

    /// Refuses the write.
    ///
    /// - Throws: Always ``StoreError/Code/readOnly``, naming `key` and this store.
    public func write(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        throw refusal(.write, key, "writes are refused")
    }

    /// Refuses the write without reading any of `chunks`.
    ///
    /// - Throws: Always ``StoreError/Code/readOnly``, naming `key` and this store.
    public func write<Chunks: AsyncSequence & Sendable>(
        contentsOf chunks: Chunks, for key: StoreKey, options: WriteOptions
    ) async throws -> EntryMetadata where Chunks.Element == Data {
        throw refusal(.write, key, "writes are refused")
    }

    /// Refuses the delete, whatever the key holds.
    ///
    /// - Throws: Always ``StoreError/Code/readOnly``, naming `key` and this store.
    public func delete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool {
        throw refusal(.delete, key, "deletes are refused")
    }

    /// One page of the base's listing.
    public func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
        try await forwarding(nil) { try await base.listPage(query, after: cursor, limit: limit) }
    }

    /// The base's listing.
    public func list(_ query: ListQuery, pageSize: Int) -> StoreListing {
        base.list(query, pageSize: pageSize)
    }

    /// The base's URL for `key`: fetching by URL only reads.
    public func url(for key: StoreKey, validFor lifetime: Duration) async throws -> URL? {
        try await forwarding(key) { try await base.url(for: key, validFor: lifetime) }
    }

    /// Refuses to reclaim: reclaiming deletes expired entries.
    ///
    /// - Throws: Always ``StoreError/Code/readOnly``, naming this store.
    public func reclaimExpired() async throws -> Int {
        throw refusal(.reclaim, nil, "reclaiming expired entries deletes them, and deletes are refused")
    }

    private func refusal(_ operation: StoreOperation, _ key: StoreKey?, _ what: String) -> StoreError {
        StoreError(.readOnly, operation: operation, key: key, store: description,
                   message: "the store is read-only: \(what)")
    }

    /// Runs `body` on the base, reporting its errors in this layer's terms.
    private func forwarding<T>(_ key: StoreKey?, _ body: () async throws -> T) async throws -> T {
        try await StoreError.relabeling(store: description, key: key, body)
    }
}
