import Foundation
import Trove

/// A layer that forwards everything to the store under test and counts the pages asked of it,
/// so that a check can see whether a listing stopped early.
///
/// It does not provide its own `list`, so listings of it page through its `listPage`, which
/// counts and forwards.
struct CountingStore: KeyValueStore {
    /// What the layer has seen.
    struct Counters: Sendable {
        /// The number of `listPage` calls.
        var pageRequests = 0
        /// The most elements one page returned.
        var largestPage = 0
    }

    let base: any KeyValueStore
    let counters = Box(Counters())

    var description: String { "counting \(base.description)" }
    var capabilities: StoreCapabilities { base.capabilities }

    func read(_ key: StoreKey) async throws -> StoreEntry? { try await base.read(key) }

    func readStream(_ key: StoreKey, chunkSize: Int) async throws -> StreamedEntry? {
        try await base.readStream(key, chunkSize: chunkSize)
    }

    func metadata(for key: StoreKey) async throws -> EntryMetadata? { try await base.metadata(for: key) }

    func write(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        try await base.write(value, for: key, options: options)
    }

    func write<Chunks: AsyncSequence & Sendable>(
        contentsOf chunks: Chunks, for key: StoreKey, options: WriteOptions
    ) async throws -> EntryMetadata where Chunks.Element == Data {
        try await base.write(contentsOf: chunks, for: key, options: options)
    }

    func delete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool {
        try await base.delete(key, condition: condition)
    }

    func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
        let page = try await base.listPage(query, after: cursor, limit: limit)
        counters.update { counters in
            counters.pageRequests += 1
            counters.largestPage = max(counters.largestPage, page.elements.count)
        }
        return page
    }

    func read(_ key: StoreKey, options: ReadOptions) async throws -> ReadOutcome<StoreEntry>? {
        try await base.read(key, options: options)
    }

    func readStream(_ key: StoreKey, chunkSize: Int, options: ReadOptions) async throws -> ReadOutcome<StreamedEntry>? {
        try await base.readStream(key, chunkSize: chunkSize, options: options)
    }

    func metadata(for key: StoreKey, options: ReadOptions) async throws -> EntryMetadata? {
        try await base.metadata(for: key, options: options)
    }

    func discard(_ key: StoreKey) async throws { try await base.discard(key) }

    func count(withPrefix prefix: String) async throws -> Int { try await base.count(withPrefix: prefix) }

    func readBatch(_ keys: [StoreKey]) async throws -> [StoreEntry?] { try await base.readBatch(keys) }

    func writeBatch(_ writes: [BatchWrite]) async throws -> [Result<EntryMetadata, StoreError>] {
        try await base.writeBatch(writes)
    }

    func deleteBatch(_ deletes: [BatchDelete]) async throws -> [Result<Void, StoreError>] {
        try await base.deleteBatch(deletes)
    }

    func url(for key: StoreKey, validFor lifetime: Duration) async throws -> URL? {
        try await base.url(for: key, validFor: lifetime)
    }

    func reclaimExpired() async throws -> Int { try await base.reclaimExpired() }
}
