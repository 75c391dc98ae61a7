import CTroveSQLite
import Foundation
import Trove

/// Opening a store's connections and checking its tables.
struct Setup {
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
                let others = try (1..<readerCount).map { try openReader(mode, scans: $0 == readerCount - 1) }
                return Opened(lock: lock, writer: nil, readers: [first] + others, mode: mode)
            } catch let failure as SQLiteFailure {
                throw openingError(failure)
            }
        }
        // Checked before the lock file is made, so that a refused open leaves nothing behind.
        if !options.createsFile, !FileManager.default.fileExists(atPath: path) {
            throw StoreError(.invalidArgument, operation: .open, store: description,
                             message: "'\(path)' is not an existing database file, and a store opened with create=false "
                                + "does not create it")
        }
        let lock = try OpenLock(databasePath: path, exclusive: options.isExclusive, description: description)
        do {
            let mode = SQLiteConnection.OpenMode.readWrite(creates: false)
            let writer = try openWriter(sql: sql)
            let readers = try (0..<readerCount).map { try openReader(mode, scans: readerCount >= 2 && $0 == readerCount - 1) }
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

    /// A reader; with `scans`, the one for listings and counts, which maps none of the file.
    func openReader(_ mode: SQLiteConnection.OpenMode, scans: Bool = false) throws -> SQLiteConnection {
        let connection = try SQLiteConnection(path: path, mode: mode)
        // Its settings may need to read the file, which another process may hold locked for a
        // moment (switching it to WAL, or recovering its log).
        connection.waitDeadline = deadline(after: options.busyTimeout)
        defer { connection.waitDeadline = 0 }
        try configure(connection)
        if scans { try connection.execute("PRAGMA mmap_size=0;") }
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
