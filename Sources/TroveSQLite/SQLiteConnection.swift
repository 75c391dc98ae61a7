import CTroveSQLite
import Foundation

/// A result code other than success from SQLite, with the connection's message.
struct SQLiteFailure: Error, CustomStringConvertible {
    /// The primary result code, such as `SQLITE_BUSY`.
    let code: Int32
    /// The extended result code, such as `SQLITE_BUSY_SNAPSHOT`.
    let extendedCode: Int32
    /// SQLite's message.
    let message: String

    init(_ extendedCode: Int32, message: String) {
        self.code = extendedCode & 0xff
        self.extendedCode = extendedCode
        self.message = message
    }

    /// Another connection holds a lock that this one needs.
    var isBusy: Bool { code == SQLITE_BUSY || code == SQLITE_LOCKED }

    var description: String { "\(message) (SQLite code \(extendedCode))" }
}

/// One SQLite connection and the statements prepared on it.
///
/// A connection is not thread-safe: every use holds ``lock``. It is opened with
/// `SQLITE_OPEN_NOMUTEX`, since that lock already serializes its users.
final class SQLiteConnection: @unchecked Sendable {
    let handle: OpaquePointer
    /// Held by whoever uses the connection.
    let lock = NSLock()
    private var statements: [String: OpaquePointer] = [:]
    /// The store's statements by slot (``SQLText/slot``), with their text.
    private var slots: [(text: String, pointer: OpaquePointer)?] = Array(repeating: nil, count: SQLiteStatements.slotCount)
    /// The monotonic time, in nanoseconds, until which the busy handler waits for another
    /// connection's lock; 0 makes a busy database fail at once with `SQLITE_BUSY`.
    var waitDeadline: UInt64 = 0
    /// The size of the write-ahead log, in pages, after this connection's last commit, when
    /// ``deferCheckpoints()`` is on.
    fileprivate(set) var logPages: Int32 = 0

    /// How a connection opens its database file.
    enum OpenMode: Sendable, Equatable {
        /// Reads and writes; creates a missing file when `creates` is set.
        case readWrite(creates: Bool)
        /// Reads only (`SQLITE_OPEN_READONLY`), with SQLite's locks and WAL index as usual.
        case readOnly
        /// Reads only, with `immutable=1`: no locks, no WAL index, no check for changes. Only
        /// for a file that cannot change while it is open (on a read-only file system).
        case immutable
    }

    /// Opens the database at `path` in `mode`.
    init(path: String, mode: OpenMode) throws(SQLiteFailure) {
        var opened: OpaquePointer?
        var flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        var name = path
        switch mode {
        case .readWrite(let creates): flags |= SQLITE_OPEN_READWRITE | (creates ? SQLITE_OPEN_CREATE : 0)
        case .readOnly: flags |= SQLITE_OPEN_READONLY
        case .immutable:
            flags |= SQLITE_OPEN_READONLY | SQLITE_OPEN_URI
            name = "file:" + Self.uriPath(path) + "?immutable=1"
        }
        _ = Self.configureSQLite
        let status = sqlite3_open_v2(name, &opened, flags, nil)
        guard status == SQLITE_OK, let opened else {
            let message = opened.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(opened)
            throw SQLiteFailure(status, message: message)
        }
        handle = opened
        sqlite3_busy_handler(opened, sqliteBusyHandler, Unmanaged.passUnretained(self).toOpaque())
        let added = trove_sqlite_add_functions(opened)
        guard added == SQLITE_OK else { throw failure(added) }
    }

    /// Done once, before the first connection opens: SQLite's count of its memory off (a
    /// global mutex on every allocation otherwise; `sqlite3_memory_used` then reports 0). If
    /// SQLite was initialized before, by other code in the process, it stays as it was.
    private static let configureSQLite: Void = { _ = trove_sqlite_stop_counting_memory() }()

    /// `path` for a `file:` URI: every byte but unreserved ones and `/` percent-encoded.
    private static func uriPath(_ path: String) -> String {
        var encoded = ""
        for byte in path.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                 UInt8(ascii: "~"), UInt8(ascii: "/"):
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                encoded += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return encoded
    }

    /// Whether SQLite opened the database for reading only (as it does, silently, with a file
    /// that the process may not write).
    var isReadOnly: Bool { sqlite3_db_readonly(handle, "main") == 1 }

    deinit {
        for statement in statements.values { sqlite3_finalize(statement) }
        sqlite3_close_v2(handle)
    }

    /// The failure for `status`, with the connection's current message.
    func failure(_ status: Int32) -> SQLiteFailure {
        SQLiteFailure(status, message: String(cString: sqlite3_errmsg(handle)))
    }

    /// Runs one or more statements that return no rows.
    func execute(_ sql: String) throws(SQLiteFailure) {
        let status = sqlite3_exec(handle, sql, nil, nil, nil)
        guard status == SQLITE_OK else { throw failure(status) }
    }

    /// The statement for `sql`, prepared once per connection and reset for reuse.
    func statement(_ sql: String) throws(SQLiteFailure) -> SQLiteStatement {
        if let prepared = statements[sql] { return SQLiteStatement(pointer: prepared, connection: self) }
        var prepared: OpaquePointer?
        let status = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &prepared, nil)
        guard status == SQLITE_OK, let prepared else { throw failure(status) }
        statements[sql] = prepared
        return SQLiteStatement(pointer: prepared, connection: self)
    }

    /// One of the store's statements, prepared once per connection and found by its slot, then
    /// reset for reuse.
    func statement(_ sql: SQLText) throws(SQLiteFailure) -> SQLiteStatement {
        // The texts are the store's own strings: comparing them usually compares their storage only.
        if sql.slot < slots.count, let cached = slots[sql.slot], cached.text == sql.text {
            return SQLiteStatement(pointer: cached.pointer, connection: self)
        }
        let statement = try statement(sql.text)
        if sql.slot >= slots.count { slots += Array(repeating: nil, count: sql.slot + 1 - slots.count) }
        slots[sql.slot] = (sql.text, statement.pointer)
        return statement
    }

    /// Runs a statement without parameters or rows, such as `BEGIN` or `COMMIT`, prepared once.
    func run(_ sql: String) throws(SQLiteFailure) {
        let statement = try statement(sql)
        defer { statement.reset() }
        _ = try statement.step()
    }

    /// Runs `body` in a write transaction (`BEGIN IMMEDIATE`), committing when it returns and
    /// rolling back when it throws.
    func writeTransaction<T>(_ body: () throws -> T) throws -> T {
        try run("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try run("COMMIT")
            return result
        } catch {
            if sqlite3_get_autocommit(handle) == 0 { _ = sqlite3_exec(handle, "ROLLBACK", nil, nil, nil) }
            throw error
        }
    }

    /// Runs `body` in a read transaction, so that every statement in it sees one snapshot: a
    /// new one, or the transaction already open on the connection (a batch, a write
    /// transaction), whose snapshot it shares.
    func readTransaction<T>(_ body: () throws -> T) throws -> T {
        guard sqlite3_get_autocommit(handle) != 0 else { return try body() }
        try run("BEGIN")
        defer { if sqlite3_get_autocommit(handle) == 0 { _ = try? run("COMMIT") } }
        return try body()
    }

    /// The number of rows the last statement changed.
    var changes: Int { Int(sqlite3_changes64(handle)) }

    /// The log size, in pages, past which ``isCheckpointDue``: SQLite's default for its automatic
    /// checkpoint.
    static let checkpointPages: Int32 = 1000

    /// Turns SQLite's automatic checkpoint off on this connection: a commit only records the
    /// log's size, and the store runs ``checkpoint()`` where it may block (a checkpoint syncs
    /// the log and the database to disk).
    func deferCheckpoints() {
        sqlite3_wal_hook(handle, sqliteLogHook, Unmanaged.passUnretained(self).toOpaque())
    }

    /// Whether the log has grown past ``checkpointPages`` since the last checkpoint.
    var isCheckpointDue: Bool { logPages >= Self.checkpointPages }

    /// Copies what it can of the log into the database (a passive checkpoint: it waits for no
    /// one), as SQLite's automatic checkpoint does. Best effort, as that one is: a failure is
    /// left for the next checkpoint.
    func checkpoint() {
        logPages = 0
        _ = sqlite3_wal_checkpoint_v2(handle, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
    }
}

/// Records the log's size after a commit, in place of SQLite's automatic checkpoint.
private let sqliteLogHook: @convention(c) (UnsafeMutableRawPointer?, OpaquePointer?, UnsafePointer<CChar>?, Int32) -> Int32 = {
    context, _, _, pages in
    guard let context else { return SQLITE_OK }
    Unmanaged<SQLiteConnection>.fromOpaque(context).takeUnretainedValue().logPages = pages
    return SQLITE_OK
}

/// Waits for another connection's lock while the connection's ``SQLiteConnection/waitDeadline``
/// has not passed: a pause that grows from 1 ms to 20 ms per attempt.
private let sqliteBusyHandler: @convention(c) (UnsafeMutableRawPointer?, Int32) -> Int32 = { context, attempts in
    guard let context else { return 0 }
    let connection = Unmanaged<SQLiteConnection>.fromOpaque(context).takeUnretainedValue()
    let deadline = connection.waitDeadline
    let now = monotonicNanoseconds()
    guard deadline != 0, now < deadline else { return 0 }
    let pause = min(UInt64(1_000_000) << UInt64(min(max(attempts, 0), 4)), 20_000_000, deadline - now)
    usleep(useconds_t(pause / 1000))
    return 1
}

/// The monotonic time, in nanoseconds, `timeout` from now: a ``SQLiteConnection/waitDeadline``.
func deadline(after timeout: Duration) -> UInt64 {
    monotonicNanoseconds() + UInt64(max(0, timeout.nanoseconds))
}

/// Nanoseconds of a monotonic clock.
func monotonicNanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}

/// A prepared statement, used under its connection's lock: bind, step, read columns, reset.
struct SQLiteStatement {
    let pointer: OpaquePointer
    let connection: SQLiteConnection

    private func check(_ status: Int32) throws(SQLiteFailure) {
        guard status == SQLITE_OK else { throw connection.failure(status) }
    }

    func bind(_ index: Int32, _ value: Int64) throws(SQLiteFailure) {
        try check(sqlite3_bind_int64(pointer, index, value))
    }

    func bind(_ index: Int32, _ value: Double) throws(SQLiteFailure) {
        try check(sqlite3_bind_double(pointer, index, value))
    }

    func bind(_ index: Int32, _ value: Double?) throws(SQLiteFailure) {
        if let value { try bind(index, value) } else { try bindNull(index) }
    }

    /// Binds text that SQLite copies: a key, a prefix.
    func bind(_ index: Int32, text: String) throws(SQLiteFailure) {
        var text = text
        let status = text.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { characters in
                bindText(index, characters)
            }
        }
        try check(status)
    }

    /// Binds `characters` as text that SQLite copies (an empty text for an empty buffer).
    private func bindText(_ index: Int32, _ characters: UnsafeBufferPointer<CChar>) -> Int32 {
        guard let start = characters.baseAddress, !characters.isEmpty else {
            return trove_sqlite_bind_text_copy(pointer, index, "", 0)
        }
        return trove_sqlite_bind_text_copy(pointer, index, start, Int32(characters.count))
    }

    /// Binds SQL `NULL`.
    func bindNull(_ index: Int32) throws(SQLiteFailure) {
        try check(sqlite3_bind_null(pointer, index))
    }

    /// Binds UTF-8 bytes as text that SQLite copies; they need not be valid UTF-8 (a bound past
    /// every key, say), since keys compare byte by byte.
    func bind(_ index: Int32, textBytes bytes: [UInt8]) throws(SQLiteFailure) {
        let status = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { characters in bindText(index, characters) }
        }
        try check(status)
    }

    /// Binds `bytes` in place for the duration of `body`, then resets the statement.
    func withBlob<T>(_ index: Int32, _ bytes: Data, _ body: () throws -> T) throws -> T {
        defer { reset() }
        return try bytes.withUnsafeBytes { buffer in
            if buffer.isEmpty {
                try check(sqlite3_bind_zeroblob(pointer, index, 0))
            } else {
                try check(trove_sqlite_bind_blob_borrowed(pointer, index, buffer.baseAddress, Int32(buffer.count)))
            }
            return try body()
        }
    }

    /// Steps once: `true` when a row is ready, `false` when the statement is done.
    func step() throws(SQLiteFailure) -> Bool {
        let status = sqlite3_step(pointer)
        if status == SQLITE_ROW { return true }
        if status == SQLITE_DONE { return false }
        throw connection.failure(status)
    }

    /// Resets the statement for its next use.
    func reset() {
        sqlite3_reset(pointer)
    }

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(pointer, column) }

    func double(_ column: Int32) -> Double { sqlite3_column_double(pointer, column) }

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(pointer, column) == SQLITE_NULL }

    func optionalDouble(_ column: Int32) -> Double? { isNull(column) ? nil : double(column) }

    func optionalInt64(_ column: Int32) -> Int64? { isNull(column) ? nil : int64(column) }

    /// The column's bytes, copied.
    func data(_ column: Int32) -> Data {
        let count = Int(sqlite3_column_bytes(pointer, column))
        guard count > 0, let bytes = sqlite3_column_blob(pointer, column) else { return Data() }
        return Data(bytes: bytes, count: count)
    }

    /// The size of the column's bytes.
    func length(_ column: Int32) -> Int { Int(sqlite3_column_bytes(pointer, column)) }

    /// Appends the column's bytes to `data`.
    func append(_ column: Int32, to data: inout Data) {
        let count = Int(sqlite3_column_bytes(pointer, column))
        guard count > 0, let bytes = sqlite3_column_blob(pointer, column) else { return }
        data.append(bytes.assumingMemoryBound(to: UInt8.self), count: count)
    }

    /// Whether the column is text that is a valid key (valid UTF-8 included), checked in C by
    /// the rules that `trove_is_key` applies in SQL.
    func isValidKey(_ column: Int32) -> Bool {
        guard sqlite3_column_type(pointer, column) == SQLITE_TEXT, let bytes = sqlite3_column_text(pointer, column) else {
            return false
        }
        return trove_is_valid_key(bytes, sqlite3_column_bytes(pointer, column)) != 0
    }

    /// The column's text as bytes, copied.
    func bytes(_ column: Int32) -> [UInt8] {
        guard let bytes = sqlite3_column_text(pointer, column) else { return [] }
        return Array(UnsafeBufferPointer(start: bytes, count: Int(sqlite3_column_bytes(pointer, column))))
    }

    /// The column's text, copied; bytes that are not valid UTF-8 become U+FFFD.
    func text(_ column: Int32) -> String {
        let count = Int(sqlite3_column_bytes(pointer, column))
        guard count > 0, let bytes = sqlite3_column_text(pointer, column) else { return "" }
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
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
