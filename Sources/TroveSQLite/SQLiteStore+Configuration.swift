public import Trove

extension SQLiteStore {
    /// How an SQLite store syncs its writes to disk.
    public enum Synchronization: String, Sendable, CaseIterable {
        /// `synchronous=NORMAL`: a commit survives a crash of the process; the last commits
        /// before a power loss may be lost, but the database stays intact. The default.
        case normal
        /// `synchronous=FULL`: a commit is on disk before the write returns.
        case full
    }

    /// Whether a store may write its database.
    public struct AccessMode: Sendable, Hashable, CustomStringConvertible {
        private enum Base: Sendable, Hashable { case readWrite, readOnly }
        private let base: Base

        /// Reads and writes; creates the file, its tables and the `<file>-trove-lock` companion
        /// as needed. The default.
        public static var readWrite: Self { Self(base: .readWrite) }

        /// Reads only: the database is opened with `SQLITE_OPEN_READONLY`, nothing is created
        /// (not the file, not a table, not `<file>-trove-lock`) and nothing is written, so a
        /// process that may only read the file can `read`, `list`, `count` and stream values.
        /// Every write, delete, batch write, transaction and reclaim throws
        /// `StoreError.Code.readOnly` naming the store and the key.
        ///
        /// The lock companion is honoured when it exists and can be read: a read-only store
        /// takes a shared lock on it, so it does not open while an exclusive store holds the file
        /// (and exclusive mode itself is refused, since it needs to write the lock). A database
        /// in WAL mode (as every store makes it) needs its `-wal` and `-shm` files, which SQLite
        /// creates if the directory allows it. On a file system mounted read-only, where they
        /// cannot be created and no other process can change the file, the store opens the file
        /// with SQLite's `immutable=1`, without locks; it refuses to when a `-wal` file is left
        /// there (commits not yet in the database, which `immutable=1` would not see). Elsewhere,
        /// without write access to the directory, a WAL database can be read only while its
        /// `-wal` and `-shm` files exist (while a writer has it open, say): opening fails with
        /// `StoreError.Code.permissionDenied` saying so.
        public static var readOnly: Self { Self(base: .readOnly) }

        /// `readwrite` or `readonly`, as in a store URL's `mode` option.
        public var description: String { base == .readOnly ? "readonly" : "readwrite" }
    }

    /// How a store opens its database.
    public struct Options: Sendable {
        /// How writes reach the disk. Defaults to ``Synchronization/normal``.
        public var synchronization: Synchronization
        /// Whether the store holds the file exclusively while open. Defaults to `false`.
        public var isExclusive: Bool
        /// How long a call waits for another connection's lock before failing with
        /// `StoreError.Code.timedOut`. Defaults to 5 seconds.
        public var busyTimeout: Duration
        /// How many connections serve reads. Defaults to 2. With two or more, the last serves
        /// listings (and other reads when the rest are busy).
        public var readerCount: Int
        /// How many bytes of the file SQLite maps into memory for reads. Defaults to 256 MiB.
        ///
        /// The connection that serves listings (when there are two readers or more) maps
        /// nothing: a scan of the whole table reads its pages through SQLite's bounded page
        /// cache, so that listing a large store does not grow the process's resident memory by
        /// every page it passes.
        public var memoryMapSize: Int
        /// Whether to create the database file when it is missing. Defaults to `true`; a
        /// read-only store never creates it.
        public var createsFile: Bool
        /// Whether the store may write. Defaults to ``AccessMode/readWrite``.
        public var accessMode: AccessMode
        /// The threads where the store's calls that can wait run (see ``SQLiteStore``'s
        /// concurrency notes). Defaults to `BlockingPool.sqliteStores`, shared by the SQLite
        /// stores of the process; give a store a pool of its own when its waits (for another
        /// process's write lock, say) must not delay the others.
        public var blockingPool: BlockingPool

        /// Creates options; every parameter has the default described on its property.
        public init(
            synchronization: Synchronization = .normal, isExclusive: Bool = false, busyTimeout: Duration = .seconds(5),
            readerCount: Int = 2, memoryMapSize: Int = 256 << 20, createsFile: Bool = true,
            accessMode: AccessMode = .readWrite, blockingPool: BlockingPool = .sqliteStores
        ) {
            self.synchronization = synchronization
            self.isExclusive = isExclusive
            self.busyTimeout = busyTimeout
            self.readerCount = readerCount
            self.memoryMapSize = memoryMapSize
            self.createsFile = createsFile
            self.accessMode = accessMode
            self.blockingPool = blockingPool
        }
    }
}
