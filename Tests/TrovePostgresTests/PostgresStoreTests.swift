import Foundation
import PostgresNIO
import Testing
import Trove
@testable import TrovePostgres
import TroveTestSupport

/// What PostgresStore does beyond the contract: the table it makes, the order of its keys, the
/// plans of its listing, batches, transactions.
@Suite("PostgresStore", .enabled(if: TestServer.postgres.isAvailable, TestServer.postgres.absence))
struct PostgresStoreTests {
    /// Keys sort by their UTF-8 bytes (collation "C"), non-ASCII ones included, in listing and in
    /// paging; a prefix of non-ASCII characters selects exactly its keys.
    @Test func keysListInByteOrder() async throws {
        try await withFreshTable { store in
            let names = ["a", "Z", "~", "é", "éa", "ê", "ß", "中", "中文", "😀", "😀/x", "\u{10FFFF}", "a\u{10FFFF}", "b", "ab"]
            for name in names { try await store.set(Data(name.utf8), for: key(name)) }
            let expected = names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            var listed: [String] = []
            for try await element in store.list(.all, pageSize: 2) { listed.append(element.name) }
            #expect(listed == expected)
            var underE: [String] = []
            for try await element in store.list(try ListQuery(prefix: "é"), pageSize: 1) { underE.append(element.name) }
            #expect(underE == ["é", "éa"])
            #expect(try await store.count(withPrefix: "中") == 2)
            #expect(try await store.count(withPrefix: "a") == 3)
            #expect(try await store.count(withPrefix: "\u{10FFFF}") == 1)
            #expect(try await store.count() == names.count)
        }
    }

    /// The upper bound of a prefix is the smallest text after every text with the prefix.
    @Test func upperBoundsOfPrefixes() {
        #expect(PostgresStore.upperBound(of: "") == nil)
        #expect(PostgresStore.upperBound(of: "ab") == "ac")
        #expect(PostgresStore.upperBound(of: "a\u{7F}") == "a\u{80}")
        #expect(PostgresStore.upperBound(of: "a\u{D7FF}") == "a\u{E000}")
        #expect(PostgresStore.upperBound(of: "a\u{10FFFF}") == "b")
        #expect(PostgresStore.upperBound(of: "\u{10FFFF}\u{10FFFF}") == nil)
    }

    /// The table has the documented shape, and opening a table of another shape fails with an
    /// error that names each difference.
    @Test func tableShapeIsCreatedAndChecked() async throws {
        try await withFreshTable { store in
            let rows = try await execute("""
                SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = '\(store.table)' ORDER BY indexname
                """)
            let definitions = try rows.map { try $0.decode(String.self) }
            #expect(definitions.contains { $0.contains("UNIQUE INDEX") && $0.contains("(key)") })
            #expect(definitions.contains { $0.contains("(expires_at) WHERE (expires_at IS NOT NULL)") })
            // Opening the same table again checks it and succeeds.
            _ = try await PostgresStore(client: PostgresClients.shared, table: store.table, location: "test")
        }
        let table = freshName("bad_")
        try await execute("CREATE TABLE \(table) (key text PRIMARY KEY, value text, size integer NOT NULL, etag text NOT NULL, extra int)")
        defer { Task { _ = try? await execute("DROP TABLE IF EXISTS \(table)") } }
        let error = try await expectStoreError(.invalidArgument) {
            _ = try await PostgresStore(client: PostgresClients.shared, table: table, location: "test")
        }
        let message = error.message
        #expect(message.contains("column key has collation \"default\", not \"C\""), "\(message)")
        #expect(message.contains("column value is text, not bytea"), "\(message)")
        #expect(message.contains("column size is integer, not bigint"), "\(message)")
        #expect(message.contains("column created_at (timestamp with time zone) is missing"), "\(message)")
        #expect(message.contains("column extra"), "\(message)")
        try await execute("DROP TABLE \(table)")
    }

    /// Names that could escape the quoting, or that PostgreSQL would cut, are refused.
    @Test func badNamesAreRefused() async throws {
        for name in ["", "1kv", "kv; DROP TABLE kv", "k\"v", String(repeating: "t", count: 56)] {
            try await expectStoreError(.invalidArgument) {
                _ = try await PostgresStore(client: PostgresClients.shared, table: name, location: "test")
            }
        }
        try await expectStoreError(.invalidArgument) {
            _ = try await PostgresStore(client: PostgresClients.shared, schema: freshName("missing_"), location: "test")
        }
        try await expectStoreError(.invalidArgument) {
            _ = try await PostgresStore(client: PostgresClients.shared, table: freshName("t_"),
                                        options: PostgresStore.Options(createsTable: false), location: "test")
        }
    }

    /// A listing by prefix is a range scan of the primary key, with and without a delimiter,
    /// and a count by prefix too (`EXPLAIN` of the store's own statements on 3,000 rows).
    @Test func prefixListingUsesThePrimaryKey() async throws {
        try await withFreshTable { store in
            let writes = try (0..<3000).map { index in
                BatchWrite(try key("group\(index % 30)/item\(index)"), Data("v".utf8))
            }
            for start in stride(from: 0, to: writes.count, by: 500) {
                _ = try await store.writeBatch(Array(writes[start..<(start + 500)])).get()
            }
            try await execute("ANALYZE public.\(store.table)")
            let index = "\(store.table)_pkey"
            func plan(_ sql: String, _ bind: (inout PostgresBindings) throws -> Void) async throws -> String {
                let query = try PostgresStore.query("EXPLAIN " + sql, bind)
                let rows = try await PostgresClients.shared.query(query).collect()
                return try rows.map { try $0.decode(String.self) }.joined(separator: "\n")
            }
            let page = try await plan(store.sql.page(bounded: true, metadata: true)) { bindings in
                try bindings.append("group7/")
                try bindings.append("group70")
                try bindings.append("")
                bindings.append(Int64(101))
            }
            #expect(page.contains(index) && page.contains("key >= 'group7/'") && !page.contains("Seq Scan"), "\(page)")
            let count = try await plan(store.sql.count(bounded: true)) { bindings in
                try bindings.append("group7/")
                try bindings.append("group70")
            }
            #expect(count.contains(index) && !count.contains("Seq Scan"), "\(count)")
            let delimited = try await plan(store.sql.delimitedPage(bounded: false, metadata: false)) { bindings in
                try bindings.append("")
                try bindings.append("")
                try bindings.append("")
                bindings.append(Int32(11))
                try bindings.append("/")
                try bindings.append("0")
            }
            #expect(delimited.contains("Recursive Union") && delimited.contains(index) && !delimited.contains("Seq Scan"),
                    "\(delimited)")

            // The delimiter listing gives each of the 30 groups once, a page at a time.
            var names: [String] = []
            var cursor: ListCursor?
            var pages = 0
            repeat {
                let listed = try await store.listPage(try ListQuery(delimiter: "/"), after: cursor, limit: 7)
                names += listed.elements.map(\.name)
                cursor = listed.nextCursor
                pages += 1
            } while cursor != nil
            #expect(names == (0..<30).map { "group\($0)/" }.sorted())
            #expect(pages == 5)
        }
    }

    /// A batch whose entry fails changes nothing, and says which entry failed; unconditional
    /// batches (one statement) and conditional ones (a transaction) both.
    @Test func batchesAreAtomic() async throws {
        try await withFreshTable { store in
            let first = try await store.write(Data("1".utf8), for: "a", options: .default)
            let results = try await store.writeBatch([
                BatchWrite("b", Data("2".utf8)),
                BatchWrite("a", Data("x".utf8), options: WriteOptions(condition: .ifMatches(ETag("stale")))),
                BatchWrite("c", Data("3".utf8)),
            ])
            #expect(results.allSatisfy { if case .failure(let error) = $0 { error.code == .conditionFailed } else { false } })
            if case .failure(let error) = results[1] { #expect(error.key == "a") }
            #expect(try await store.count() == 1)
            let written = try await store.writeBatch([
                BatchWrite("b", Data("2".utf8)), BatchWrite("a", Data("y".utf8), options: WriteOptions(condition: .ifMatches(first.etag))),
                BatchWrite("b", Data("22".utf8)),
            ]).get()
            #expect(written.count == 3)
            #expect(try await store.value(for: "b") == Data("22".utf8))
            #expect(try await store.readBatch(["a", "missing", "a"]).map { $0?.value } == [Data("y".utf8), nil, Data("y".utf8)])
            let deletes = try await store.deleteBatch([BatchDelete("a"), BatchDelete("b", condition: .ifMatches(ETag("stale")))])
            #expect(deletes.allSatisfy { if case .failure = $0 { true } else { false } })
            #expect(try await store.count() == 2)
            _ = try await store.deleteBatch(["a", "b"]).get()
            #expect(try await store.count() == 0)

            // Two spellings of é, equal as Swift strings but not as keys: each keeps its own row.
            let composed = try key("caf\u{E9}"), decomposed = try key("cafe\u{301}")
            let pair = try await store.writeBatch([BatchWrite(composed, Data("1".utf8)), BatchWrite(decomposed, Data("22".utf8))]).get()
            #expect(pair.map(\.size) == [1, 2] && pair[0].etag != pair[1].etag)
            #expect(try await store.readBatch([decomposed, composed]).map { $0?.value } == [Data("22".utf8), Data("1".utf8)])
            _ = try await store.deleteBatch([composed, decomposed]).get()
            #expect(try await store.count() == 0)

            let tooLarge = try await store.writeBatch([
                BatchWrite("small", Data("s".utf8)), BatchWrite("large", Data(count: store.options.maximumValueSize + 1)),
            ])
            if case .failure(let error) = tooLarge[1] { #expect(error.code == .valueTooLarge) } else { Issue.record("large written") }
            #expect(try await store.count() == 0)
        }
    }

    /// A transaction's writes are seen by its own reads, by others all at once when it commits,
    /// and not at all when its body throws.
    @Test func transactionsCommitOrRollBack() async throws {
        try await withFreshTable { store in
            try await store.set(Data("job".utf8), for: "inbox/1")
            let moved = try await store.transaction { transaction -> Bool in
                guard let entry = try await transaction.read("inbox/1") else { return false }
                try await transaction.write(entry.value, for: "done/1")
                #expect(try await transaction.metadata(for: "done/1")?.size == 3)
                return try await transaction.delete("inbox/1")
            }
            #expect(moved)
            #expect(try await store.value(for: "inbox/1") == nil)
            #expect(try await store.value(for: "done/1") == Data("job".utf8))

            struct Abandon: Error {}
            await #expect(throws: Abandon.self) {
                try await store.transaction { transaction in
                    try await transaction.write(Data("new".utf8), for: "done/2")
                    try await transaction.delete("done/1")
                    throw Abandon()
                }
            }
            #expect(try await store.value(for: "done/1") == Data("job".utf8))
            #expect(try await store.value(for: "done/2") == nil)

            let error = try await expectStoreError(.conditionFailed) {
                try await store.transaction { transaction in
                    try await transaction.write(Data("1".utf8), for: "x")
                    try await transaction.write(Data("2".utf8), for: "done/1", condition: .ifAbsent)
                }
            }
            #expect(error.key == "done/1")
            #expect(try await store.value(for: "x") == nil)
        }
    }

    /// A value over the cap fails before anything is sent, whole or streamed.
    @Test func valuesOverTheCapAreRefused() async throws {
        try await withFreshTable(options: PostgresStore.Options(maximumValueSize: 1000)) { store in
            try await store.set(Data(count: 1000), for: "fits")
            let error = try await expectStoreError(.valueTooLarge) { try await store.set(Data(count: 1001), for: "big") }
            #expect(error.message.contains("1001 bytes") == true)
            let chunks = AsyncStream<Data> { continuation in
                for _ in 0..<5 { continuation.yield(Data(count: 300)) }
                continuation.finish()
            }
            try await expectStoreError(.valueTooLarge) { _ = try await store.write(contentsOf: chunks, for: "big", options: .default) }
            #expect(try await store.value(for: "big") == nil)
        }
    }

    /// The store's statements are prepared once per connection and then run by name: after a
    /// few calls on one connection, the server holds each as a prepared statement of that
    /// session, once.
    @Test func statementsArePreparedOncePerConnection() async throws {
        try await withFreshTable { store in
            try await PostgresClients.shared.withConnection { connection in
                for round in 0..<3 {
                    _ = try await store.write(Data("\(round)".utf8), for: "k", options: .default, on: connection)
                    _ = try await store.read("k", on: connection)
                    _ = try await store.read("missing", on: connection)
                }
                let rows = try await connection.query(
                    PostgresQuery(unsafeSQL: "SELECT name, statement FROM pg_prepared_statements WHERE statement LIKE '%\(store.table)%'"),
                    logger: store.logger
                ).collect()
                let prepared = try rows.map { try $0.decode((String, String).self) }
                #expect(prepared.count == 2, "\(prepared)")
                #expect(Set(prepared.map(\.0)) == [PostgresStatement.name(for: store.sql.write), PostgresStatement.name(for: store.sql.read)])
            }
        }
    }

    /// ETags change on every write, even of the same bytes; creation dates stay across
    /// overwrites and come from the server's clock.
    @Test func etagsAndDates() async throws {
        try await withFreshTable { store in
            let first = try await store.write(Data("same".utf8), for: "k", options: .default)
            let second = try await store.write(Data("same".utf8), for: "k", options: .default)
            #expect(first.etag != second.etag)
            #expect(second.creationDate == first.creationDate)
            #expect(second.modificationDate >= first.modificationDate)
            let server = try await execute("SELECT now()").first!.decode(Date.self)
            #expect(abs(server.timeIntervalSince(second.modificationDate)) < 60)
        }
    }
}
