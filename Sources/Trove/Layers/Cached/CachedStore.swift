public import Foundation

/// A slow store with a fast cache in front: reads are served from the cache when it holds the
/// value, writes and deletes go to the backing store and then to the cache.
///
///     let store = file.cached(in: BoundedMemoryStore(maximumBytes: 64 << 20, maximumEntries: 10_000), mode: .mutable)
///
/// **Modes.** In ``CacheMode/mutable`` mode a cached value is served only after the backing
/// store confirms, with ``KeyValueStore/metadata(for:)`` (not a read), that the value's ETag is
/// still current; when it is not, the value is read again and the cache refreshed, and when the
/// key is gone the cached copy is dropped. Values that another process replaced are therefore
/// never served. In ``CacheMode/appendOnly`` mode that check is skipped, for data that never
/// changes once written.
///
/// **Consistency.** The cache keeps each value in an envelope beside the backing store's
/// metadata, so a value served from the cache reports the backing store's ETag and dates, and
/// read-then-``WriteCondition/ifMatches(_:)`` works through the cache. The backing store decides
/// every condition, keeps every expiry and reports every error; the cache is given a value only
/// after the backing store committed it, and its copies are replaced and filled conditionally on
/// its own ETags, so concurrent readers and writers never leave a stale copy behind (see
/// ``TieredStore``, which works the same way; the cache needs
/// ``StoreCapabilities/conditionalWrites`` for that). Streamed reads and writes do not fill the
/// cache; a streamed write or a delete leaves a placeholder that the next read fills. Listing is
/// the backing store's.
///
/// Capabilities are the backing store's, without ``StoreCapabilities/expiryRefreshOnRead`` (the
/// cache's copies would keep the old expiry), and without
/// ``StoreCapabilities/sharedAcrossProcesses`` in ``CacheMode/appendOnly`` mode, in which another
/// process's overwrites are not seen.
///
/// - Complexity: A hit costs a read of the cache, one copy of the value out of its envelope and,
///   in ``CacheMode/mutable`` mode, a metadata call to the backing store. A miss costs a read of
///   the cache, a read of the backing store and a write of the copy to the cache, plus a
///   placeholder written first when the cache held nothing. A whole-value write costs two writes
///   of the cache beside the backing store's write.
public struct CachedStore<Base: KeyValueStore, Cache: KeyValueStore>: KeyValueStore {
    /// The store that holds the data.
    public let base: Base
    /// The store that keeps copies of the base store's values, each in an envelope of its own.
    public let cache: Cache
    /// Whether hits are confirmed with the base store.
    public let mode: CacheMode

    private let stack: CopyTiers
    private var tier: CopyTier { stack.tiers[0] }
    /// The cache, when it is a ``BoundedMemoryStore``: read without suspending.
    private let memoryCache: BoundedMemoryStore?

    /// Creates a cached store.
    ///
    /// - Parameters:
    ///   - base: The store that holds the data.
    ///   - cache: The store for the copies, such as a ``BoundedMemoryStore``. Give it to one
    ///     cached store only: its entries are envelopes, not plain values.
    ///   - mode: Whether hits are confirmed with `base`. Defaults to ``CacheMode/mutable``.
    public init(base: Base, cache: Cache, mode: CacheMode = .mutable) {
        self.base = base
        self.cache = cache
        self.mode = mode
        self.memoryCache = cache as? BoundedMemoryStore
        self.stack = CopyTiers(tiers: [cache], layer: "\(base.description) cached in \(cache.description) (\(mode))") { _, cache in
            "the cache (\(cache.description))"
        }
    }

    /// The base store's description, the cache's and the mode, such as
    /// `file /data cached in bounded memory (64 MiB, 10000 entries) (mutable)`.
    public var description: String { stack.layer }

    /// The base store's capabilities, without ``StoreCapabilities/expiryRefreshOnRead``, and
    /// without ``StoreCapabilities/sharedAcrossProcesses`` in ``CacheMode/appendOnly`` mode.
    public var capabilities: StoreCapabilities {
        var capabilities = base.capabilities.subtracting(.expiryRefreshOnRead)
        if !mode.confirmsHits { capabilities.remove(.sharedAcrossProcesses) }
        return capabilities
    }

    /// Reads from the cache (confirming the ETag with the base store in ``CacheMode/mutable``
    /// mode), else from the base store, filling the cache.
    ///
    /// - Returns: The entry with the base store's metadata, or `nil` if the key holds no value.
    /// - Throws: ``StoreError`` from the cache or the base store, naming this store and `key`.
    public func read(_ key: StoreKey) async throws -> StoreEntry? {
        let slot = if let memoryCache { memoryCache.lookCopy(key) } else {
            try await stack.onTier(0, key) { try await tier.look(key) }
        }
        if case .copy(let copy, let tierETag) = slot {
            guard mode.confirmsHits else { return copy }
            guard let current = try await stack.onDurable(key, { try await base.metadata(for: key) }) else {
                try await stack.onTier(0, key) { try await tier.drop(key, ifStill: tierETag) }
                return nil
            }
            if current.etag == copy.metadata.etag { return StoreEntry(value: copy.value, metadata: current) }
        }
        let condition = try await stack.onTier(0, key) { try await tier.reserve(key, seen: slot) }
        guard let entry = try await stack.onDurable(key, { try await base.read(key) }) else {
            if case .copy(_, let tierETag) = slot {
                try await stack.onTier(0, key) { try await tier.drop(key, ifStill: tierETag) }
            }
            return nil
        }
        if let condition {
            _ = try await stack.onTier(0, key) { try await tier.fill(key, with: entry, condition: condition) }
        }
        return entry
    }

    /// Streams the value from the cache (confirming the ETag with the base store in
    /// ``CacheMode/mutable`` mode), else from the base store; a streamed read does not fill the
    /// cache, since the value is never held whole.
    public func readStream(_ key: StoreKey, chunkSize: Int) async throws -> StreamedEntry? {
        if let (copy, tierETag) = try await stack.onTier(0, key, { try await tier.lookStream(key, chunkSize: chunkSize) }) {
            let chunks = stack.labeling(copy.chunks, key: key, tier: 0)
            guard mode.confirmsHits else { return copy.withChunks(chunks) }
            let current = try await stack.onDurable(key) { try await base.metadata(for: key) }
            if let current, current.etag == copy.metadata.etag { return copy.withChunks(chunks, metadata: current) }
            try await stack.onTier(0, key) { try await tier.drop(key, ifStill: tierETag) }
            if current == nil { return nil }
        }
        guard let entry = try await stack.onDurable(key, { try await base.readStream(key, chunkSize: chunkSize) }) else {
            return nil
        }
        return entry.withChunks(stack.labeling(entry.chunks, key: key, tier: nil))
    }

    /// The base store's metadata in ``CacheMode/mutable`` mode; in ``CacheMode/appendOnly`` mode,
    /// that of the cached copy (read from its envelope's header) when there is one.
    public func metadata(for key: StoreKey) async throws -> EntryMetadata? {
        if !mode.confirmsHits, let metadata = try await stack.onTier(0, key, { try await tier.lookMetadata(key) }) {
            return metadata
        }
        return try await stack.onDurable(key) { try await base.metadata(for: key) }
    }

    /// Writes `value` to the base store under `options`, then a copy to the cache.
    ///
    /// - Returns: The base store's metadata of the new entry.
    /// - Throws: The base store's ``StoreError`` (``StoreError/Code/conditionFailed``,
    ///   ``StoreError/Code/notSupported`` for an option it cannot honour, …), after which the
    ///   cache holds no copy of the key; or the cache's, whose message says whether the base store
    ///   had already committed the value.
    public func write(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        try await stack.write(value, for: key) { try await base.write(value, for: key, options: options) }
    }

    /// Streams the chunks into the base store, then replaces the cached copy with a placeholder
    /// that the next read fills.
    public func write<Chunks: AsyncSequence & Sendable>(
        contentsOf chunks: Chunks, for key: StoreKey, options: WriteOptions
    ) async throws -> EntryMetadata where Chunks.Element == Data {
        try await stack.change(key) { try await base.write(contentsOf: chunks, for: key, options: options) }
    }

    /// Deletes from the base store if `condition` holds there, then from the cache.
    ///
    /// - Returns: Whether the base store held a live value.
    public func delete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool {
        try await stack.change(key) { try await base.delete(key, condition: condition) }
    }

    /// Reads through the layer as ``read(_:)`` does, then applies the range and the ETag
    /// comparison of `options`.
    ///
    /// - Throws: ``StoreError/Code/notSupported`` for ``ReadOptions/refreshingExpiry``: copies in
    ///   the cache would keep the old expiry.
    public func read(_ key: StoreKey, options: ReadOptions) async throws -> ReadOutcome<StoreEntry>? {
        try await stack.read(key, options: options, through: read)
    }

    /// Streams through the layer as ``readStream(_:chunkSize:)`` does, then applies `options`.
    public func readStream(_ key: StoreKey, chunkSize: Int, options: ReadOptions) async throws -> ReadOutcome<StreamedEntry>? {
        try await stack.readStream(key, options: options) { try await readStream($0, chunkSize: chunkSize) }
    }

    /// The metadata, as ``metadata(for:)`` finds it; renewing an expiry is not supported.
    public func metadata(for key: StoreKey, options: ReadOptions) async throws -> EntryMetadata? {
        try await stack.metadata(for: key, options: options, through: metadata(for:))
    }

    /// Deletes from the base store without asking whether the key held a value, then from the
    /// faster tiers.
    public func discard(_ key: StoreKey) async throws {
        try await stack.change(key) { try await base.discard(key) }
    }

    /// The base store's count.
    public func count(withPrefix prefix: String) async throws -> Int {
        try await stack.onDurable(nil) { try await base.count(withPrefix: prefix) }
    }

    /// The base store's batched read, in one round trip; it installs no copies.
    public func readBatch(_ keys: [StoreKey]) async throws -> [StoreEntry?] {
        try await stack.onDurable(nil) { try await base.readBatch(keys) }
    }

    /// The base store's batched write; then every key's copies are replaced by placeholders
    /// that the next read fills.
    public func writeBatch(_ writes: [BatchWrite]) async throws -> [Result<EntryMetadata, StoreError>] {
        try await stack.changeBatch(writes.map(\.key)) { try await base.writeBatch(writes) }
    }

    /// The base store's batched delete; then every key's copies are dropped.
    public func deleteBatch(_ deletes: [BatchDelete]) async throws -> [Result<Void, StoreError>] {
        try await stack.changeBatch(deletes.map(\.key)) { try await base.deleteBatch(deletes) }
    }

    /// The base store's page.
    public func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
        try await stack.onDurable(nil) { try await base.listPage(query, after: cursor, limit: limit) }
    }

    /// The base store's listing.
    public func list(_ query: ListQuery, pageSize: Int) -> StoreListing {
        stack.labeling(base.list(query, pageSize: pageSize))
    }

    /// The base store's URL for `key`, if it has one.
    public func url(for key: StoreKey, validFor lifetime: Duration) async throws -> URL? {
        try await stack.onDurable(key) { try await base.url(for: key, validFor: lifetime) }
    }

    /// Reclaims the base store's expired entries, then the cache's expired copies.
    ///
    /// - Returns: The number of the base store's entries deleted.
    public func reclaimExpired() async throws -> Int {
        let count = try await stack.onDurable(nil) { try await base.reclaimExpired() }
        try await stack.reclaimExpired()
        return count
    }
}
