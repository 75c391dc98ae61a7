public import Foundation

/// A store of any type behind one concrete type, forwarding every requirement (batches, read
/// options, counts included) to the store it wraps.
///
/// Layers are generic over their base, so they stack on a concrete store. A store known only
/// as `any KeyValueStore` (one opened from a URL, say) is wrapped first:
///
///     let opened: any KeyValueStore = try await StoreURL("sqlite:app.db").open()
///     let users = AnyKeyValueStore(opened).prefixed("users").typed(as: User.self)
///
/// The wrapper adds nothing: capabilities, description, errors and costs are the wrapped
/// store's, plus one dynamic call per operation.
public struct AnyKeyValueStore: KeyValueStore {
    /// The wrapped store.
    public let base: any KeyValueStore

    /// Wraps `base`; a store that is already an `AnyKeyValueStore` is not wrapped twice.
    public init(_ base: any KeyValueStore) {
        self.base = (base as? AnyKeyValueStore)?.base ?? base
    }

    /// The wrapped store's description.
    public var description: String { base.description }
    /// The wrapped store's capabilities.
    public var capabilities: StoreCapabilities { base.capabilities }

    public func read(_ key: StoreKey) async throws -> StoreEntry? { try await base.read(key) }

    public func readStream(_ key: StoreKey, chunkSize: Int) async throws -> StreamedEntry? {
        try await base.readStream(key, chunkSize: chunkSize)
    }

    public func metadata(for key: StoreKey) async throws -> EntryMetadata? { try await base.metadata(for: key) }

    public func read(_ key: StoreKey, options: ReadOptions) async throws -> ReadOutcome<StoreEntry>? {
        try await base.read(key, options: options)
    }

    public func readStream(_ key: StoreKey, chunkSize: Int, options: ReadOptions) async throws -> ReadOutcome<StreamedEntry>? {
        try await base.readStream(key, chunkSize: chunkSize, options: options)
    }

    public func metadata(for key: StoreKey, options: ReadOptions) async throws -> EntryMetadata? {
        try await base.metadata(for: key, options: options)
    }

    public func write(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        try await base.write(value, for: key, options: options)
    }

    public func write<Chunks: AsyncSequence & Sendable>(
        contentsOf chunks: Chunks, for key: StoreKey, options: WriteOptions
    ) async throws -> EntryMetadata where Chunks.Element == Data {
        try await base.write(contentsOf: chunks, for: key, options: options)
    }

    public func delete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool {
        try await base.delete(key, condition: condition)
    }

    public func discard(_ key: StoreKey) async throws { try await base.discard(key) }

    public func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
        try await base.listPage(query, after: cursor, limit: limit)
    }

    public func list(_ query: ListQuery, pageSize: Int) -> StoreListing { base.list(query, pageSize: pageSize) }

    public func count(withPrefix prefix: String) async throws -> Int { try await base.count(withPrefix: prefix) }

    public func readBatch(_ keys: [StoreKey]) async throws -> [StoreEntry?] { try await base.readBatch(keys) }

    public func writeBatch(_ writes: [BatchWrite]) async throws -> [Result<EntryMetadata, StoreError>] {
        try await base.writeBatch(writes)
    }

    public func deleteBatch(_ deletes: [BatchDelete]) async throws -> [Result<Void, StoreError>] {
        try await base.deleteBatch(deletes)
    }

    public func url(for key: StoreKey, validFor lifetime: Duration) async throws -> URL? {
        try await base.url(for: key, validFor: lifetime)
    }

    public func reclaimExpired() async throws -> Int { try await base.reclaimExpired() }
}
