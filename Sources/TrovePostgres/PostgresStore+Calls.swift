import Foundation
import PostgresNIO
import Trove

/// Running statements on the pool, and turning rows into Trove's types.
extension PostgresStore {
    /// Runs `query` on a connection of the pool (or on `connection`, within a transaction) and
    /// returns every row, with failures as this store's ``StoreError``s.
    ///
    /// The store's own statements (`prepared`) run as prepared statements (see
    /// ``PostgresStatement``); others (`BEGIN`, `COMMIT`) as simple queries.
    func rows(
        _ operation: StoreOperation, _ key: StoreKey?, _ query: PostgresQuery, on connection: PostgresConnection? = nil,
        prepared: Bool = true
    ) async throws -> [PostgresRow] {
        do {
            // A change outside a transaction counts once its commit is known (see
            // PostgresStatement.run).
            let confirming = connection == nil && !Self.repeatable.contains(operation)
            var unsent = 0
            var repeated = false
            while true {
                do {
                    return try await run(query, on: connection, prepared: prepared, confirmingCommit: confirming)
                } catch let error as PSQLError
                            where connection == nil && !repeated && Self.repeatable.contains(operation) && Self.isLostConnection(error) {
                    // A read is safe to repeat: once more, on another connection of the pool (the
                    // pool may hand out a connection that the server closed before it noticed).
                    repeated = true
                } catch is ClosedBeforeSending where connection == nil && unsent < Self.closedConnectionsSkipped {
                    // Nothing was sent, so any statement may go again on another connection: the
                    // pool hands out each connection the server closed until it notices, once
                    // for every connection it had.
                    unsent += 1
                }
            }
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw storeError(error, operation, key)
        }
    }

    private func run(_ query: PostgresQuery, on connection: PostgresConnection?, prepared: Bool,
                     confirmingCommit: Bool) async throws -> [PostgresRow] {
        if prepared {
            return try await PostgresStatement.run(query, on: connection, client: client, logger: logger,
                                                   confirmingCommit: confirmingCommit)
        }
        return try await PostgresStatement.runSimple(query, on: connection, client: client, logger: logger)
    }

    /// How many closed connections of the pool a statement that was not sent passes over
    /// before it fails.
    static let closedConnectionsSkipped = 8

    /// The operations whose statements give the same outcome when repeated (reads, and the
    /// renewal of an expiry within one), which a lost connection may repeat.
    static let repeatable: Set<StoreOperation> = [.read, .metadata, .list, .count]

    /// Whether `error` says the connection was closed under the statement.
    static func isLostConnection(_ error: PSQLError) -> Bool {
        [.serverClosedConnection, .uncleanShutdown].contains(error.code)
            || (error.code == .clientClosedConnection && error.underlying != nil)
    }

    /// A query of `sql` with `bind`'s parameters.
    static func query(_ sql: String, _ bind: (inout PostgresBindings) throws -> Void) throws -> PostgresQuery {
        var bindings = PostgresBindings()
        try bind(&bindings)
        return PostgresQuery(unsafeSQL: sql, binds: bindings)
    }

    /// The two parameters of an expiry: an absolute time, or a lifetime in microseconds from
    /// the server's `now()`; both `nil` for none.
    static func expiryParameters(_ expiry: Expiry) -> (absolute: Date?, microseconds: Double?) {
        if expiry.isNever { return (nil, nil) }
        // An expiry is either a moment or a lifetime: a lifetime's date moves with the write's.
        let origin = Date(timeIntervalSince1970: 0)
        guard let early = expiry.expirationDate(writtenAt: origin),
              let late = expiry.expirationDate(writtenAt: origin.addingTimeInterval(1000)) else { return (nil, nil) }
        if early == late { return (early, nil) }
        return (nil, early.timeIntervalSince1970 * 1_000_000)
    }

    /// Decodes the metadata columns that start at `offset` (size, etag, created, modified,
    /// expires).
    static func metadata(_ row: PostgresRandomAccessRow, from offset: Int, key: StoreKey) throws -> EntryMetadata {
        let size = try row[offset].decode(Int64.self)
        let etag = try row[offset + 1].decode(String.self)
        let created = try row[offset + 2].decode(Date.self)
        let modified = try row[offset + 3].decode(Date.self)
        let expires = try row[offset + 4].decode(Date?.self)
        return EntryMetadata(key: key, size: size, etag: ETag(etag), modificationDate: modified,
                             creationDate: created, expirationDate: expires)
    }

    /// Decodes a row's cells with failures as this store's ``StoreError``s.
    func decoding<T>(_ operation: StoreOperation, _ key: StoreKey?, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw storeError(error, operation, key)
        }
    }

    /// The error for a write whose condition did not hold.
    func conditionFailed(_ operation: StoreOperation, _ key: StoreKey, _ condition: String) -> StoreError {
        StoreError(.conditionFailed, operation: operation, key: key, store: description,
                   message: "the condition \(condition) did not hold; nothing was changed")
    }

    /// The smallest text after every text that starts with `prefix`: the prefix with its last
    /// scalar replaced by the next one (dropping trailing U+10FFFF), or `nil` when no text is
    /// (an empty prefix, or one of U+10FFFF alone).
    ///
    /// UTF-8 orders as its scalars do, so in byte order every text with the prefix sorts before
    /// this bound and every other text at or after the prefix sorts at or after it; it is valid
    /// UTF-8, which PostgreSQL requires of text.
    static func upperBound(of prefix: String) -> String? {
        var scalars = Array(prefix.unicodeScalars)
        while let last = scalars.popLast() {
            var next = last.value + 1
            if next == 0xD800 { next = 0xE000 }  // past the surrogates, which are not scalars
            if let scalar = Unicode.Scalar(next) {
                scalars.append(scalar)
                var text = String.UnicodeScalarView()
                text.append(contentsOf: scalars)
                return String(text)
            }
        }
        return nil
    }
}
