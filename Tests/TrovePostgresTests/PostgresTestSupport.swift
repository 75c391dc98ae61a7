import Foundation
import PostgresNIO
import Testing
import Trove
@testable import TrovePostgres
import TroveTestSupport

/// The test server's URL, parsed.
func postgresSettings(_ options: String? = nil) throws -> PostgresStore.URLConfiguration {
    let url = try TestServer.postgres.require() + (options.map { "?" + $0 } ?? "")
    return try PostgresStore.URLConfiguration(StoreURL(parsing: url))
}

/// Clients of the test server, each running for the rest of the test process.
enum PostgresClients {
    /// The client that most tests use.
    static let shared = start()
    /// A second client, for a second store instance over the same data (as another process).
    static let second = start()

    private static func start() -> PostgresClient {
        // A missing server fails the test that asks for its URL; a client of nowhere is never used.
        var configuration = (try? postgresSettings())?.clientConfiguration()
            ?? PostgresClient.Configuration(host: "127.0.0.1", username: "none", password: nil, database: nil, tls: .disable)
        configuration.options.maximumConnections = 8
        let client = PostgresClient(configuration: configuration)
        Task.detached { await client.run() }
        return client
    }
}

/// Runs `body` with a client of its own, running while `body` runs, with `connections` at most.
func withOwnClient<T>(connections: Int = 2, _ body: (PostgresClient) async throws -> T) async throws -> T {
    var configuration = try postgresSettings().clientConfiguration()
    configuration.options.maximumConnections = connections
    configuration.options.minimumConnections = min(configuration.options.minimumConnections, connections)
    let client = PostgresClient(configuration: configuration)
    let running = Task { await client.run() }
    defer { running.cancel() }
    return try await body(client)
}

/// Runs `body` on a connection of `client` inside `BEGIN`, and rolls back however `body` ends,
/// so that the connection goes back to the pool outside any transaction.
func withOpenTransaction<T>(
    _ client: PostgresClient, _ body: (PostgresConnection, Logger) async throws -> T
) async throws -> T {
    let logger = Logger(label: "trove.tests")
    return try await client.withConnection { connection in
        _ = try await connection.query("BEGIN", logger: logger)
        do {
            let result = try await body(connection, logger)
            _ = try await connection.query("ROLLBACK", logger: logger)
            return result
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }
}

/// A fresh name for a table or schema: `prefix` and random hexadecimal digits.
func freshName(_ prefix: String) -> String {
    prefix + String(UInt64.random(in: 0...UInt64.max), radix: 16)
}

/// Runs an SQL statement on the shared client, returning its rows.
@discardableResult
func execute(_ sql: String) async throws -> [PostgresRow] {
    try await PostgresClients.shared.query(PostgresQuery(unsafeSQL: sql)).collect()
}

/// Runs `body` with a store over a new table (in a new schema when `schema` is not `nil`),
/// and drops the table (or the schema) afterwards, whatever `body` does.
func withFreshTable<T>(
    schema: String? = nil, options: PostgresStore.Options = PostgresStore.Options(),
    _ body: (PostgresStore) async throws -> T
) async throws -> T {
    let table = freshName("t_")
    if let schema { try await execute("CREATE SCHEMA \(schema)") }
    let drop = schema.map { "DROP SCHEMA IF EXISTS \($0) CASCADE" } ?? "DROP TABLE IF EXISTS public.\(table)"
    do {
        let store = try await PostgresStore(client: PostgresClients.shared, table: table, schema: schema ?? "public",
                                            options: options, location: "test")
        let result = try await body(store)
        try await execute(drop)
        return result
    } catch {
        _ = try? await execute(drop)
        throw error
    }
}


/// A `StoreKey` made at run time.
func key(_ text: String) throws -> StoreKey { try StoreKey(validating: text) }
