public import Foundation

/// A durable store behind one or more faster stores that keep copies of its entries: reads go
/// from the fastest tier to the durable store until one holds the key; writes and deletes go
/// from the durable store up to the fastest tier.
///
///     let store = file.tiered(below: BoundedMemoryStore(maximumBytes: 64 << 20, maximumEntries: 10_000))
///     // or: TieredStore(fasterTiers: [memory, localDisk], durable: s3)
///
/// **Reads.** The first tier holding a copy serves it, and the tiers before it receive the copy
/// (unless ``promotesOnRead`` is `false`); when no faster tier holds one, the durable store is
/// read. A copy reports the durable store's metadata, ETag included, so a value read from a
/// faster tier can be written back with ``WriteCondition/ifMatches(_:)``. A faster tier is not
/// asked whether the durable store changed behind this layer's back: writes made to the durable
/// store by other means (another process, another stack) are not seen until the copies go.
/// Use ``CachedStore`` in ``CacheMode/mutable`` mode for data that others change.
///
/// **Writes and deletes.** The durable store decides: conditions and expiry are its, and so are
/// errors. A faster tier is given the new value only after the durable store committed it, so a
/// failed durable write never leaves a value only in a faster tier. Before the durable write each
/// faster tier's copy is replaced by a small placeholder, and after it the placeholder by the new
/// copy, each step conditional on the tier's ETag, so that concurrent readers and writers never
/// leave a stale copy behind (this needs ``StoreCapabilities/conditionalWrites`` in the faster
/// tiers; a tier without them is written unconditionally). Streamed writes and deletes leave a
/// placeholder in each faster tier, and the next read fills it; so does a read that finds the
/// key nowhere. Placeholders take a few bytes; in tiers with ``StoreCapabilities/expiration``
/// they expire after ten minutes and ``reclaimExpired()`` frees them. A copy of an entry that
/// expires is kept only in tiers with ``StoreCapabilities/expiration``, and expires with it. A
/// value a tier refuses (``StoreError/Code/valueTooLarge``) or a key it cannot hold
/// (``StoreError/Code/invalidKey``, in a namespace with less room) is simply not cached there.
///
/// **Listing** is the durable store's.
///
/// Capabilities are the durable store's, without ``StoreCapabilities/expiryRefreshOnRead`` (the
/// faster tiers' copies would keep the old expiry), and with
/// ``StoreCapabilities/sharedAcrossProcesses`` only if every faster tier is shared too.
///
/// - Complexity: A hit in tier *i* costs *i* + 1 reads of faster tiers and one copy of the value
///   out of its envelope. A miss costs a read of each faster tier, the durable read and a write of
///   the copy to each faster tier, plus a placeholder written first to a tier that held nothing.
///   A whole-value write costs two writes per faster tier beside the durable write.
public struct TieredStore<Durable: KeyValueStore>: KeyValueStore {
    /// The faster tiers, fastest first, which keep copies of the durable store's entries.
    public let fasterTiers: [any KeyValueStore]
    /// The store that holds the data; the last tier.
    public let durable: Durable
    /// Whether a read served by a lower tier installs its copy in the tiers above.
    public let promotesOnRead: Bool

    private let stack: CopyTiers

    /// Creates a tiered store.
    ///
    /// - Parameters:
    ///   - fasterTiers: The faster stores, fastest first. Each keeps copies in an envelope of its
    ///     own (the durable metadata, then the value), so give each tier to one stack only; an
    ///     empty list makes a store that forwards everything to `durable`.
    ///   - durable: The store that holds the data.
    ///   - promotesOnRead: Whether a read served by a lower tier installs its copy in the tiers
    ///     above. Defaults to `true`.
    public init(fasterTiers: [any KeyValueStore], durable: Durable, promotesOnRead: Bool = true) {
        self.fasterTiers = fasterTiers
        self.durable = durable
        self.promotesOnRead = promotesOnRead
        let tiers = (fasterTiers.map(\.description) + [durable.description]).joined(separator: ", then ")
        self.stack = CopyTiers(tiers: fasterTiers, layer: "tiered (\(tiers))") { index, tier in
            "faster tier \(index + 1) (\(tier.description))"
        }
    }

    /// `tiered (` followed by the tiers, fastest first, and `)`.
    public var description: String { stack.layer }

    /// The durable store's capabilities, without ``StoreCapabilities/expiryRefreshOnRead``;
    /// ``StoreCapabilities/sharedAcrossProcesses`` only if every faster tier is shared too.
    public var capabilities: StoreCapabilities {
        var capabilities = durable.capabilities.subtracting(.expiryRefreshOnRead)
        if fasterTiers.contains(where: { !$0.capabilities.contains(.sharedAcrossProcesses) }) {
            capabilities.remove(.sharedAcrossProcesses)
        }
        return capabilities
    }

    /// Reads from the first tier holding a copy, else from the durable store, and installs the
    /// copy in the tiers above (see ``promotesOnRead``).
    ///
    /// - Returns: The entry with the durable store's metadata, or `nil` if the key holds no value.
    /// - Throws: ``StoreError`` from a tier or the durable store, naming this store and `key`.
    public func read(_ key: StoreKey) async throws -> StoreEntry? {
        var reservations: [(index: Int, condition: WriteCondition)] = []
        var found: StoreEntry?
        for (index, tier) in stack.tiers.enumerated() {
            let slot = if let slot = tier.lookImmediately(key) { slot } else {
                try await stack.onTier(index, key) { try await tier.look(key) }
            }
            if case .copy(let copy, _) = slot {
                found = copy
                break
            }
            if promotesOnRead, let condition = try await stack.onTier(index, key, { try await tier.reserve(key, seen: slot) }) {
                reservations.append((index, condition))
            }
        }
        if found == nil {
            found = try await stack.onDurable(key) { try await durable.read(key) }
        }
        guard let entry = found else { return nil }
        for (index, condition) in reservations.reversed() {
            _ = try await stack.onTier(index, key) { try await stack.tiers[index].fill(key, with: entry, condition: condition) }
        }
        return entry
    }

    /// Streams the value from the first tier holding a copy, else from the durable store.
    ///
    /// A streamed read installs no copies, since the value is never held whole.
    public func readStream(_ key: StoreKey, chunkSize: Int) async throws -> StreamedEntry? {
        for (index, tier) in stack.tiers.enumerated() {
            if let copy = try await stack.onTier(index, key, { try await tier.lookStream(key, chunkSize: chunkSize) })?.entry {
                return copy.withChunks(stack.labeling(copy.chunks, key: key, tier: index))
            }
        }
        guard let entry = try await stack.onDurable(key, { try await durable.readStream(key, chunkSize: chunkSize) }) else {
            return nil
        }
        return entry.withChunks(stack.labeling(entry.chunks, key: key, tier: nil))
    }

    /// The durable metadata of the first copy a tier holds (read from its envelope's header),
    /// else the durable store's; installs no copies.
    public func metadata(for key: StoreKey) async throws -> EntryMetadata? {
        for (index, tier) in stack.tiers.enumerated() {
            if let metadata = try await stack.onTier(index, key, { try await tier.lookMetadata(key) }) { return metadata }
        }
        return try await stack.onDurable(key) { try await durable.metadata(for: key) }
    }

    /// Writes `value` to the durable store under `options`, then a copy to each faster tier,
    /// slowest first.
    ///
    /// - Returns: The durable store's metadata of the new entry.
    /// - Throws: The durable store's ``StoreError`` (``StoreError/Code/conditionFailed``,
    ///   ``StoreError/Code/notSupported`` for an option it cannot honour, …), after which no
    ///   faster tier holds a copy of the key; or a faster tier's, whose message says whether the
    ///   durable store had already committed the value.
    public func write(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        try await stack.write(value, for: key) { try await durable.write(value, for: key, options: options) }
    }

    /// Streams the chunks into the durable store, then replaces each faster tier's copy with a
    /// placeholder, so that the next read installs the new value.
    public func write<Chunks: AsyncSequence & Sendable>(
        contentsOf chunks: Chunks, for key: StoreKey, options: WriteOptions
    ) async throws -> EntryMetadata where Chunks.Element == Data {
        try await stack.change(key) { try await durable.write(contentsOf: chunks, for: key, options: options) }
    }

    /// Deletes from the durable store if `condition` holds there, then from each faster tier.
    ///
    /// - Returns: Whether the durable store held a live value.
    public func delete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool {
        try await stack.change(key) { try await durable.delete(key, condition: condition) }
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

    /// Deletes from the durable store without asking whether the key held a value, then from the
    /// faster tiers.
    public func discard(_ key: StoreKey) async throws {
        try await stack.change(key) { try await durable.discard(key) }
    }

    /// The durable store's count.
    public func count(withPrefix prefix: String) async throws -> Int {
        try await stack.onDurable(nil) { try await durable.count(withPrefix: prefix) }
    }

    /// The durable store's batched read, in one round trip; it installs no copies.
    public func readBatch(_ keys: [StoreKey]) async throws -> [StoreEntry?] {
        try await stack.onDurable(nil) { try await durable.readBatch(keys) }
    }

    /// The durable store's batched write; then every key's copies are replaced by placeholders
    /// that the next read fills.
    public func writeBatch(_ writes: [BatchWrite]) async throws -> [Result<EntryMetadata, StoreError>] {
        try await stack.changeBatch(writes.map(\.key)) { try await durable.writeBatch(writes) }
    }

    /// The durable store's batched delete; then every key's copies are dropped.
    public func deleteBatch(_ deletes: [BatchDelete]) async throws -> [Result<Void, StoreError>] {
        try await stack.changeBatch(deletes.map(\.key)) { try await durable.deleteBatch(deletes) }
    }

    /// The durable store's page.
    public func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
        try await stack.onDurable(nil) { try await durable.listPage(query, after: cursor, limit: limit) }
    }

    /// The durable store's listing.
    public func list(_ query: ListQuery, pageSize: Int) -> StoreListing {
        stack.labeling(durable.list(query, pageSize: pageSize))
    }

    /// The durable store's URL for `key`, if it has one.
    public func url(for key: StoreKey, validFor lifetime: Duration) async throws -> URL? {
        try await stack.onDurable(key) { try await durable.url(for: key, validFor: lifetime) }
    }

    /// Reclaims the durable store's expired entries, then the faster tiers' expired copies.
    ///
    /// - Returns: The number of the durable store's entries deleted.
    public func reclaimExpired() async throws -> Int {
        let count = try await stack.onDurable(nil) { try await durable.reclaimExpired() }
        try await stack.reclaimExpired()
        return count
    }
}
