import CTroveSQLite
import CTroveSystem
public import Foundation
import Synchronization
public import Trove

/// A store in one table of an SQLite database: many small values in one file, shared safely by
/// every process that opens it.
///
///     let store = try SQLiteStore(path: URL(fileURLWithPath: "data.db"))
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
/// than a hop to another thread. A call that would wait for another process's lock, and every
/// call on a value over 1 MiB, moves to a small pool of dedicated threads, so Swift's
/// cooperative threads never block for long.
///
/// **Exclusive mode** (``Options/isExclusive``): while the store is open, no other store of the
/// same file opens, in this process or another; it fails with ``StoreError/Code/unavailable``
/// naming the file. Every store holds a lock on a companion file, `<file>-trove-lock` (shared, or
/// exclusive in exclusive mode), beside SQLite's own `-wal` and `-shm`; programs other than Trove
/// do not see that lock.
///
/// Capabilities: persistence, conditional writes and deletes, expiration, creation dates,
/// streaming, shared across processes (not in exclusive mode).
public final class SQLiteStore: KeyValueStore {
    /// How an SQLite store syncs its writes to disk.
    public enum Synchronization: String, Sendable, CaseIterable {
        /// `synchronous=NORMAL`: a commit survives a crash of the process; the last commits
        /// before a power loss may be lost, but the database stays intact. The default.
        case normal
        /// `synchronous=FULL`: a commit is on disk before the write returns.
        case full
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
        /// Whether to create the database file when it is missing. Defaults to `true`.
        public var createsFile: Bool

        /// Creates options; every parameter has the default described on its property.
        public init(
            synchronization: Synchronization = .normal, isExclusive: Bool = false, busyTimeout: Duration = .seconds(5),
            readerCount: Int = 2, memoryMapSize: Int = 256 << 20, createsFile: Bool = true
        ) {
            self.synchronization = synchronization
            self.isExclusive = isExclusive
            self.busyTimeout = busyTimeout
            self.readerCount = readerCount
            self.memoryMapSize = memoryMapSize
            self.createsFile = createsFile
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
    let writer: SQLiteConnection
    private let readers: [SQLiteConnection]
    private let nextReader = Atomic<Int>(0)
    private let instance: UInt64
    private let counter = Atomic<UInt64>(0)
    private let writesSincePurge = Atomic<Int>(0)
    private let openLock: OpenLock

    /// Opens the store in table `table` of the database at `path`, creating the file, the
    /// table and its companions as needed.
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
    ///   ``StoreError/Code/readOnly``, ``StoreError/Code/permissionDenied`` or
    ///   ``StoreError/Code/io`` when the file cannot be opened for writing.
    public init(path: URL, table: String = "kv", options: Options = Options(), clock: WallClock = .system) throws {
        self.path = path.standardizedFileURL
        self.table = table
        self.options = options
        self.clock = clock
        var generator = SystemRandomNumberGenerator()
        self.instance = generator.next()
        let description = "sqlite \(self.path.path) table \(table)"
        guard SQLiteStatements.isValidTableName(table) else {
            throw StoreError(.invalidArgument, operation: .open, store: description,
                             message: "'\(table)' is not a valid table name: use a letter or '_', then up to 63 letters, digits or '_'")
        }
        self.sql = SQLiteStatements(table: table)
        let setup = Setup(path: self.path.path, options: options, description: description)
        self.openLock = try OpenLock(databasePath: self.path.path, exclusive: options.isExclusive,
                                     description: description)
        do {
            self.writer = try setup.openWriter(sql: sql)
            self.readers = try (0..<max(1, options.readerCount)).map { _ in try setup.openReader() }
        } catch let failure as SQLiteFailure {
            throw setup.openingError(failure)
        }
    }

    /// `sqlite` followed by the file and the table, such as `sqlite /data/app.db table kv`.
    public var description: String { "sqlite \(path.path) table \(table)" }

    /// Retention, persistence, conditional writes and deletes, expiration, creation dates, streaming, and
    /// sharing across processes unless the store is exclusive.
    public var capabilities: StoreCapabilities {
        var capabilities: StoreCapabilities = [.persistence, .conditionalWrites, .conditionalDeletes, .expiration,
                                               .creationDate, .streaming, .retention]
        if !options.isExclusive { capabilities.insert(.sharedAcrossProcesses) }
        return capabilities
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
        let connection = writes ? writer : reader()
        if !heavy {
            do {
                if let result = try Self.usingIfFree(connection, body) { return result }
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
            return try await BlockingPool.shared.run {
                return try Self.using(connection, waitingUntil: deadline(after: timeout), body)
            }
        } catch let caller as CallerError {
            throw caller.error
        } catch {
            throw storeError(error, operation, key)
        }
    }

    /// `body`'s result on `connection` if no one else is using it, without waiting for the
    /// database's locks; `nil` when the connection is in use.
    private static func usingIfFree<T>(_ connection: SQLiteConnection, _ body: (SQLiteConnection) throws -> T) throws -> T? {
        guard connection.lock.try() else { return nil }
        defer { connection.lock.unlock() }
        return try body(connection)
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
        guard !readers.isEmpty else { return writer }
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

    func openWriter(sql: SQLiteStatements) throws -> SQLiteConnection {
        let connection = try SQLiteConnection(path: path, creates: options.createsFile)
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

    func openReader() throws -> SQLiteConnection {
        let connection = try SQLiteConnection(path: path, creates: false)
        // Its settings may need to read the file, which another process may hold locked for a
        // moment (switching it to WAL, or recovering its log).
        connection.waitDeadline = deadline(after: options.busyTimeout)
        defer { connection.waitDeadline = 0 }
        try configure(connection)
        return connection
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
            guard found == expected || (allowingMissing && found.isEmpty) else {
                throw StoreError(.invalidArgument, operation: .open, store: description,
                                 message: "table '\(table)' in '\(path)' has columns (\(found.joined(separator: ", "))), "
                                    + "not those of a Trove store (\(expected.joined(separator: ", "))); "
                                    + "name another table with table=")
            }
        }
    }

    /// The error for a failure while opening.
    func openingError(_ failure: SQLiteFailure) -> StoreError {
        return SQLiteStore.storeError(failure, .open, nil, store: description, path: path,
                                      busyTimeout: options.busyTimeout)
    }
}

/// The lock every open store holds on `<file>-trove-lock`: shared, or exclusive for a store in
/// exclusive mode, so that an exclusive store and any other store of the same file never run at
/// once. An open-file-description lock: it conflicts between two opens in one process too, and
/// it goes away with the process.
///
/// The lock is on a companion file, not on the database: closing a descriptor of the database
/// would drop the POSIX locks that SQLite's own connections in this process hold on it.
private final class OpenLock: Sendable {
    private let descriptor: Int32

    init(databasePath: String, exclusive: Bool, description: String) throws {
        let path = databasePath + "-trove-lock"
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            let code = errno
            throw StoreError(code == EACCES || code == EPERM || code == EROFS ? .permissionDenied : .io,
                             operation: .open, store: description,
                             message: "cannot open the lock file '\(path)': \(String(cString: strerror(code)))")
        }
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
