import CTroveSQLite
import Foundation

/// A connection of the checker's own to an SQLite store's file, through SQLite's C API, to ask
/// what the store cannot: `PRAGMA integrity_check`, and whether parts of values belong to no
/// value.
final class RawDatabase {
    private let handle: OpaquePointer
    let file: URL

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    init(_ file: URL) throws {
        self.file = file
        var opened: OpaquePointer?
        let status = sqlite3_open_v2(file.path, &opened, SQLITE_OPEN_READWRITE, nil)
        guard status == SQLITE_OK, let opened else {
            let message = opened.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(opened)
            throw Failure(description: "cannot open \(file.path) to check it: \(message) (SQLite code \(status))")
        }
        handle = opened
        sqlite3_busy_timeout(opened, 5000)
    }

    deinit { sqlite3_close(handle) }

    /// The first column of every row of `sql`, as text.
    func column(_ sql: String) throws -> [String] {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw Failure(description: "\(sql): \(String(cString: sqlite3_errmsg(handle)))")
        }
        defer { sqlite3_finalize(statement) }
        var values: [String] = []
        while true {
            let status = sqlite3_step(statement)
            if status == SQLITE_DONE { return values }
            guard status == SQLITE_ROW else {
                throw Failure(description: "\(sql): \(String(cString: sqlite3_errmsg(handle))) (SQLite code \(status))")
            }
            values.append(sqlite3_column_text(statement, 0).map { String(cString: $0) } ?? "NULL")
        }
    }

    /// What `PRAGMA integrity_check` says: `["ok"]` for an intact database.
    func integrityCheck() throws -> [String] { try column("PRAGMA integrity_check") }

    /// Whether the store's parts table exists yet (it is made with the store's table).
    func hasPartsTable(of table: String = "kv") throws -> Bool {
        try column("SELECT count(*) FROM sqlite_master WHERE name = '\(table)$segments'").first == "1"
    }

    /// The parts in the store's parts table that belong to no value: left by a streamed write
    /// that failed or whose process died, until `reclaimExpired()` takes them.
    func orphanParts(of table: String = "kv") throws -> Int {
        guard try hasPartsTable(of: table) else { return 0 }
        let count = try column("""
            SELECT count(*) FROM "\(table)$segments"
            WHERE value_id NOT IN (SELECT segments FROM "\(table)" WHERE segments IS NOT NULL)
            """).first
        return Int(count ?? "") ?? -1
    }
}
