import Foundation
import Testing
import Trove
import TroveSQLite
import TroveTestSupport

/// Files and tables that are not a store's: each refused with a typed error that names what is
/// wrong, and nothing in them changed; rows that another program wrote under names that are not
/// keys are passed over.
@Suite("SQLiteStore: bad input")
struct SQLiteBadInputTests {
    @Test func aFileThatIsNotADatabaseIsRefusedAndLeftAlone() async throws {
        try await withScratchDirectory { directory in
            let file = directory.appendingPathComponent("notes.db")
            let text = Data(String(repeating: "Not a database: just some notes.\n", count: 125).utf8).prefix(4096)
            try text.write(to: file)

            let error = try await expectStoreError(.invalidArgument) { _ = try await SQLiteStore(path: file) }
            #expect(error.message.contains(file.path) == true, "the message must name the file: \(error.message)")
            #expect(error.operation == .open)
            let viaURL = try await expectStoreError(.invalidArgument) {
                try await StoreOpener.withSQLite.withStore(sqliteURL(file)) { _ in }
            }
            #expect(viaURL.message.contains(file.path) == true)

            #expect(try Data(contentsOf: file) == text, "the file's bytes changed")
            #expect(!FileManager.default.fileExists(atPath: file.path + "-wal"))
        }
    }

    /// Tables of a store's names with other columns, each with one row of another program.
    static let foreignTables: [(setup: String, table: String)] = [
        ("CREATE TABLE kv(a, b); INSERT INTO kv VALUES ('x', 'y')", "kv"),
        ("CREATE TABLE kv(key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL) WITHOUT ROWID; INSERT INTO kv VALUES ('x', 'y')", "kv"),
        (#"CREATE TABLE "kv$segments"(a, b); INSERT INTO "kv$segments" VALUES ('x', 'y')"#, "kv$segments"),
    ]

    @Test("a table of another shape is refused and keeps its rows", arguments: foreignTables)
    func aTableOfAnotherShapeIsRefused(_ setup: String, _ table: String) async throws {
        try await withScratchDirectory { directory in
            let file = directory.appendingPathComponent("other.db")
            try RawDatabase(file, creates: true).execute(setup)

            let error = try await expectStoreError(.invalidArgument) { _ = try await SQLiteStore(path: file) }
            #expect(error.message.contains(file.path) == true, "the message must name the file: \(error.message)")
            #expect(error.message.contains("'\(table)'") == true, "the message must name the table: \(error.message)")

            let raw = try RawDatabase(file)
            #expect(try raw.column(#"SELECT * FROM "\#(table)""#) == ["x"], "the other program's row is gone")
            let names = try raw.column("SELECT name FROM sqlite_master")
            #expect(names == [table], "the refused open left tables or indexes behind")

            // Another table of the same file holds a store.
            let store = try await SQLiteStore(path: file, table: "trove")
            try await store.set(Data("v".utf8), for: "k")
            #expect(try await store["k"] == Data("v".utf8))
        }
    }

    static let invalidTableNames = ["kv; DROP", "", String(repeating: "t", count: 65), "1kv", "kv$segments", "kv-1", "clé"]

    @Test("an invalid table name is refused before the file is touched", arguments: invalidTableNames)
    func anInvalidTableNameIsRefused(_ table: String) async throws {
        try await withScratchDirectory { directory in
            let file = directory.appendingPathComponent("store.db")
            let error = try await expectStoreError(.invalidArgument) { _ = try await SQLiteStore(path: file, table: table) }
            #expect(error.message.contains("'\(table)'") == true, "the message must name the table: \(error.message)")
            let created = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            #expect(created.isEmpty, "files were created")
        }
    }

    /// Names, as SQL expressions, that another program may write and that are not keys: each
    /// breaks one rule of `StoreKey`, or is not valid UTF-8.
    static let foreignNames = [
        "'a//b'", "'/a'", "'b/'", "'a/./c'", "'c/../d'", "''", "'.'", "'..'", "'c/.'", "'c/..'",
        "'a/' || char(1)", "'a/' || char(31)", "'a/' || char(127)", "'a/' || char(128)", "'a/' || char(159)",
        "CAST(x'612f00' AS TEXT)", "CAST(x'612f6200' AS TEXT)",                       // NUL
        "CAST(x'612fff' AS TEXT)", "CAST(x'612fc0af' AS TEXT)", "CAST(x'612feda080' AS TEXT)",  // not UTF-8
        "CAST(x'612ff48f' AS TEXT)", "CAST(x'612ff4908080' AS TEXT)",                  // cut short, past U+10FFFF
        "'a/' || replace(hex(zeroblob(512)), '0', 'x') || 'y'",                          // 1,027 bytes
        "'a/' || replace(hex(zeroblob(511)), '0', 'x') || 'é'",                          // 1,026 bytes
    ]

    /// Names, as SQL expressions, that another program may write and that are keys.
    static let foreignKeys: [(sql: String, key: String)] = [
        ("'a/' || char(160)", "a/\u{A0}"), ("'a/.x'", "a/.x"), ("'a/...'", "a/..."), ("'a/é'", "a/é"),
        ("'a/' || replace(hex(zeroblob(511)), '0', 'x')", "a/" + String(repeating: "x", count: 1022)),
        ("'e/' || char(1114111)", "e/\u{10FFFF}"),
    ]

    @Test func rowsUnderNamesThatAreNotKeysArePassedOverAndNotCounted() async throws {
        try await withScratchDirectory { directory in
            let file = directory.appendingPathComponent("store.db")
            let store = try await SQLiteStore(path: file)
            for name in ["a", "a/b", "b", "c/d"] { try await store.set(Data(name.utf8), for: try key(name)) }
            #expect(try await store.count() == 4)
            let columns = "key, value, segments, size, etag_high, etag_low, created_at, modified_at, expires_at"
            for name in Self.foreignNames + Self.foreignKeys.map(\.sql) {
                try RawDatabase(file).execute("INSERT INTO kv (\(columns)) VALUES (\(name), x'00', NULL, 1, 1, 2, 0, 0, NULL)")
            }
            let stored = try RawDatabase(file).integer("SELECT count(*) FROM kv")
            #expect(stored == 4 + Self.foreignNames.count + Self.foreignKeys.count, "some foreign rows were not written")

            let keys = (["a", "a/b", "b", "c/d"] + Self.foreignKeys.map(\.key)).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            for pageSize in [1, 2, 1000] {
                var listed: [String] = []
                for try await element in store.list(.all, pageSize: pageSize) { listed.append(element.name) }
                #expect(listed == keys, "pages of \(pageSize)")
                var levels: [String] = []
                for try await element in store.list(try ListQuery(delimiter: "/"), pageSize: pageSize) { levels.append(element.name) }
                #expect(levels == ["a", "a/", "b", "c/", "e/"], "pages of \(pageSize)")
                var under: [String] = []
                for try await element in store.list(try ListQuery(prefix: "a/"), pageSize: pageSize) { under.append(element.name) }
                #expect(under == keys.filter { $0.hasPrefix("a/") }, "pages of \(pageSize)")
            }
            // Counting agrees with listing, under every prefix.
            #expect(try await store.count() == keys.count)
            for prefix in ["a", "a/", "b", "c", "c/", "e/", "z"] {
                #expect(try await store.count(withPrefix: prefix) == keys.filter { $0.hasPrefix(prefix) }.count, "prefix \(prefix)")
            }
            #expect(try await store["a/b"] == Data("a/b".utf8))
            #expect(try await store["a/é"] == Data([0]))
        }
    }
}
