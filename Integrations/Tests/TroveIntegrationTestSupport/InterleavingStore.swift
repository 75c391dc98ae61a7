public import Foundation
public import Trove
import Synchronization

/// A layer that lets another writer in at the worst moment: right after the first metadata
/// lookup of ``key`` has read the entry, and before the caller can act on what it read, it runs
/// ``interloper`` on the base store. A read-then-write that is not a compare-and-swap then
/// overwrites the interloper's write with stale information; a compare-and-swap notices.
public final class InterleavingStore<Base: KeyValueStore>: KeyValueStore {
    /// The store beneath.
    public let base: Base
    /// The key whose first metadata lookup lets the interloper in.
    public let key: StoreKey
    private let interloper: @Sendable (Base) async throws -> Void
    private let hasInterleaved = Atomic<Bool>(false)

    /// `base`, with `interloper` run once, after the first metadata lookup of `key`.
    public init(base: Base, key: StoreKey, interloper: @escaping @Sendable (Base) async throws -> Void) {
        self.base = base
        self.key = key
        self.interloper = interloper
    }

    /// Whether the interloper has run.
    public var didInterleave: Bool { hasInterleaved.load(ordering: .acquiring) }

    public var description: String { "\(base.description) interleaved" }
    public var capabilities: StoreCapabilities { base.capabilities.subtracting(.passedOnOnlyByForwarding) }

    public func read(_ key: StoreKey) async throws -> StoreEntry? { try await base.read(key) }

    public func metadata(for key: StoreKey) async throws -> EntryMetadata? {
        let metadata = try await base.metadata(for: key)
        if key == self.key, !hasInterleaved.exchange(true, ordering: .acquiringAndReleasing) {
            try await interloper(base)
        }
        return metadata
    }

    public func write(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        try await base.write(value, for: key, options: options)
    }

    public func delete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool {
        try await base.delete(key, condition: condition)
    }

    public func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
        try await base.listPage(query, after: cursor, limit: limit)
    }

    public func reclaimExpired() async throws -> Int { try await base.reclaimExpired() }
}
