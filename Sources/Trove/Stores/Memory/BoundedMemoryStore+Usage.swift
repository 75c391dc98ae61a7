import Synchronization

extension BoundedMemoryStore {
    /// How much of its bounds a ``BoundedMemoryStore`` uses, and how often it made room.
    public struct Usage: Hashable, Sendable, CustomStringConvertible {
        /// The bytes of the keys and values held, expired entries not yet removed included.
        public var byteCount: Int
        /// The number of entries held, expired entries not yet removed included.
        public var entryCount: Int
        /// The number of live entries evicted to make room since the store was created.
        public var evictionCount: Int

        /// Creates a usage report.
        public init(byteCount: Int, entryCount: Int, evictionCount: Int) {
            self.byteCount = byteCount
            self.entryCount = entryCount
            self.evictionCount = evictionCount
        }

        /// Such as `1024 bytes in 3 entries, 0 evicted`.
        public var description: String { "\(byteCount) bytes in \(entryCount) entries, \(evictionCount) evicted" }
    }

    /// The store's current usage, read as one snapshot.
    public var usage: Usage {
        state.withLock { Usage(byteCount: $0.byteCount, entryCount: $0.index.count, evictionCount: $0.evictionCount) }
    }
}
