public import Foundation

/// A store that keeps one file per key under a root directory.
public final class FileSystemStore: KeyValueStore {
    /// How hard a write tries to survive a power loss.
    public struct Durability: Hashable, Sendable {
        private let syncs: Bool
        /// The file system decides when data reaches the disk (fast; survives a process crash).
        public static let buffered = Durability(syncs: false)
        /// Every write fsyncs the file and its directory before returning (survives power loss).
        public static let fsync = Durability(syncs: true)
        /// Whether writes fsync.
        public var syncsToDisk: Bool { syncs }
    }

    /// Options of a file store.
    public struct Configuration: Sendable {
        /// How hard writes try to survive a power loss. Defaults to ``Durability/buffered``.
        public var durability: Durability
        /// Whether to create the root directory if it is missing. Defaults to `true`.
        public var createsRoot: Bool

        /// Creates a configuration.
        public init(durability: Durability = .buffered, createsRoot: Bool = true) {
            self.durability = durability
            self.createsRoot = createsRoot
        }
    }

    /// The root directory.
    public let root: URL
    /// The store's options.
    public let configuration: Configuration
    private let clock: WallClock

    /// Opens (and by default creates) a file store rooted at `root`.
    public init(root: URL, configuration: Configuration = Configuration(), clock: WallClock = .system) throws {
        self.root = root
        self.configuration = configuration
        self.clock = clock
    }

    public var description: String { "file \(root.path)" }

    public var capabilities: StoreCapabilities {
        [.persistence, .conditionalWrites, .conditionalDeletes, .expiration, .creationDate, .streaming,
         .sharedAcrossProcesses, .retention]
    }

    private func unfinished(_ operation: StoreOperation) -> StoreError {
        StoreError(.notSupported, operation: operation, store: description, message: "not built yet")
    }

    public func read(_ key: StoreKey) async throws -> StoreEntry? { throw unfinished(.read) }
    public func metadata(for key: StoreKey) async throws -> EntryMetadata? { throw unfinished(.metadata) }
    public func write(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        throw unfinished(.write)
    }
    public func delete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool { throw unfinished(.delete) }
    public func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
        throw unfinished(.list)
    }
    public func reclaimExpired() async throws -> Int { throw unfinished(.reclaim) }
}
