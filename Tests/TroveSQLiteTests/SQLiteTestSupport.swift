import CTroveSQLite
import Foundation
import Testing
import Trove
import TroveSQLite
import TroveTestSupport
import TroveTestSupport

/// A connection of the test's own to a database file, through SQLite's C API: to look at what a
/// store keeps, or to change it behind the store's back as another program would.
final class RawDatabase {
    private let handle: OpaquePointer

    /// Opens `file` for reading and writing; it must exist unless `creates` is set.
    init(_ file: URL, creates: Bool = false) throws {
        var opened: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | (creates ? SQLITE_OPEN_CREATE : 0)
        let status = sqlite3_open_v2(file.path, &opened, flags, nil)
        guard status == SQLITE_OK, let opened else {
            let message = opened.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(opened)
            throw TestFailure("cannot open \(file.lastPathComponent): \(message) (SQLite code \(status))")
        }
        handle = opened
        sqlite3_busy_timeout(opened, 5000)
    }

    deinit { sqlite3_close(handle) }

    /// Runs statements that return no rows.
    func execute(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(handle, sql, nil, nil, &message)
        defer { sqlite3_free(message) }
        guard status == SQLITE_OK else {
            throw TestFailure("\(sql): \(message.map { String(cString: $0) } ?? "") (SQLite code \(status))")
        }
    }

    /// The first column of every row of `sql`, as text.
    func column(_ sql: String) throws -> [String] {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw TestFailure("\(sql): \(String(cString: sqlite3_errmsg(handle)))")
        }
        defer { sqlite3_finalize(statement) }
        var values: [String] = []
        while true {
            let status = sqlite3_step(statement)
            if status == SQLITE_DONE { return values }
            guard status == SQLITE_ROW else {
                throw TestFailure("\(sql): \(String(cString: sqlite3_errmsg(handle))) (SQLite code \(status))")
            }
            values.append(sqlite3_column_text(statement, 0).map { String(cString: $0) } ?? "NULL")
        }
    }

    /// The number in the first column of the first row of `sql`, such as a `count(*)`.
    func integer(_ sql: String) throws -> Int {
        guard let first = try column(sql).first, let value = Int(first) else {
            throw TestFailure("\(sql) returned no number")
        }
        return value
    }

    /// What `PRAGMA integrity_check` says: `["ok"]` for an intact database.
    func integrityCheck() throws -> [String] { try column("PRAGMA integrity_check") }

    /// The parts in table `segments` that belong to no row of table `table`: left behind by a
    /// write that failed or a process that died, and not yet reclaimed.
    func orphanParts(of table: String = "kv") throws -> Int {
        try integer("""
            SELECT count(*) FROM "\(table)$segments"
            WHERE value_id NOT IN (SELECT segments FROM "\(table)" WHERE segments IS NOT NULL)
            """)
    }
}

/// A `StoreKey` made at run time.
func key(_ text: String) throws -> StoreKey { try StoreKey(validating: text) }

/// The `sqlite:` URL of an absolute database file, with `query` (such as `synchronous=full`).
func sqliteURL(_ file: URL, query: String? = nil) -> String {
    "sqlite://" + file.path + (query.map { "?" + $0 } ?? "")
}
