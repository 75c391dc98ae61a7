public import Foundation

/// A store whose every call is seen by a ``StoreObserver``: the layer beneath metrics,
/// tracing and logging (in TroveObservability), and beneath observers of your own.
///
///     let store = file.observed(by: Stopwatch())
///
/// Each requirement of ``KeyValueStore`` is one call for the observer; a listing is seen page
/// by page (``StoreCall/Method/list``), since it is paged through
/// ``listPage(_:after:limit:)``; a stream is seen as the call that opens it, then its chunks
/// through ``StoreObserver/streamed(_:of:)``.
///
/// Capabilities: the base's.
public struct ObservedStore<Base: KeyValueStore, Observer: StoreObserver>: KeyValueStore {
    /// The store beneath.
    public let base: Base
    /// What sees the calls.
    public let observer: Observer

    /// Creates a store whose calls on `base` `observer` sees.
    public init(base: Base, observer: Observer) {
        self.base = base
        self.observer = observer
    }

    /// The base store's description.
    public var description: String { base.description }

    /// The base store's capabilities.
    public var capabilities: StoreCapabilities { base.capabilities }

    // MARK: Reads

    /// The base's entry under `key`.
    public func read(_ key: StoreKey) async throws -> StoreEntry? {
        try await observer.observe(StoreCall(.read, key: key)) {
            let entry = try await base.read(key)
            return (entry, CallOutcome(found: entry != nil, bytesRead: entry?.value.count ?? 0))
        }
    }

    /// The base's stream of `key`, its chunks reported as they are read.
    public func readStream(_ key: StoreKey, chunkSize: Int) async throws -> StreamedEntry? {
        let call = StoreCall(.readStream, key: key)
        return try await observer.observe(call) {
            let entry = try await base.readStream(key, chunkSize: chunkSize)
            return (entry.map { reporting($0, call) }, CallOutcome(found: entry != nil))
        }
    }

    /// The base's metadata for `key`.
    public func metadata(for key: StoreKey) async throws -> EntryMetadata? {
        try await observer.observe(StoreCall(.metadata, key: key)) {
            let metadata = try await base.metadata(for: key)
            return (metadata, CallOutcome(found: metadata != nil))
        }
    }

    /// The base's entry under `key` under `options`.
    public func read(_ key: StoreKey, options: ReadOptions) async throws -> ReadOutcome<StoreEntry>? {
        try await observer.observe(StoreCall(.read, key: key)) {
            let outcome = try await base.read(key, options: options)
            return (outcome, CallOutcome(found: outcome != nil, bytesRead: outcome?.body?.value.count ?? 0))
        }
    }

    /// The base's stream of `key` under `options`, its chunks reported as they are read.
    public func readStream(_ key: StoreKey, chunkSize: Int, options: ReadOptions) async throws -> ReadOutcome<StreamedEntry>? {
        let call = StoreCall(.readStream, key: key)
        return try await observer.observe(call) {
            let outcome = try await base.readStream(key, chunkSize: chunkSize, options: options)
            switch outcome {
            case .value(let entry)?: return (.value(reporting(entry, call)), CallOutcome(found: true))
            case .unchanged, nil: return (outcome, CallOutcome(found: outcome != nil))
            }
        }
    }

    /// The base's metadata for `key` under `options`.
    public func metadata(for key: StoreKey, options: ReadOptions) async throws -> EntryMetadata? {
        try await observer.observe(StoreCall(.metadata, key: key)) {
            let metadata = try await base.metadata(for: key, options: options)
            return (metadata, CallOutcome(found: metadata != nil))
        }
    }

    /// The base's count.
    public func count(withPrefix prefix: String) async throws -> Int {
        try await observer.observe(StoreCall(.count, key: nil)) {
            (try await base.count(withPrefix: prefix), CallOutcome())
        }
    }

    /// The base's batched read.
    public func readBatch(_ keys: [StoreKey]) async throws -> [StoreEntry?] {
        try await observer.observe(StoreCall(.readBatch, key: nil, entryCount: keys.count)) {
            let entries = try await base.readBatch(keys)
            return (entries, CallOutcome(bytesRead: entries.reduce(0) { $0 + ($1?.value.count ?? 0) }))
        }
    }

    /// One page of the base's listing.
    public func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
        try await observer.observe(StoreCall(.list, key: nil)) {
            (try await base.listPage(query, after: cursor, limit: limit), CallOutcome())
        }
    }

    /// A listing paged through ``listPage(_:after:limit:)``, so that each page is observed.
    public func list(_ query: ListQuery, pageSize: Int) -> StoreListing {
        StoreListing(paging: self, query: query, pageSize: pageSize)
    }

    /// The base's URL for `key`.
    public func url(for key: StoreKey, validFor lifetime: Duration) async throws -> URL? {
        try await observer.observe(StoreCall(.url, key: key)) {
            (try await base.url(for: key, validFor: lifetime), CallOutcome())
        }
    }

    /// The base's reclaiming of expired entries.
    public func reclaimExpired() async throws -> Int {
        try await observer.observe(StoreCall(.reclaimExpired, key: nil)) {
            (try await base.reclaimExpired(), CallOutcome())
        }
    }

    // MARK: Writes and deletes

    /// The base's write.
    public func write(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        try await observer.observe(StoreCall(.write, key: key)) {
            (try await base.write(value, for: key, options: options), CallOutcome(bytesWritten: value.count))
        }
    }

    /// The base's streamed write; the bytes written are the stored size.
    public func write<Chunks: AsyncSequence & Sendable>(
        contentsOf chunks: Chunks, for key: StoreKey, options: WriteOptions
    ) async throws -> EntryMetadata where Chunks.Element == Data {
        try await observer.observe(StoreCall(.writeStream, key: key)) {
            let metadata = try await base.write(contentsOf: chunks, for: key, options: options)
            return (metadata, CallOutcome(bytesWritten: Int(clamping: metadata.size)))
        }
    }

    /// The base's delete; found when a value was deleted.
    public func delete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool {
        try await observer.observe(StoreCall(.delete, key: key)) {
            let deleted = try await base.delete(key, condition: condition)
            return (deleted, CallOutcome(found: deleted))
        }
    }

    /// The base's delete.
    public func discard(_ key: StoreKey) async throws {
        try await observer.observe(StoreCall(.delete, key: key)) {
            try await base.discard(key)
            return ((), CallOutcome())
        }
    }

    /// The base's batched write.
    public func writeBatch(_ writes: [BatchWrite]) async throws -> [Result<EntryMetadata, StoreError>] {
        try await observer.observe(StoreCall(.writeBatch, key: nil, entryCount: writes.count)) {
            let results = try await base.writeBatch(writes)
            var written = 0, failed = 0
            for (write, result) in zip(writes, results) {
                if case .success = result { written += write.value.count } else { failed += 1 }
            }
            return (results, CallOutcome(bytesWritten: written, failedEntries: failed))
        }
    }

    /// The base's batched delete.
    public func deleteBatch(_ deletes: [BatchDelete]) async throws -> [Result<Void, StoreError>] {
        try await observer.observe(StoreCall(.deleteBatch, key: nil, entryCount: deletes.count)) {
            let results = try await base.deleteBatch(deletes)
            let failed = results.reduce(0) { count, result in
                if case .failure = result { return count + 1 }
                return count
            }
            return (results, CallOutcome(failedEntries: failed))
        }
    }

    /// `entry` with chunks reported to the observer as they are read.
    private func reporting(_ entry: StreamedEntry, _ call: StoreCall) -> StreamedEntry {
        let chunks = entry.chunks, observer = observer
        return StreamedEntry(metadata: entry.metadata, chunks: ValueChunks {
            var iterator = chunks.makeAsyncIterator()
            return ValueChunks.ChunkSource {
                let chunk = try await iterator.next()
                if let chunk { observer.streamed(chunk.count, of: call) }
                return chunk
            }
        }, closer: entry.closer)
    }
}

extension KeyValueStore {
    /// This store with every call seen by `observer` (see ``ObservedStore``).
    ///
    /// - Parameter observer: What sees the calls.
    /// - Returns: An ``ObservedStore`` over this store.
    public func observed<Observer: StoreObserver>(by observer: Observer) -> ObservedStore<Self, Observer> {
        ObservedStore(base: self, observer: observer)
    }
}
