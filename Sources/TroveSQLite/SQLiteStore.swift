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
/// timeout, and moves to a small pool of dedicated threads (``Options/blockingPool``, by default
/// `BlockingPool.sqliteStores`, apart from the file stores' pool), where it waits up to
/// ``Options/busyTimeout``, when its connection is in use or the database is locked. Every call
/// that can block for long runs on that pool from the start: opening the store (which can wait
/// for other processes' locks), every call on a value over 1 MiB, batches of over 64 keys, every
/// write with ``Synchronization/full`` (each commit syncs the log to disk), and the checkpoints
/// that copy the write-ahead log into the database (SQLite's automatic checkpoint is off; the
/// store runs one on the pool after a write that took the log past 1,000 pages). So Swift's
/// cooperative threads never wait for another process or for the disk.
///
/// **Exclusive mode** (``Options/isExclusive``): while the store is open, no other store of the
/// same file opens, in this process or another; it fails with `StoreError.Code.unavailable`
/// naming the file. Every store holds a lock on a companion file, `<file>-trove-lock` (shared, or
/// exclusive in exclusive mode), beside SQLite's own `-wal` and `-shm`; programs other than Trove
/// do not see that lock.
///
/// **Read-only mode** (``Options/accessMode`` ``AccessMode/readOnly``, URL option
/// `mode=readonly`): for a file that the process may only read, or that lies on a read-only
/// file system. See ``AccessMode/readOnly`` for what it does and does not touch.
///
/// Capabilities: retention, persistence, conditional writes and deletes, expiration (and its
/// renewal on read), modification and creation dates, streaming, a new ETag on every write,
/// atomic batches, and sharing across processes (not in exclusive mode); a read-only store has
/// no conditional writes or deletes and no expiration, as `ReadOnlyStore` (module `Trove`).
public final class SQLiteStore: KeyValueStore {
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
    let writer: SQLiteConnection?
    let readers: [SQLiteConnection]
    /// How the store's connections open the file (a streamed read opens one of its own).
    let connectionMode: SQLiteConnection.OpenMode
    let nextReader = Atomic<Int>(0)
    private let instance: UInt64
    private let counter = Atomic<UInt64>(0)
    private let writesSincePurge = Atomic<Int>(0)
    private let openLock: OpenLock?

    /// Opens the store in table `table` of the database at `path`, creating the file, the
    /// table and its companions as needed.
    ///
    ///     let store = try await SQLiteStore(path: URL(fileURLWithPath: "data.db"))
    ///
    /// Opening runs on ``Options/blockingPool``, not on the calling task: it may wait up to
    /// ``Options/busyTimeout`` for other processes that hold the file's locks (switching it to
    /// WAL, recovering its log, creating its tables).
    ///
    /// - Parameters:
    ///   - path: The database file.
    ///   - table: The table's name: a letter or `_`, then up to 63 letters, digits or `_`.
    ///     Defaults to `kv`.
    ///   - options: How to open it.
    ///   - clock: The clock that decides expiry. Defaults to `WallClock.system`.
    /// - Throws: `StoreError` with code `StoreError.Code.invalidArgument` for a bad table
    ///   name, a file that is not an SQLite database, or a table of that name with another
    ///   shape; `StoreError.Code.unavailable` when the file is held exclusively by another
    ///   store (or this one asks for exclusivity while another holds the file);
    ///   `StoreError.Code.readOnly` or `StoreError.Code.permissionDenied` when the file
    ///   cannot be written (the message suggests ``AccessMode/readOnly``), and in read-only mode
    ///   when it cannot be read (see ``AccessMode/readOnly``); `StoreError.Code.io` when it
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
        let opened = try await options.blockingPool.run { try setup.open(sql: sql) }
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

    /// Retention, persistence, conditional writes and deletes, expiration and its renewal on
    /// read, modification and creation dates, streaming, a new ETag on every write, atomic
    /// batches, and sharing across processes unless the store is exclusive; without conditional
    /// writes and deletes, expiration and its renewal when the store is read-only.
    public var capabilities: StoreCapabilities {
        var capabilities: StoreCapabilities = [.persistence, .conditionalWrites, .conditionalDeletes, .expiration,
                                               .creationDate, .streaming, .retention, .distinctETagPerWrite, .atomicBatches,
                                               .expiryRefreshOnRead, .modificationDate]
        if !options.isExclusive { capabilities.insert(.sharedAcrossProcesses) }
        if options.accessMode == .readOnly { capabilities.subtract([.conditionalWrites, .conditionalDeletes, .expiration, .expiryRefreshOnRead]) }
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
}
