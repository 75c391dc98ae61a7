import CSQLiteBench
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The raw engine under `SQLiteStore`: the system SQLite library called directly from a bare
/// loop, running the statements `SQLiteStore` runs (the same SQL text as in
/// `Sources/TroveSQLite/SQLiteStatements.swift`), with no key validation, no metadata decoding,
/// no locks and no async calls. `SQLiteStore`'s overhead is measured against it.
///
/// One connection, opened like the store's (`SQLITE_OPEN_NOMUTEX`) and with the store's
/// pragmas: `journal_mode=WAL`, `synchronous=NORMAL`, `mmap_size=268435456`,
/// `temp_store=MEMORY`. Every statement is prepared once, when the database is opened.
///
/// - put: the store's unconditional write, an UPSERT with `RETURNING created_at`, in a
///   transaction of its own (autocommit); the value bound in place, the ETag a counter;
/// - batch put: the same UPSERT for every key between `BEGIN IMMEDIATE` and `COMMIT`;
/// - get: the store's `SELECT value, segments, size, … WHERE key = ?1 AND (expires_at IS NULL
///   OR expires_at > ?2)`, the value copied into a new buffer;
/// - list: the store's page query (a keyset range scan in key order, `LIMIT`), pages of 1,000;
/// - delete: the store's `DELETE … RETURNING expires_at`, in a transaction of its own.
///
/// The table has the columns of the store's key table. ``Layout/withoutRowID`` is the store's
/// own table (`WITHOUT ROWID`), where it keeps values of up to 4 KiB; for larger values, which
/// the store keeps in parts in a companion table, ``Layout/rowid`` is the plain rowid table a
/// program would use to keep them inline (SQLite stores a large value of a `WITHOUT ROWID`
/// table in the primary-key b-tree itself, which is what the store avoids).
public final class RawSQLite: @unchecked Sendable { // used by one thread at a time
    /// The table's layout.
    public enum Layout: String, Sendable {
        /// `CREATE TABLE kv (...) WITHOUT ROWID`: the store's key table.
        case withoutRowID = "without rowid"
        /// `CREATE TABLE kv (...)`: a plain rowid table, the value in the row.
        case rowid
    }

    /// The database file.
    public let path: String
    /// The table's layout.
    public let layout: Layout
    private let handle: OpaquePointer
    private let writeStatement: OpaquePointer
    private let selectStatement: OpaquePointer
    private let listStatement: OpaquePointer
    private let deleteStatement: OpaquePointer
    private let beginStatement: OpaquePointer
    private let commitStatement: OpaquePointer
    private var counter: Int64 = 0
    /// The creation date the last put returned, as the store reads it.
    public private(set) var createdAt: Double = 0

    /// The page size of ``list(pageSize:)`` by default: that of `KeyValueStore.list()`.
    public static let defaultPageSize = 1000

    /// The columns of the store's key table, in its order.
    static let columns = """
        key TEXT PRIMARY KEY NOT NULL,
            value BLOB NOT NULL,
            segments INTEGER,
            size INTEGER NOT NULL,
            etag_high INTEGER NOT NULL,
            etag_low INTEGER NOT NULL,
            created_at REAL NOT NULL,
            modified_at REAL NOT NULL,
            expires_at REAL
        """

    // The store's statements for the table "kv" (SQLiteStatements.writeAlways, .selectEntry,
    // .listPage, .deleteAlways), character for character.
    // ?1 key, ?2 value, ?3 segments, ?4 size, ?5 etag_high, ?6 etag_low, ?7 now, ?8 expires_at.
    public static let writeAlways = """
        INSERT INTO "kv" (key, value, segments, size, etag_high, etag_low, created_at, modified_at, expires_at)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8)
        ON CONFLICT (key) DO UPDATE SET value = excluded.value, segments = excluded.segments,
            size = excluded.size, etag_high = excluded.etag_high, etag_low = excluded.etag_low,
            created_at = CASE WHEN expires_at IS NOT NULL AND expires_at <= ?7 THEN ?7 ELSE created_at END,
            modified_at = ?7, expires_at = excluded.expires_at
        """ + " RETURNING created_at"
    // ?1 key, ?2 now.
    public static let selectEntry = "SELECT value, segments, size, etag_high, etag_low, created_at, modified_at, expires_at FROM \"kv\" WHERE key = ?1 AND (expires_at IS NULL OR expires_at > ?2)"
    // ?1 exclusive lower bound, ?2 prefix, ?3 exclusive upper bound, ?4 now, ?5 limit.
    public static let listPage = """
        SELECT key, segments, size, etag_high, etag_low, created_at, modified_at, expires_at FROM "kv"
        WHERE key > ?1 AND key >= ?2 AND key < ?3 AND (expires_at IS NULL OR expires_at > ?4)
        ORDER BY key LIMIT ?5
        """
    // ?1 key.
    public static let deleteAlways = "DELETE FROM \"kv\" WHERE key = ?1 RETURNING expires_at"

    /// Opens the database at `path`, creating it and the table `kv` in `layout` if they are missing.
    public init(path: String, layout: Layout) throws(WorkloadError) {
        var opened: OpaquePointer?
        let status = sqlite3_open_v2(path, &opened, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil)
        guard status == SQLITE_OK, let opened else {
            let message = opened.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(opened)
            throw WorkloadError("sqlite3_open_v2 \(path): \(message) (SQLite code \(status))")
        }
        var prepared: [OpaquePointer] = []
        do throws(WorkloadError) {
            try Self.execute(opened, """
                PRAGMA journal_mode=WAL;
                PRAGMA synchronous=NORMAL;
                PRAGMA mmap_size=268435456;
                PRAGMA temp_store=MEMORY;
                CREATE TABLE IF NOT EXISTS "kv" (
                    \(Self.columns)
                )\(layout == .withoutRowID ? " WITHOUT ROWID" : "");
                """)
            for sql in [Self.writeAlways, Self.selectEntry, Self.listPage, Self.deleteAlways, "BEGIN IMMEDIATE", "COMMIT"] {
                prepared.append(try Self.prepare(opened, sql))
            }
        } catch {
            for statement in prepared { sqlite3_finalize(statement) }
            sqlite3_close_v2(opened)
            throw error
        }
        self.path = path
        self.layout = layout
        self.handle = opened
        (writeStatement, selectStatement, listStatement, deleteStatement, beginStatement, commitStatement)
            = (prepared[0], prepared[1], prepared[2], prepared[3], prepared[4], prepared[5])
    }

    deinit {
        for statement in [writeStatement, selectStatement, listStatement, deleteStatement, beginStatement, commitStatement] {
            sqlite3_finalize(statement)
        }
        sqlite3_close_v2(handle)
    }

    /// Writes `value` under `name` (in a transaction of its own unless one is open).
    public func put(_ name: String, _ value: UnsafeRawBufferPointer) throws(WorkloadError) {
        counter += 1
        let statement = writeStatement
        defer { sqlite3_reset(statement) }
        try bind(statement, 1, text: name)
        let bound = value.isEmpty
            ? sqlite3_bind_zeroblob(statement, 2, 0)
            : bench_sqlite_bind_blob_borrowed(statement, 2, value.baseAddress, Int32(value.count))
        try check(bound, "bind", name)
        sqlite3_bind_null(statement, 3)
        sqlite3_bind_int64(statement, 4, Int64(value.count))
        sqlite3_bind_int64(statement, 5, 1)
        sqlite3_bind_int64(statement, 6, counter)
        sqlite3_bind_double(statement, 7, Self.now())
        sqlite3_bind_null(statement, 8)
        let stepped = sqlite3_step(statement)
        guard stepped == SQLITE_ROW else { throw failure(stepped, "put", name) }
        createdAt = sqlite3_column_double(statement, 0)
        // Step to the end: SQLite runs its WAL hook (the automatic checkpoint) when a statement
        // returns SQLITE_DONE, not when it is reset.
        let done = sqlite3_step(statement)
        guard done == SQLITE_DONE else { throw failure(done, "put", name) }
    }

    /// Reads the value of `name` into a new buffer, or returns `nil` if there is none.
    public func get(_ name: String) throws(WorkloadError) -> [UInt8]? {
        let statement = selectStatement
        defer { sqlite3_reset(statement) }
        try bind(statement, 1, text: name)
        sqlite3_bind_double(statement, 2, Self.now())
        let stepped = sqlite3_step(statement)
        if stepped == SQLITE_DONE { return nil }
        guard stepped == SQLITE_ROW else { throw failure(stepped, "get", name) }
        let count = Int(sqlite3_column_bytes(statement, 0))
        guard count > 0, let bytes = sqlite3_column_blob(statement, 0) else { return [] }
        return [UInt8](UnsafeRawBufferPointer(start: bytes, count: count))
    }

    /// Every key, in key order, read in pages of `pageSize` rows.
    public func list(pageSize: Int = RawSQLite.defaultPageSize) throws(WorkloadError) -> [String] {
        let statement = listStatement
        defer { sqlite3_reset(statement) }
        var names: [String] = []
        var lower: [UInt8] = []
        let upper: [UInt8] = [0xF8] // past every byte of UTF-8 text
        while true {
            sqlite3_reset(statement)
            try bind(statement, 1, bytes: lower)
            try bind(statement, 2, text: "")
            try bind(statement, 3, bytes: upper)
            sqlite3_bind_double(statement, 4, Self.now())
            sqlite3_bind_int64(statement, 5, Int64(pageSize))
            var rows = 0
            while true {
                let stepped = sqlite3_step(statement)
                if stepped == SQLITE_DONE { break }
                guard stepped == SQLITE_ROW else { throw failure(stepped, "list", "page") }
                let count = Int(sqlite3_column_bytes(statement, 0))
                let text = UnsafeBufferPointer(start: sqlite3_column_text(statement, 0), count: count)
                names.append(String(decoding: text, as: UTF8.self))
                rows += 1
                if rows == pageSize { lower = Array(text) }
            }
            if rows < pageSize { return names }
        }
    }

    /// Deletes `name` (in a transaction of its own unless one is open); returns whether it
    /// was there.
    @discardableResult
    public func delete(_ name: String) throws(WorkloadError) -> Bool {
        let statement = deleteStatement
        defer { sqlite3_reset(statement) }
        try bind(statement, 1, text: name)
        var found = false
        while true {
            let stepped = sqlite3_step(statement)
            if stepped == SQLITE_DONE { return found }
            guard stepped == SQLITE_ROW else { throw failure(stepped, "delete", name) }
            found = true
        }
    }

    /// Runs `body` in one write transaction: `BEGIN IMMEDIATE`, then `COMMIT`.
    public func inTransaction(_ body: () throws -> Void) throws {
        try run(beginStatement, "BEGIN IMMEDIATE")
        do {
            try body()
        } catch {
            _ = sqlite3_exec(handle, "ROLLBACK", nil, nil, nil)
            throw error
        }
        try run(commitStatement, "COMMIT")
    }

    private func run(_ statement: OpaquePointer, _ what: String) throws(WorkloadError) {
        defer { sqlite3_reset(statement) }
        let stepped = sqlite3_step(statement)
        guard stepped == SQLITE_DONE else { throw failure(stepped, what, path) }
    }

    /// Now, as the store keeps dates: seconds since 2001-01-01 (Foundation's reference date).
    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Double(time.tv_sec - 978_307_200) + Double(time.tv_nsec) / 1e9
    }

    /// Binds `text` as text that SQLite copies, as the store does.
    private func bind(_ statement: OpaquePointer, _ index: Int32, text: String) throws(WorkloadError) {
        var text = text
        let status = text.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { characters in
                Self.bindText(statement, index, characters)
            }
        }
        try check(status, "bind", text)
    }

    /// Binds UTF-8 bytes as text that SQLite copies.
    private func bind(_ statement: OpaquePointer, _ index: Int32, bytes: [UInt8]) throws(WorkloadError) {
        let status = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { characters in
                Self.bindText(statement, index, characters)
            }
        }
        try check(status, "bind", "bound")
    }

    private static func bindText(_ statement: OpaquePointer, _ index: Int32, _ characters: UnsafeBufferPointer<CChar>) -> Int32 {
        guard let start = characters.baseAddress, !characters.isEmpty else {
            return bench_sqlite_bind_text_copy(statement, index, "", 0)
        }
        return bench_sqlite_bind_text_copy(statement, index, start, Int32(characters.count))
    }

    private func check(_ status: Int32, _ call: String, _ subject: String) throws(WorkloadError) {
        guard status == SQLITE_OK else { throw failure(status, call, subject) }
    }

    private func failure(_ status: Int32, _ call: String, _ subject: String) -> WorkloadError {
        WorkloadError("sqlite \(call) \(subject): \(String(cString: sqlite3_errmsg(handle))) (SQLite code \(status))")
    }

    private static func execute(_ handle: OpaquePointer, _ sql: String) throws(WorkloadError) {
        let status = sqlite3_exec(handle, sql, nil, nil, nil)
        guard status == SQLITE_OK else {
            throw WorkloadError("sqlite3_exec: \(String(cString: sqlite3_errmsg(handle))) (SQLite code \(status))")
        }
    }

    private static func prepare(_ handle: OpaquePointer, _ sql: String) throws(WorkloadError) -> OpaquePointer {
        var prepared: OpaquePointer?
        let status = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &prepared, nil)
        guard status == SQLITE_OK, let prepared else {
            throw WorkloadError("sqlite3_prepare_v3: \(String(cString: sqlite3_errmsg(handle))) (SQLite code \(status))")
        }
        return prepared
    }
}

extension RawPhases {
    /// The layout the raw SQLite loop uses for `workload`: the store's own `WITHOUT ROWID`
    /// table for values it keeps in the row (up to 4 KiB), else a plain rowid table.
    public static func sqliteLayout(for workload: Workload) -> RawSQLite.Layout {
        workload.valueByteCount <= 4096 ? .withoutRowID : .rowid
    }

    /// Writes every key of `workload`, each in a transaction of its own.
    public static func put(_ workload: Workload, into database: RawSQLite) throws {
        try workload.value.withUnsafeBytes { bytes in
            for name in workload.keyNames { try database.put(name, bytes) }
        }
    }

    /// Writes every key of `workload` in one transaction.
    public static func batchPut(_ workload: Workload, into database: RawSQLite) throws {
        try database.inTransaction {
            try workload.value.withUnsafeBytes { bytes in
                for name in workload.keyNames { try database.put(name, bytes) }
            }
        }
    }

    /// Reads every key in the workload's read order; returns the bytes read.
    @discardableResult
    public static func get(_ workload: Workload, from database: RawSQLite) throws -> Int {
        var total = 0
        for index in workload.readOrder {
            guard let bytes = try database.get(workload.keyNames[index]) else {
                throw WorkloadError("raw sqlite get: \(workload.keyNames[index]) is missing")
            }
            total += bytes.count
        }
        try check(total, equals: workload.keyCount * workload.valueByteCount, "raw sqlite get: bytes read")
        return total
    }

    /// Lists every key in pages of 1,000; returns how many there were.
    @discardableResult
    public static func list(_ workload: Workload, in database: RawSQLite) throws -> Int {
        let count = try database.list().count
        try check(count, equals: workload.keyCount, "raw sqlite list: keys listed")
        return count
    }

    /// Deletes every key, each in a transaction of its own.
    public static func delete(_ workload: Workload, from database: RawSQLite) throws {
        for name in workload.keyNames {
            guard try database.delete(name) else { throw WorkloadError("raw sqlite delete: \(name) was missing") }
        }
    }
}
