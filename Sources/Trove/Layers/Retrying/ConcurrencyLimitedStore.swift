public import Foundation

/// A store that lets at most a set number of operations reach the store beneath at once; the
/// others wait their turn (first come, first served), so a burst of tasks cannot open more
/// connections or requests than a server should take.
///
///     let store = s3.limitingConcurrency(to: 32)
///
/// Each call holds one permit while it runs; a batch holds one. A stream holds its permit until
/// its last chunk is read, it fails, or it is dropped; a listing holds one from its first
/// element until it ends or is dropped. So with a limit of 1, do not call the same store while
/// looping over one of its listings or streams: the call would wait for the permit the loop
/// holds. Several stores given one ``ConcurrencyLimiter`` share its permits. A task cancelled
/// while it waits gets `CancellationError` at once and leaves the queue.
///
/// Capabilities: the base's.
public struct ConcurrencyLimitedStore<Base: KeyValueStore>: KeyValueStore {
    /// The store beneath.
    public let base: Base
    /// The permits this store's operations take.
    public let limiter: ConcurrencyLimiter

    /// Creates a store whose operations on `base` take permits of `limiter`.
    public init(base: Base, limiter: ConcurrencyLimiter) {
        self.base = base
        self.limiter = limiter
    }

    /// The base store's description followed by the limit.
    public var description: String { "\(base.description) \(limiter)" }

    /// The base store's capabilities.
    public var capabilities: StoreCapabilities { base.capabilities }

    /// The base's entry under `key`, holding a permit.
    public func read(_ key: StoreKey) async throws -> StoreEntry? {
        try await limiter.withPermit { try await base.read(key) }
    }

    /// The base's stream of `key`, holding a permit until the stream ends or is dropped.
    public func readStream(_ key: StoreKey, chunkSize: Int) async throws -> StreamedEntry? {
        let (entry, permit) = try await opening { try await base.readStream(key, chunkSize: chunkSize) }
        guard let entry else {
            permit.release()
            return nil
        }
        return Self.holdingPermit(entry, permit)
    }

    /// The base's metadata for `key`, holding a permit.
    public func metadata(for key: StoreKey) async throws -> EntryMetadata? {
        try await limiter.withPermit { try await base.metadata(for: key) }
    }

    /// The base's entry under `key` under `options`, holding a permit.
    public func read(_ key: StoreKey, options: ReadOptions) async throws -> ReadOutcome<StoreEntry>? {
        try await limiter.withPermit { try await base.read(key, options: options) }
    }

    /// The base's stream of `key` under `options`, holding a permit until it ends.
    public func readStream(_ key: StoreKey, chunkSize: Int, options: ReadOptions) async throws -> ReadOutcome<StreamedEntry>? {
        let (outcome, permit) = try await opening { try await base.readStream(key, chunkSize: chunkSize, options: options) }
        guard case .value(let entry)? = outcome else {
            permit.release()
            return outcome
        }
        return .value(Self.holdingPermit(entry, permit))
    }

    /// The base's metadata for `key` under `options`, holding a permit.
    public func metadata(for key: StoreKey, options: ReadOptions) async throws -> EntryMetadata? {
        try await limiter.withPermit { try await base.metadata(for: key, options: options) }
    }

    /// The base's write, holding a permit.
    public func write(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        try await limiter.withPermit { try await base.write(value, for: key, options: options) }
    }

    /// The base's streamed write, holding a permit until it is done.
    public func write<Chunks: AsyncSequence & Sendable>(
        contentsOf chunks: Chunks, for key: StoreKey, options: WriteOptions
    ) async throws -> EntryMetadata where Chunks.Element == Data {
        try await limiter.withPermit { try await base.write(contentsOf: chunks, for: key, options: options) }
    }

    /// The base's delete, holding a permit.
    public func delete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool {
        try await limiter.withPermit { try await base.delete(key, condition: condition) }
    }

    /// The base's delete, holding a permit.
    public func discard(_ key: StoreKey) async throws {
        try await limiter.withPermit { try await base.discard(key) }
    }

    /// One page of the base's listing, holding a permit.
    public func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
        try await limiter.withPermit { try await base.listPage(query, after: cursor, limit: limit) }
    }

    /// The base's listing, holding a permit from its first element until it ends or is
    /// dropped.
    public func list(_ query: ListQuery, pageSize: Int) -> StoreListing {
        let base = base, limiter = limiter
        return StoreListing {
            let elements = ListingBox(base.list(query, pageSize: pageSize).makeAsyncIterator())
            var permit: HeldPermit?
            return StoreListing.BatchSource(next: {
                if permit == nil {
                    try await limiter.acquire()
                    permit = HeldPermit(limiter)
                }
                do {
                    guard let element = try await elements.next() else {
                        permit?.release()
                        return nil
                    }
                    return [element]
                } catch {
                    permit?.release()
                    throw error
                }
            }, close: { [elements] in elements.drop() })
        }
    }

    /// The base's count, holding a permit.
    public func count(withPrefix prefix: String) async throws -> Int {
        try await limiter.withPermit { try await base.count(withPrefix: prefix) }
    }

    /// The base's batched read, holding one permit.
    public func readBatch(_ keys: [StoreKey]) async throws -> [StoreEntry?] {
        try await limiter.withPermit { try await base.readBatch(keys) }
    }

    /// The base's batched write, holding one permit.
    public func writeBatch(_ writes: [BatchWrite]) async throws -> [Result<EntryMetadata, StoreError>] {
        try await limiter.withPermit { try await base.writeBatch(writes) }
    }

    /// The base's batched delete, holding one permit.
    public func deleteBatch(_ deletes: [BatchDelete]) async throws -> [Result<Void, StoreError>] {
        try await limiter.withPermit { try await base.deleteBatch(deletes) }
    }

    /// The base's URL for `key`, holding a permit.
    public func url(for key: StoreKey, validFor lifetime: Duration) async throws -> URL? {
        try await limiter.withPermit { try await base.url(for: key, validFor: lifetime) }
    }

    /// The base's reclaiming, holding a permit.
    public func reclaimExpired() async throws -> Int {
        try await limiter.withPermit { try await base.reclaimExpired() }
    }

    /// Runs `open` holding a permit, and returns the permit with what it opened: the caller
    /// hands it to the stream, or releases it. A failure releases it at once.
    private func opening<T>(_ open: () async throws -> T) async throws -> (T, HeldPermit) {
        try await limiter.acquire()
        let permit = HeldPermit(limiter)
        do {
            return (try await open(), permit)
        } catch {
            permit.release()
            throw error
        }
    }

    /// `entry` with chunks that return `permit` at their end, on failure, or when dropped.
    private static func holdingPermit(_ entry: StreamedEntry, _ permit: HeldPermit) -> StreamedEntry {
        let chunks = entry.chunks
        let watched = ValueChunks {
            var iterator = chunks.makeAsyncIterator()
            return ValueChunks.ChunkSource {
                do {
                    guard let chunk = try await iterator.next() else {
                        permit.release()
                        return nil
                    }
                    return chunk
                } catch {
                    permit.release()
                    throw error
                }
            }
        }
        let closer = entry.closer
        return StreamedEntry(metadata: entry.metadata, chunks: watched, closer: StreamCloser {
            await closer?.close()
            permit.release()
        })
    }
}

/// A listing iterator used by one reader at a time.
private final class ListingBox: @unchecked Sendable {
    private var iterator: StoreListing.AsyncIterator?

    init(_ iterator: StoreListing.AsyncIterator) { self.iterator = iterator }

    func next() async throws -> ListElement? { try await iterator?.next() }

    /// Drops the iterator, closing the base listing.
    func drop() { iterator = nil }
}

extension KeyValueStore {
    /// This store with at most `maximum` operations at once (see ``ConcurrencyLimitedStore``).
    ///
    ///     let store = s3.limitingConcurrency(to: 32)
    ///
    /// - Parameter maximum: The most operations at once (at least 1).
    /// - Returns: A ``ConcurrencyLimitedStore`` over this store with a limiter of its own.
    public func limitingConcurrency(to maximum: Int) -> ConcurrencyLimitedStore<Self> {
        ConcurrencyLimitedStore(base: self, limiter: ConcurrencyLimiter(maximum: maximum))
    }

    /// This store with its operations taking permits of `limiter`, shared with whatever else
    /// uses it.
    ///
    /// - Parameter limiter: The permits to take.
    /// - Returns: A ``ConcurrencyLimitedStore`` over this store.
    public func limitingConcurrency(to limiter: ConcurrencyLimiter) -> ConcurrencyLimitedStore<Self> {
        ConcurrencyLimitedStore(base: self, limiter: limiter)
    }
}
