public import Foundation

/// A store that accepts every write and keeps nothing: every read is `nil`, every listing empty.
///
/// For tests, dry runs and measuring the cost of the layers above a store. Conditions are
/// checked against the empty store: ``WriteCondition/ifAbsent`` always holds,
/// ``WriteCondition/ifMatches(_:)`` never does.
public struct NullStore: KeyValueStore {
    private let clock: WallClock

    /// Creates a null store.
    ///
    /// - Parameter clock: The clock for the modification dates it reports. Defaults to
    ///   ``WallClock/system``.
    public init(clock: WallClock = .system) { self.clock = clock }

    /// `null`.
    public var description: String { "null" }

    /// Conditional writes and deletes (always judged against an empty store) and expiration.
    public var capabilities: StoreCapabilities { [.conditionalWrites, .conditionalDeletes, .expiration] }

    public func read(_ key: StoreKey) async throws -> StoreEntry? { nil }

    public func metadata(for key: StoreKey) async throws -> EntryMetadata? { nil }

    public func write(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        if let etag = options.condition.expectedETag {
            throw StoreError(.conditionFailed, operation: .write, key: key, store: description,
                             message: "condition ifMatches(\(etag)) failed: a null store holds no value")
        }
        let now = clock.now
        return EntryMetadata(key: key, size: Int64(value.count), etag: ETag("null"), modificationDate: now,
                             expirationDate: options.expiry.expirationDate(writtenAt: now))
    }

    public func write<Chunks: AsyncSequence & Sendable>(
        contentsOf chunks: Chunks, for key: StoreKey, options: WriteOptions
    ) async throws -> EntryMetadata where Chunks.Element == Data {
        // Measured against the expected size as they pass, as every store does: a stream that
        // turns out longer or shorter than declared fails the write.
        var size: Int64 = 0
        for try await chunk in ValueChunks(chunks, checkedAgainst: options, key: key, store: description) {
            size += Int64(chunk.count)
        }
        var metadata = try await write(Data(), for: key, options: options)
        metadata.size = size
        return metadata
    }

    public func delete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool {
        if let etag = condition.expectedETag {
            throw StoreError(.conditionFailed, operation: .delete, key: key, store: description,
                             message: "condition ifMatches(\(etag)) failed: a null store holds no value")
        }
        return false
    }

    public func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
        ListPage(elements: [], nextCursor: nil)
    }

    public func reclaimExpired() async throws -> Int { 0 }
}
