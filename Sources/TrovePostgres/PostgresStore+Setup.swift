import Foundation
import PostgresNIO
import Trove

/// Creating the store's table and checking the shape of one that exists.
extension PostgresStore {
    /// Runs one query and returns every row.
    typealias QueryRunner = @Sendable (PostgresQuery) async throws -> [PostgresRow]

    /// One column of the table as the store needs it.
    struct ColumnShape: Equatable {
        let name: String
        let type: String
        let notNull: Bool
        let collation: String?
    }

    /// The columns the store's table must have, in order.
    static let expectedColumns: [ColumnShape] = [
        ColumnShape(name: "key", type: "text", notNull: true, collation: "C"),
        ColumnShape(name: "value", type: "bytea", notNull: true, collation: nil),
        ColumnShape(name: "size", type: "bigint", notNull: true, collation: nil),
        ColumnShape(name: "etag", type: "text", notNull: true, collation: nil),
        ColumnShape(name: "created_at", type: "timestamp with time zone", notNull: true, collation: nil),
        ColumnShape(name: "modified_at", type: "timestamp with time zone", notNull: true, collation: nil),
        ColumnShape(name: "expires_at", type: "timestamp with time zone", notNull: false, collation: nil),
    ]

    /// Creates the table and its index when missing (if the options allow it), then checks the
    /// table's shape.
    func prepareTable(_ run: QueryRunner) async throws {
        do {
            if try await !tableExists(run) {
                guard options.createsTable else {
                    throw StoreError(.invalidArgument, operation: .open, store: description,
                                     message: "table \(schema).\(table) does not exist, and the store was opened with createsTable false (create=false)")
                }
                for statement in [sql.createTable, sql.createExpiryIndex] {
                    do {
                        _ = try await run(PostgresQuery(unsafeSQL: statement))
                    } catch let error as PSQLError where ["23505", "42P07", "42710"].contains(error.serverInfo?[.sqlState] ?? "") {
                        // Another client created it at the same moment (IF NOT EXISTS does not
                        // guard against a race).
                    }
                }
            }
            try await checkShape(run)
        } catch {
            throw storeError(error, .open, nil)
        }
    }

    private func tableExists(_ run: QueryRunner) async throws -> Bool {
        let rows = try await run("SELECT to_regclass(\(sql.table)) IS NOT NULL")
        return try rows.first?.decode(Bool.self) ?? false
    }

    /// Throws ``StoreError/Code/invalidArgument`` naming every way the table differs from what
    /// the store needs.
    private func checkShape(_ run: QueryRunner) async throws {
        let rows = try await run("""
            SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, co.collname
            FROM pg_attribute a LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> 0
            WHERE a.attrelid = to_regclass(\(sql.table)) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum
            """)
        var found: [String: ColumnShape] = [:]
        var order: [String] = []
        for row in rows {
            let (name, type, notNull, collation) = try row.decode((String, String, Bool, String?).self)
            found[name] = ColumnShape(name: name, type: type, notNull: notNull, collation: type == "text" ? collation : nil)
            order.append(name)
        }
        var differences: [String] = []
        for expected in Self.expectedColumns {
            guard let column = found[expected.name] else {
                differences.append("column \(expected.name) (\(expected.type)) is missing")
                continue
            }
            if column.type != expected.type {
                differences.append("column \(expected.name) is \(column.type), not \(expected.type)")
            } else if column.collation != expected.collation, let needed = expected.collation {
                differences.append("column \(expected.name) has collation \(column.collation.map { "\"\($0)\"" } ?? "default"), not \"\(needed)\" (byte order)")
            }
            if column.notNull != expected.notNull {
                differences.append("column \(expected.name) is \(column.notNull ? "NOT NULL" : "nullable"), not \(expected.notNull ? "NOT NULL" : "nullable")")
            }
        }
        let known = Set(Self.expectedColumns.map(\.name))
        for name in order where !known.contains(name) {
            differences.append("it has a column \(name) that the store does not know")
        }
        if found["key"] != nil {
            let keys = try await run("""
                SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
                WHERE i.indrelid = to_regclass(\(sql.table)) AND i.indisprimary
                """)
            let primary = try keys.map { try $0.decode(String.self) }
            if primary != ["key"] {
                differences.append(primary.isEmpty ? "it has no primary key (the store needs key)"
                                   : "its primary key is (\(primary.joined(separator: ", "))), not (key)")
            }
        }
        guard differences.isEmpty else {
            throw StoreError(.invalidArgument, operation: .open, store: description,
                             message: "table \(schema).\(table) exists with another shape than a store's: "
                                + differences.joined(separator: "; ")
                                + "; use another table name, or drop this table")
        }
    }
}
