public import Foundation
public import Trove

/// A store without expiry, as an object store without lifecycle rules is: a layer that forwards
/// to `base` but reports no ``StoreCapabilities/expiration`` and refuses writes that ask for
/// one, as the contract requires of a store without it.
public struct StoreWithoutExpiry<Base: KeyValueStore>: KeyValueStore {
    /// The store beneath.
    public let base: Base

    /// `base` without its expiry.
    public init(base: Base) { self.base = base }

    public var description: String { "\(base.description) without expiry" }

    public var capabilities: StoreCapabilities {
        base.capabilities.subtracting([.expiration, .expiryRefreshOnRead, .atomicBatches])
    }

    public func read(_ key: StoreKey) async throws -> StoreEntry? { try await base.read(key) }

    public func metadata(for key: StoreKey) async throws -> EntryMetadata? { try await base.metadata(for: key) }

    public func write(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        guard options.expiry.isNever else {
            throw StoreError(.notSupported, operation: .write, key: key, store: description,
                             message: "this store has no expiry (asked for \(options.expiry))")
        }
        return try await base.write(value, for: key, options: options)
    }

    public func delete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool {
        try await base.delete(key, condition: condition)
    }

    public func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
        try await base.listPage(query, after: cursor, limit: limit)
    }

    public func reclaimExpired() async throws -> Int { 0 }
}
