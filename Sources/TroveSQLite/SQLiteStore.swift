import CTroveSQLite
import CTroveSystem
public import Foundation
import Synchronization
public import Trove

/// A store in one table of an SQLite database: many small values in one file, shared safely by
/// every process that opens it.
///
///     let store = try await SQLiteStore(path: URL(fileURLWithPath: "data.db"))
///     try await store.set(Data("hello".utf8), for: "greeting")
///
/// **Layout.** Each store is one table (`kv` unless you name another), so several stores can
/// share a database file. Keys are `TEXT` compared byte by byte (SQLite's `BINARY` collation on
/// UTF-8), in a `WITHOUT ROWID` table, so listing is a range scan of the primary key. Values up
/// to ``inlineLimit`` bytes live in the key's row; larger ones live in a companion rowid table
/// (`kv$segments`) in parts of up to 1 MiB, read and written with SQLite's incremental blob I/O,
/// so that a large value neither goes in nor comes out whole when streamed, and does not slow
/// the key table down. Expiry is an `expires_at` column with a partial index.
///
/// **The contract.** Every write is one SQLite transaction, and conditions are part of it
/// (`INSERT … ON CONFLICT DO UPDATE … WHERE`, `UPDATE … WHERE etag = …`), so they hold across
/// processes sharing the file. ETags are a random identifier of the opened store and a counter:
/// they change on every write, even of identical bytes. Expired rows are invisible at once;
/// ``reclaimExpired()`` deletes them (and the store deletes a few on its own every few hundred
/// writes). Creation dates are kept across overwrites.
///
/// **Concurrency.** The database runs in WAL mode: readers never wait for a writer. The store
/// keeps one connection for writes and a few for reads, each with its statements prepared once.
/// Short calls run on the calling task: an SQLite call on a small value takes microseconds, less
/// than a hop to another thread. Such a call never waits there: it tries once with no busy
/// timeout, and moves to a small pool of dedicated threads, where it waits up to
/// ``Options/busyTimeout``, when its connection is in use or the database is locked. Every call
/// that can block for long runs on that pool from the start: opening the store (which can wait
/// for other processes' locks), every call on a value over 1 MiB, batches of over 64 keys, every
/// write with ``Synchronization/full`` (each commit syncs the log to disk), and the checkpoints
/// that copy the write-ahead log into the database (SQLite's automatic checkpoint is off; the
/// store runs one on the pool after a write that took the log past 1,000 pages). So Swift's
/// cooperative threads never wait for another process or for the disk.
///
/// **Exclusive mode** (``Options/isExclusive``): while the store is open, no other store of the
/// same file opens, in this process or another; it fails with ``StoreError/Code/unavailable``
/// naming the file. Every store holds a lock on a companion file, `<file>-trove-lock` (shared, or
/// exclusive in exclusive mode), beside SQLite's own `-wal` and `-shm`; programs other than Trove
/// do not see that lock.
///
/// **Read-only mode** (``Options/accessMode`` ``AccessMode/readOnly``, URL option
/// `mode=readonly`): for a file that the process may only read, or that lies on a read-only
/// file system. See ``AccessMode/readOnly`` for what it does and does not touch.
///
/// Capabilities: persistence, conditional writes and deletes, expiration, creation dates,
/// streaming, shared across processes (not in exclusive mode); a read-only store has no
/// conditional writes or deletes and no expiration, as ``ReadOnlyStore``.
public final class SQLiteStore: KeyValueStore {
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
        /// ``StoreError/Code/readOnly`` naming the store and the key.
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
        /// ``StoreError/Code/permissionDenied`` saying so.
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
        /// ``StoreError/Code/timedOut``. Defaults to 5 seconds.
        public var busyTimeout: Duration
        /// How many connections serve reads. Defaults to 2.
        public var readerCount: Int
        /// How many bytes of the file SQLite maps into memory for reads. Defaults to 256 MiB.
        public var memoryMapSize: Int
        /// Whether to create the database file when it is missing. Defaults to `true`; a
        /// read-only store never creates it.
        public var createsFile: Bool
        /// Whether the store may write. Defaults to ``AccessMode/readWrite``.
        public var accessMode: AccessMode

        /// Creates options; every parameter has the default described on its property.
        public init(
            synchronization: Synchronization = .normal, isExclusive: Bool = false, busyTimeout: Duration = .seconds(5),
            readerCount: Int = 2, memoryMapSize: Int = 256 << 20, createsFile: Bool = true,
            accessMode: AccessMode = .readWrite
        ) {
            self.synchronization = synchronization
            self.isExclusive = isExclusive
            self.busyTimeout = busyTimeout
            self.readerCount = readerCount
            self.memoryMapSize = memoryMapSize
            self.createsFile = createsFile
            self.accessMode = accessMode
        }
    }

    /// Values of at most this many bytes are kept in the key's row; larger ones in parts.
    public static let inlineLimit = 4096
    /// The size of the parts of a larger value.
    static let segmentSize = 1 << 20
    /// Values above this size are read and written on the blocking pool.
    static let inlineIOLimit = 1 << 20

    /// The database file.
    public let path: URL
    /// The table that holds this store's entries.
    public let table: String
    /// How the database was opened.
    public let options: Options

    let clock: WallClock
    let sql: SQLiteStatements
    /// The connection for writes; `nil` in a read-only store.
    private let writer: SQLiteConnection?
    private let readers: [SQLiteConnection]
    /// How the store's connections open the file (a streamed read opens one of its own).
    let connectionMode: SQLiteConnection.OpenMode
    private let nextReader = Atomic<Int>(0)
    private let instance: UInt64
    private let counter = Atomic<UInt64>(0)
    private let writesSincePurge = Atomic<Int>(0)
    private let openLock: OpenLock?

    /// Opens the store in table `table` of the database at `path`, creating the file, the
    /// table and its companions as needed.
    ///
    ///     let store = try await SQLiteStore(path: URL(fileURLWithPath: "data.db"))
    ///
    /// Opening runs on the blocking pool, not on the calling task: it may wait up to
    /// ``Options/busyTimeout`` for other processes that hold the file's locks (switching it to
    /// WAL, recovering its log, creating its tables).
    ///
    /// - Parameters:
    ///   - path: The database file.
    ///   - table: The table's name: a letter or `_`, then up to 63 letters, digits or `_`.
    ///     Defaults to `kv`.
    ///   - options: How to open it.
    ///   - clock: The clock that decides expiry. Defaults to ``WallClock/system``.
    /// - Throws: ``StoreError`` with code ``StoreError/Code/invalidArgument`` for a bad table
    ///   name, a file that is not an SQLite database, or a table of that name with another
    ///   shape; ``StoreError/Code/unavailable`` when the file is held exclusively by another
    ///   store (or this one asks for exclusivity while another holds the file);
    ///   ``StoreError/Code/readOnly`` or ``StoreError/Code/permissionDenied`` when the file
    ///   cannot be written (the message suggests ``AccessMode/readOnly``), and in read-only mode
    ///   when it cannot be read (see ``AccessMode/readOnly``); ``StoreError/Code/io`` when it
    ///   cannot be opened at all, or is missing and not to be created.
    public init(path: URL, table: String = "kv", options: Options = Options(), clock: WallClock = .system) async throws {
        self.path = path.standardizedFileURL
        self.table = table
        self.options = options
        self.clock = clock
        var generator = SystemRandomNumberGenerator()
        self.instance = generator.next()
        let description = Self.describe(self.path, table, options.accessMode)
        guard SQLiteStatements.isValidTableName(table) else {
            throw StoreError(.invalidArgument, operation: .open, store: description,
                             message: "'\(table)' is not a valid table name: use a letter or '_', then up to 63 letters, digits or '_'")
        }
        let sql = SQLiteStatements(table: table)
        self.sql = sql
        try Task.checkCancellation()
        let setup = Setup(path: self.path.path, options: options, description: description)
        let opened = try await offload { try setup.open(sql: sql) }
        self.openLock = opened.lock
        self.writer = opened.writer
        self.readers = opened.readers
        self.connectionMode = opened.mode
    }

    /// `sqlite` followed by the file and the table, such as `sqlite /data/app.db table kv`, and
    /// `read-only` for a read-only store.
    public var description: String { Self.describe(path, table, options.accessMode) }

    private static func describe(_ path: URL, _ table: String, _ mode: AccessMode) -> String {
        "sqlite \(path.path) table \(table)" + (mode == .readOnly ? " read-only" : "")
    }

    /// Retention, persistence, conditional writes and deletes, expiration, creation dates, streaming, and
    /// sharing across processes unless the store is exclusive; without conditional writes and
    /// deletes and expiration when the store is read-only.
    public var capabilities: StoreCapabilities {
        var capabilities: StoreCapabilities = [.persistence, .conditionalWrites, .conditionalDeletes, .expiration,
                                               .creationDate, .streaming, .retention]
        if !options.isExclusive { capabilities.insert(.sharedAcrossProcesses) }
        if options.accessMode == .readOnly { capabilities.subtract([.conditionalWrites, .conditionalDeletes, .expiration]) }
        return capabilities
    }

    /// The error for a write to a read-only store.
    func refusal(_ operation: StoreOperation, _ key: StoreKey?) -> StoreError {
        StoreError(.readOnly, operation: operation, key: key, store: description,
                   message: "the store was opened read-only (mode=readonly), so '\(path.path)' is not written; "
                    + "open it with mode=readwrite to write")
    }

    /// A fresh ETag, never given before by any opened store (a random instance and a counter).
    func nextETag() -> ETag {
        ETag(high: instance, low: counter.add(1, ordering: .relaxed).newValue)
    }

    /// Whether this write should also delete a few expired rows.
    func shouldPurge() -> Bool {
        writesSincePurge.add(1, ordering: .relaxed).newValue % 512 == 0
    }

    // MARK: Running calls

    /// Runs `body` on a connection: on the calling task first, when the connection is free and
    /// without waiting for the database's locks; on the blocking pool, waiting up to the busy
    /// timeout, when the connection was in use, the database was busy, or `heavy` is set.
    /// SQLite failures become ``StoreError``s naming `operation` and `key`; a ``CallerError`` is
    /// unwrapped and its error thrown as it is.
    func perform<T: Sendable>(
        _ operation: StoreOperation, _ key: StoreKey?, writes: Bool, heavy: Bool = false,
        _ body: @escaping @Sendable (SQLiteConnection) throws -> T
    ) async throws -> T {
        try Task.checkCancellation()
        // A commit with synchronous=FULL syncs the log to disk.
        let heavy = heavy || (writes && options.synchronization == .full)
        let connection: SQLiteConnection
        if writes {
            guard let writer else { throw refusal(operation, key) }
            connection = writer
        } else {
            connection = reader()
        }
        if !heavy {
            do {
                if let (result, checkpointIsDue) = try Self.usingIfFree(connection, body) {
                    if checkpointIsDue {
                        // Best effort, after the write: a checkpoint that fails is tried again
                        // after the next write.
                        _ = try? await offload { try Self.using(connection, waitingUntil: 0) { $0.checkpoint() } }
                    }
                    return result
                }
            } catch let failure as SQLiteFailure where failure.isBusy {
                // Wait for the lock on a thread of the pool, below.
            } catch let caller as CallerError {
                throw caller.error
            } catch {
                throw storeError(error, operation, key)
            }
        }
        // The connection is in use (perhaps by a call waiting for another process's lock), the
        // database is busy, or the call is heavy: wait on a thread of the pool, not here.
        let timeout = options.busyTimeout
        do {
            return try await offload {
                try Self.using(connection, waitingUntil: deadline(after: timeout)) { connection in
                    let result = try body(connection)
                    if connection.isCheckpointDue { connection.checkpoint() }
                    return result
                }
            }
        } catch let caller as CallerError {
            throw caller.error
        } catch {
            throw storeError(error, operation, key)
        }
    }

    /// `body`'s result on `connection` if no one else is using it, without waiting for the
    /// database's locks, and whether a checkpoint is due after it; `nil` when the connection is
    /// in use.
    private static func usingIfFree<T>(
        _ connection: SQLiteConnection, _ body: (SQLiteConnection) throws -> T
    ) throws -> (T, Bool)? {
        guard connection.lock.try() else { return nil }
        defer { connection.lock.unlock() }
        assert(connection.waitDeadline == 0, "a call on the calling task must not wait for a lock")
        return (try body(connection), connection.isCheckpointDue)
    }

    private static func using<T>(
        _ connection: SQLiteConnection, waitingUntil deadline: UInt64, _ body: (SQLiteConnection) throws -> T
    ) throws -> T {
        connection.lock.lock()
        defer {
            connection.waitDeadline = 0
            connection.lock.unlock()
        }
        connection.waitDeadline = deadline
        return try body(connection)
    }

    /// A connection for reads: a free one if there is one, else the next in turn.
    private func reader() -> SQLiteConnection {
        let start = nextReader.add(1, ordering: .relaxed).newValue
        for offset in 0..<readers.count {
            let candidate = readers[(start + offset) % readers.count]
            if candidate.lock.try() {
                candidate.lock.unlock()
                return candidate
            }
        }
        return readers[start % readers.count]
    }

    /// `error` as a ``StoreError`` of this store.
    func storeError(_ error: any Error, _ operation: StoreOperation, _ key: StoreKey?) -> StoreError {
        if let error = error as? StoreError { return error.relabeled(store: description, key: key) }
        guard let failure = error as? SQLiteFailure else {
            return StoreError(.io, operation: operation, key: key, store: description,
                              message: "\(error)", underlying: error)
        }
        return Self.storeError(failure, operation, key, store: description, path: path.path,
                               busyTimeout: options.busyTimeout)
    }

    /// The ``StoreError`` for an SQLite failure.
    static func storeError(
        _ failure: SQLiteFailure, _ operation: StoreOperation, _ key: StoreKey?, store: String, path: String,
        busyTimeout: Duration
    ) -> StoreError {
        func error(_ code: StoreError.Code, _ message: String, retryable: Bool = false) -> StoreError {
            StoreError(code, operation: operation, key: key, store: store, message: message, underlying: failure,
                       isRetryable: retryable)
        }
        switch failure.code {
        case SQLITE_BUSY, SQLITE_LOCKED:
            return error(.timedOut, "'\(path)' stayed locked by another connection for \(busyTimeout): \(failure.description)",
                         retryable: true)
        case SQLITE_FULL:
            return error(.outOfSpace, "the disk holding '\(path)' is full: \(failure.message); nothing was written; free space and retry",
                         retryable: true)
        case SQLITE_READONLY:
            return error(.readOnly, "'\(path)' cannot be written: \(failure.message)")
        case SQLITE_PERM, SQLITE_AUTH:
            return error(.permissionDenied, "access to '\(path)' was denied: \(failure.message)")
        case SQLITE_CANTOPEN:
            return error(.io, "'\(path)' cannot be opened: \(failure.message)")
        case SQLITE_NOTADB:
            return error(.invalidArgument, "'\(path)' is not an SQLite database")
        case SQLITE_CORRUPT:
            return error(.integrity, "'\(path)' is damaged: \(failure.message)")
        case SQLITE_TOOBIG:
            return error(.valueTooLarge, "the value is too large for SQLite: \(failure.message)")
        case SQLITE_NOMEM:
            return error(.unavailable, "SQLite ran out of memory: \(failure.message)", retryable: true)
        case SQLITE_INTERRUPT:
            return error(.unavailable, "the call was interrupted: \(failure.message)", retryable: true)
        default:
            return error(.io, "SQLite failed on '\(path)': \(failure.description)")
        }
    }
}

extension Duration {
    /// The duration in whole nanoseconds, saturating.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? Int64.max : product &+ attoseconds / 1_000_000_000
    }
}

/// Opening a store's connections and checking its tables.
private struct Setup {
    let path: String
    let options: SQLiteStore.Options
    let description: String

    /// What an opened store holds.
    struct Opened {
        var lock: OpenLock?
        var writer: SQLiteConnection?
        var readers: [SQLiteConnection]
        var mode: SQLiteConnection.OpenMode
    }

    /// Takes the lock on `<file>-trove-lock`, opens the connections and checks (or, when the
    /// store may write, makes) the tables.
    func open(sql: SQLiteStatements) throws -> Opened {
        let readerCount = max(1, options.readerCount)
        if options.accessMode == .readOnly {
            guard !options.isExclusive else {
                throw StoreError(.invalidArgument, operation: .open, store: description,
                                 message: "a read-only store cannot hold '\(path)' exclusively: exclusive mode "
                                    + "writes its lock file; open it with mode=readonly or exclusive=true, not both")
            }
            let lock = try OpenLock(readingDatabaseAt: path, description: description)
            do {
                let (first, mode) = try openFirstReader(sql: sql)
                let others = try (1..<readerCount).map { _ in try openReader(mode) }
                return Opened(lock: lock, writer: nil, readers: [first] + others, mode: mode)
            } catch let failure as SQLiteFailure {
                throw openingError(failure)
            }
        }
        let lock = try OpenLock(databasePath: path, exclusive: options.isExclusive, description: description)
        do {
            let mode = SQLiteConnection.OpenMode.readWrite(creates: false)
            let writer = try openWriter(sql: sql)
            let readers = try (0..<readerCount).map { _ in try openReader(mode) }
            return Opened(lock: lock, writer: writer, readers: readers, mode: mode)
        } catch let failure as SQLiteFailure {
            throw openingError(failure)
        }
    }

    func openWriter(sql: SQLiteStatements) throws -> SQLiteConnection {
        let connection = try SQLiteConnection(path: path, mode: .readWrite(creates: options.createsFile))
        connection.deferCheckpoints()
        // SQLite opens a file that the process may not write for reading only, without a word.
        guard !connection.isReadOnly else {
            throw StoreError(.readOnly, operation: .open, store: description,
                             message: "'\(path)' cannot be written (the process may read it only)"
                                + SQLiteStore.readOnlyHint)
        }
        let giveUpAt = deadline(after: options.busyTimeout)
        connection.waitDeadline = giveUpAt
        try configure(connection)
        // Creates the tables and checks their shape under the write lock.
        defer { connection.waitDeadline = 0 }
        // Several processes opening a new file at once meet while it switches to WAL, and can
        // hold each other's locks while they wait: each attempt waits at most 100 ms, lets go of
        // every lock, and tries again after a random pause, until the busy timeout.
        while true {
            connection.waitDeadline = min(giveUpAt, monotonicNanoseconds() + 100_000_000)
            do {
                try connection.execute("PRAGMA journal_mode=WAL")
                try connection.writeTransaction {
                    // Tables of another program first: the schema's indexes and triggers name a
                    // store's columns, and would fail on other ones with a bare SQL error.
                    try checkShape(connection, sql: sql, allowingMissing: true)
                    try connection.execute(sql.schema)
                    try checkShape(connection, sql: sql)
                }
                return connection
            } catch let failure as SQLiteFailure where failure.isBusy && monotonicNanoseconds() < giveUpAt {
                usleep(useconds_t.random(in: 1_000...10_000))
            }
        }
    }

    func openReader(_ mode: SQLiteConnection.OpenMode) throws -> SQLiteConnection {
        let connection = try SQLiteConnection(path: path, mode: mode)
        // Its settings may need to read the file, which another process may hold locked for a
        // moment (switching it to WAL, or recovering its log).
        connection.waitDeadline = deadline(after: options.busyTimeout)
        defer { connection.waitDeadline = 0 }
        try configure(connection)
        return connection
    }

    /// The first connection of a read-only store, its tables checked, and how every connection
    /// of the store opens the file: `SQLITE_OPEN_READONLY`, or `immutable=1` for a WAL database
    /// on a read-only file system without its `-wal` and `-shm` files (see
    /// ``SQLiteStore/AccessMode/readOnly``).
    private func openFirstReader(sql: SQLiteStatements) throws -> (SQLiteConnection, SQLiteConnection.OpenMode) {
        guard access(path, F_OK) == 0 else {
            let code = errno
            throw StoreError(code == EACCES ? .permissionDenied : .io, operation: .open, store: description,
                             message: "'\(path)' cannot be opened: \(String(cString: strerror(code))); "
                                + "a read-only store does not create it")
        }
        do {
            let connection = try openReader(.readOnly)
            try withWait(connection) { try checkShape(connection, sql: sql) }
            return (connection, .readOnly)
        } catch let failure as SQLiteFailure where failure.code == SQLITE_CANTOPEN {
            // The file opened, yet reading it failed: a WAL database whose -shm and -wal files
            // do not exist and cannot be created.
            guard Self.isOnReadOnlyFileSystem(path) else {
                throw StoreError(.permissionDenied, operation: .open, store: description,
                                 message: "'\(path)' is a WAL database, and its '-shm' and '-wal' files neither "
                                    + "exist nor can be created (the process may not write the directory): it can be "
                                    + "read only while they exist, such as while a writer has it open", underlying: failure)
            }
            var status = stat()
            if stat(path + "-wal", &status) == 0, status.st_size > 0 {
                throw StoreError(.readOnly, operation: .open, store: description,
                                 message: "'\(path)' lies on a read-only file system with a write-ahead log "
                                    + "('\(path)-wal') that holds commits not yet in the database, and no '-shm' file; "
                                    + "mount it read-write and open it once so SQLite folds the log in", underlying: failure)
            }
            // Nothing can change the file while its file system is read-only: SQLite may read
            // it without locks or a WAL index.
            let connection = try openReader(.immutable)
            try withWait(connection) { try checkShape(connection, sql: sql) }
            return (connection, .immutable)
        }
    }

    /// Whether the file system holding `path` is mounted read-only.
    private static func isOnReadOnlyFileSystem(_ path: String) -> Bool {
        var status = statvfs()
        return statvfs(path, &status) == 0 && (status.f_flag & UInt(ST_RDONLY)) != 0
    }

    private func withWait<T>(_ connection: SQLiteConnection, _ body: () throws -> T) throws -> T {
        connection.waitDeadline = deadline(after: options.busyTimeout)
        defer { connection.waitDeadline = 0 }
        return try body()
    }

    private func configure(_ connection: SQLiteConnection) throws {
        try connection.execute("""
            PRAGMA synchronous=\(options.synchronization == .full ? "FULL" : "NORMAL");
            PRAGMA mmap_size=\(max(0, options.memoryMapSize));
            PRAGMA temp_store=MEMORY;
            """)
    }

    /// Throws when the store's tables have columns other than a store's, or when one is missing
    /// and `allowingMissing` is not set.
    private func checkShape(_ connection: SQLiteConnection, sql: SQLiteStatements, allowingMissing: Bool = false) throws {
        for (table, expected) in sql.expectedColumns {
            let statement = try connection.statement("SELECT name, type FROM pragma_table_info(?1) ORDER BY cid")
            defer { statement.reset() }
            try statement.bind(1, text: table)
            var found: [String] = []
            while try statement.step() { found.append("\(statement.text(0)) \(statement.text(1))") }
            if found.isEmpty && !allowingMissing && options.accessMode == .readOnly {
                throw StoreError(.invalidArgument, operation: .open, store: description,
                                 message: "'\(path)' has no table '\(table)', and a read-only store does not create it; "
                                    + "name another table with table=")
            }
            guard found == expected || (allowingMissing && found.isEmpty) else {
                throw StoreError(.invalidArgument, operation: .open, store: description,
                                 message: "table '\(table)' in '\(path)' has columns (\(found.joined(separator: ", "))), "
                                    + "not those of a Trove store (\(expected.joined(separator: ", "))); "
                                    + "name another table with table=")
            }
        }
    }

    /// The error for a failure while opening; one that a read-only store would not meet says so.
    func openingError(_ failure: SQLiteFailure) -> StoreError {
        var error = SQLiteStore.storeError(failure, .open, nil, store: description, path: path,
                                           busyTimeout: options.busyTimeout)
        if options.accessMode == .readWrite && (error.code == .readOnly || error.code == .permissionDenied) {
            error.message += SQLiteStore.readOnlyHint
        }
        return error
    }
}

extension SQLiteStore {
    /// The end of the message of an error that opening for reading only would avoid.
    static let readOnlyHint = "; to read the store without writing, open it with mode=readonly (SQLiteStore.AccessMode.readOnly)"
}

/// The lock every open store holds on `<file>-trove-lock`: shared, or exclusive for a store in
/// exclusive mode, so that an exclusive store and any other store of the same file never run at
/// once. An open-file-description lock: it conflicts between two opens in one process too, and
/// it goes away with the process.
///
/// The lock is on a companion file, not on the database: closing a descriptor of the database
/// would drop the POSIX locks that SQLite's own connections in this process hold on it.
final class OpenLock: Sendable {
    private let descriptor: Int32

    /// Opens (creating it if needed) and locks the companion of `databasePath`.
    convenience init(databasePath: String, exclusive: Bool, description: String) throws {
        let path = databasePath + "-trove-lock"
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            let code = errno
            let reason = "cannot open the lock file '\(path)' for writing: \(String(cString: strerror(code)))"
            switch code {
            case EROFS:
                throw StoreError(.readOnly, operation: .open, store: description,
                                 message: "'\(databasePath)' lies on a read-only file system (\(reason))" + SQLiteStore.readOnlyHint)
            case EACCES, EPERM:
                throw StoreError(.permissionDenied, operation: .open, store: description,
                                 message: "the process may not write beside '\(databasePath)' (\(reason))" + SQLiteStore.readOnlyHint)
            default:
                throw StoreError(.io, operation: .open, store: description, message: reason)
            }
        }
        try self.init(descriptor: descriptor, path: path, databasePath: databasePath, exclusive: exclusive,
                      description: description)
    }

    /// Opens the companion of `databasePath` for reading and takes a shared lock on it; `nil`
    /// when there is no companion, or the process may not read it: a read-only store neither
    /// creates nor writes it.
    convenience init?(readingDatabaseAt databasePath: String, description: String) throws {
        let path = databasePath + "-trove-lock"
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        try self.init(descriptor: descriptor, path: path, databasePath: databasePath, exclusive: false,
                      description: description)
    }

    private init(descriptor: Int32, path: String, databasePath: String, exclusive: Bool, description: String) throws {
        guard trove_try_lock_byte(descriptor, 0, exclusive ? 2 : 1) == 0 else {
            let code = errno
            close(descriptor)
            let message = exclusive
                ? "'\(databasePath)' is open in another store (in this process or another), so it cannot be held exclusively"
                : "'\(databasePath)' is held exclusively by another store (in this process or another)"
            throw StoreError(.unavailable, operation: .open, store: description,
                             message: code == EAGAIN || code == EACCES ? message : "cannot lock '\(path)': \(String(cString: strerror(code)))")
        }
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
    }
}
