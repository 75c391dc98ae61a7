import Foundation
import PostgresNIO
import Testing
import Trove
@testable import TrovePostgres
import TroveTestSupport

/// Bad URLs, logins, databases and slow statements: each a typed error that says what is wrong,
/// and never shows a password.
@Suite("PostgresStore: bad input", .enabled(if: TestServer.postgres.isAvailable, TestServer.postgres.absence))
struct PostgresBadInputTests {
    /// The test server's URL with `change` applied to its parts.
    func url(_ change: (inout URLComponents) -> Void) throws -> String {
        var components = URLComponents(string: try TestServer.postgres.require())!
        change(&components)
        return components.string!
    }

    func open(_ url: String) async throws {
        try await StoreOpener.standard.addingPostgres().withStore(url) { store in _ = try await store.count() }
    }

    @Test func wrongPasswordIsPermissionDeniedWithoutThePassword() async throws {
        let secret = "wrong-\(freshName("pw"))"
        let error = try await expectStoreError(.permissionDenied) { try await open(try url { $0.password = secret }) }
        let text = error.debugDescription + String(reflecting: error)
        #expect(!text.contains(secret), "\(text)")
        #expect(error.message.contains("password authentication failed") == true, "\(text)")
        #expect(error.isRetryable == false)
    }

    @Test func missingDatabaseIsNamed() async throws {
        let error = try await expectStoreError(.unavailable) { try await open(try url { $0.path = "/no_such_database" }) }
        #expect(error.message.contains("no_such_database") == true, "\(String(describing: error))")
        #expect(error.message.contains("does not exist") == true)
        let settings = try postgresSettings()
        #expect(error.store.contains(settings.password ?? "?") == false)
    }

    @Test func unreachableServerIsRetryable() async throws {
        // A port that nothing listens on: bound, read, and closed again.
        let socket = try ServerSocketPort.free()
        let error = try await expectStoreError(.unavailable) { try await open(try url { $0.port = socket }) }
        #expect(error.isRetryable == true)
    }

    @Test func badURLsAreRefused() async throws {
        for bad in ["postgres:///db", "postgres://h/db/more", "postgres://h/db?sslmode=sometimes", "postgres://h/db?table=1x",
                    "postgres://h/db?pool=0", "postgres://h/db?colour=blue"] {
            let error = try await expectStoreError(.invalidArgument) { try await open(bad) }
            #expect(error.message.contains("store URL") == true, "\(String(describing: error))")
        }
        let parsed = try PostgresStore.URLConfiguration(
            StoreURL(parsing: "postgresql://app:s3cret@db.example:6543/prod?schema=cache&table=pages&sslmode=require&statement-timeout=2s"))
        #expect(parsed.location == "app@db.example:6543/prod")
        #expect(parsed.schema == "cache" && parsed.table == "pages" && parsed.tlsMode == .require)
        #expect(parsed.statementTimeout == .seconds(2))
        let fromEnvironment = try PostgresStore.URLConfiguration(StoreURL(parsing: "postgres://app@h/"), environment: ["PGPASSWORD": "pw"])
        #expect(fromEnvironment.password == "pw" && fromEnvironment.database == "app")
        #expect(!(try StoreURL(parsing: "postgres://app:s3cret@h/db")).description.contains("s3cret"))
    }

    /// Opening a URL whose table has another shape fails before the pool runs, naming the
    /// difference, and leaves the table and its rows as they were.
    @Test func aTableOfAnotherShapeIsRefusedAndLeftAlone() async throws {
        let table = freshName("shape_")
        try await execute("CREATE TABLE public.\(table) (key text PRIMARY KEY, value bytea NOT NULL)")
        try await execute("INSERT INTO public.\(table) VALUES ('kept', 'x')")
        let error = try await expectStoreError(.invalidArgument) { try await open(try TestServer.postgres.require() + "?table=\(table)") }
        #expect(error.message.contains("exists with another shape") == true, "\(String(describing: error))")
        #expect(error.message.contains("column size (bigint) is missing") == true, "\(String(describing: error))")
        #expect(error.message.contains("column key has collation") == true, "\(String(describing: error))")
        let rows = try await execute("SELECT key FROM public.\(table)")
        #expect(try rows.map { try $0.decode(String.self) } == ["kept"])
        try await execute("DROP TABLE public.\(table)")
    }

    /// A value over the URL's max-value-size fails before anything is sent, and the value
    /// already under the key stays.
    @Test func aValueOverTheURLsCapIsRefused() async throws {
        let table = freshName("t_")
        try await StoreOpener.standard.addingPostgres().withStore(try TestServer.postgres.require() + "?table=\(table)&max-value-size=1000") { store in
            try await store.set(Data(count: 1000), for: "k")
            let error = try await expectStoreError(.valueTooLarge) { try await store.set(Data(count: 1001), for: "k") }
            #expect(error.message.contains("max-value-size") == true, "\(String(describing: error))")
            #expect(try await store.value(for: "k") == Data(count: 1000))
        }
        try await execute("DROP TABLE public.\(table)")
    }

    /// A statement that waits past the server's statement_timeout (here for a row another
    /// transaction holds) fails with timedOut, retryable, and changes nothing.
    @Test func statementTimeoutIsTimedOut() async throws {
        let settings = try postgresSettings("statement-timeout=300ms&table=\(freshName("t_"))")
        let opened = try await PostgresStore.open(settings)
        try await opened.withRunning { any in
            let store = try #require(any as? PostgresStore)
            try await store.set(Data("1".utf8), for: "held")
            try await withOpenTransaction(PostgresClients.shared) { connection, logger in
                _ = try await connection.query(PostgresQuery(unsafeSQL: "SELECT 1 FROM \(store.sql.table) WHERE key = 'held' FOR UPDATE"),
                                               logger: logger)
                let error = try await expectStoreError(.timedOut) { try await store.set(Data("2".utf8), for: "held") }
                #expect(error.isRetryable == true)
                #expect(error.message.contains("statement_timeout") == true)
            }
            #expect(try await store.value(for: "held") == Data("1".utf8))
            try await execute("DROP TABLE \(store.sql.table)")
        }
    }
}

/// A connection lost under a statement in flight.
@Suite("PostgresStore: lost connections", .enabled(if: TestServer.postgres.isAvailable, TestServer.postgres.absence))
struct PostgresLostConnectionTests {
    /// The server ends the connection of a write that waits for a row lock: the write fails
    /// with unavailable, retryable, and the next call succeeds on a new connection of the pool.
    @Test func aLostConnectionFailsTheCallRetryably() async throws {
        // A client of its own, so that no other suite's calls wait for its connections.
        try await withOwnClient { client in
            let table = freshName("t_")
            let store = try await PostgresStore(client: client, table: table, location: "test")
            try await store.set(Data("1".utf8), for: "held")
            try await withOpenTransaction(PostgresClients.second) { locker, logger in
                _ = try await locker.query(PostgresQuery(unsafeSQL: "SELECT 1 FROM \(store.sql.table) WHERE key = 'held' FOR UPDATE"),
                                           logger: logger)
                let write = Task { try await store.set(Data("2".utf8), for: "held") }
                // The backend of the waiting write, once it waits (at most 30 s). Asked outside the
                // locker's transaction: inside one, the server keeps the first snapshot of
                // pg_stat_activity until the transaction ends, and would never see the wait begin.
                var victim: Int32?
                for _ in 0..<600 where victim == nil {
                    let rows = try await execute("""
                        SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%\(table)%'
                        """)
                    victim = try rows.first?.decode(Int32.self)
                    if victim == nil { try await Task.sleep(for: .milliseconds(50)) }
                }
                guard let pid = victim else {
                    write.cancel()
                    Issue.record("the write never waited for the lock")
                    return
                }
                _ = try await locker.query(PostgresQuery(unsafeSQL: "SELECT pg_terminate_backend(\(pid))"), logger: logger)
                let error = try await expectStoreError(.unavailable) { _ = try await write.value }
                #expect(error.isRetryable == true, "\(String(describing: error))")
            }
            #expect(try await store.value(for: "held") == Data("1".utf8))
            try await store.set(Data("3".utf8), for: "held")
            #expect(try await store.value(for: "held") == Data("3".utf8))
            try await execute("DROP TABLE \(store.sql.table)")
        }
    }

    /// The server ends every idle connection of the pool: as soon as the client has seen them
    /// close, a transaction, a write and a read each pass over them (nothing was sent on them)
    /// and succeed on new connections, rounds after rounds.
    @Test(.timeLimit(.minutes(1))) func idleConnectionsTheServerClosedArePassedOver() async throws {
        try await withOwnClient { client in
            let table = freshName("t_")
            let store = try await PostgresStore(client: client, table: table, location: "test")
            for round in 0..<20 {
                // Both connections of the pool, held at once so that each is a different one.
                let held = try await client.withConnection { first in
                    try await client.withConnection { second in [first, second] }
                }
                var pids: [Int32] = []
                for connection in held {
                    let rows = try await connection.query("SELECT pg_backend_pid()", logger: Logger(label: "trove.tests")).collect()
                    let row = try #require(rows.first)
                    pids.append(try row.decode(Int32.self))
                }
                for pid in pids { _ = try await execute("SELECT pg_terminate_backend(\(pid))") }
                // Polled without sleeping, so that the calls below start the moment they closed.
                let deadline = ContinuousClock.now + .seconds(10)
                while held.contains(where: { !$0.isClosed }) && ContinuousClock.now < deadline { await Task.yield() }
                let closed = held.allSatisfy { $0.isClosed }
                try #require(closed, "round \(round): the client never saw its connections close")
                let value = Data("\(round)".utf8)
                try await store.transaction { transaction in
                    _ = try await transaction.write(value, for: "in-transaction")
                }
                try await store.set(value, for: "alone")
                #expect(try await store.value(for: "in-transaction") == value, "round \(round)")
                #expect(try await store.value(for: "alone") == value, "round \(round)")
            }
            try await execute("DROP TABLE \(store.sql.table)")
        }
    }
}
