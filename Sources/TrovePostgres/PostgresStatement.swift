import PostgresNIO

/// One of a store's statements as a postgres-nio prepared statement, prepared once on each
/// connection of the pool and then run by name (a Bind and an Execute, no parsing or planning).
///
/// postgres-nio names a prepared statement, and takes its SQL, from static properties of its
/// type; a store's SQL depends on its table, known only at run time. So the name and the SQL
/// are set for the task that runs the statement (``run(_:on:client:logger:)``), which is where
/// postgres-nio reads them, before the statement leaves for its connection. The name is a
/// digest of the SQL, so one text is one statement on every connection.
struct PostgresStatement: PostgresPreparedStatement {
    /// The name and the SQL of the statement the current task runs.
    @TaskLocal static var current = (name: "", sql: "")

    static var name: String { current.name }
    static var sql: String { current.sql }

    typealias Row = PostgresRow

    let bindings: PostgresBindings

    func makeBindings() throws -> PostgresBindings { bindings }

    func decodeRow(_ row: PostgresRow) throws -> PostgresRow { row }

    /// The statement's name for `sql`: `trove_` and 64 bits of an FNV-1a digest of it, in
    /// hexadecimal.
    static func name(for sql: String) -> String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in sql.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        let digits = String(hash, radix: 16)
        return "trove_" + String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// Runs `query` as a prepared statement on `connection`, or on a connection of `client`'s
    /// pool, and returns every row.
    static func run(
        _ query: PostgresQuery, on connection: PostgresConnection?, client: PostgresClient, logger: Logger
    ) async throws -> [PostgresRow] {
        let statement = PostgresStatement(bindings: query.binds)
        return try await $current.withValue((name(for: query.sql), query.sql)) {
            var rows: [PostgresRow] = []
            if let connection {
                for try await row in try await connection.execute(statement, logger: logger) { rows.append(row) }
            } else {
                for try await row in try await client.execute(statement, logger: logger) { rows.append(row) }
            }
            return rows
        }
    }
}
