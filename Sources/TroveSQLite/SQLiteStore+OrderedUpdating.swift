public import Foundation
public import Trove

extension SQLiteStore: OrderedUpdating {
    /// Walks the live entries under `prefix` in key order and replaces those `decide` says, in
    /// one write transaction: one range scan of the primary key, then one `UPDATE` per
    /// replacement, with no condition to check (nothing else writes inside the transaction).
    ///
    /// Rows under names that are not keys are passed over, as listings pass over them.
    public func updateInKeyOrder(
        withPrefix prefix: String, after: StoreKey?, examining limit: Int,
        _ decide: @escaping @Sendable (StoreEntry) throws -> OrderedUpdate
    ) async throws -> OrderedUpdateResult {
        guard limit >= 1 else {
            throw StoreError(.invalidArgument, operation: .write, store: description,
                             message: "an ordered update examines at least 1 entry, not \(limit)")
        }
        let now = clock.now
        // Past `after`: the smallest string of bytes greater than it (no key holds a 0 byte).
        let lower = after.map { Array($0.rawValue.utf8) + [0] } ?? Array(prefix.utf8)
        // A walk of the size a queue takes (rows of small values, one range scan) runs on the
        // calling task when the database is free, like a batch of that size.
        return try await perform(.write, nil, writes: true, heavy: limit > 1_024) { [self] connection in
            try connection.writeTransaction {
                // Rows are read in growing runs (4, 16, 64, ...), each a range scan from where
                // the last stopped, so that a walk that stops early reads little.
                var start = lower
                var examined = 0
                var run = 4
                var replaced: [EntryMetadata] = []
                while examined < limit {
                    let (rows, last, more) = try rowsForUpdate(connection, prefix: prefix, from: start,
                                                               limit: min(run, limit - examined), now: now)
                    for row in rows {
                        examined += 1
                        let decision: OrderedUpdate
                        do {
                            decision = try decide(row)
                        } catch let error as StoreError {
                            throw error
                        } catch {
                            throw CallerError(error: error)
                        }
                        switch decision {
                        case .keep: break
                        case .stop: return OrderedUpdateResult(replaced: replaced, reachedTheEnd: false)
                        case .replace(let value): replaced.append(try replace(connection, row, with: value, now: now))
                        }
                    }
                    guard more, let last else { return OrderedUpdateResult(replaced: replaced, reachedTheEnd: true) }
                    start = last + [0]
                    run *= 4
                }
                return OrderedUpdateResult(replaced: replaced, reachedTheEnd: false)
            }
        }
    }

    /// Up to `limit` rows under `prefix` from `lower` on, in key order: the live entries among
    /// them, the name of the last row read, and whether there are more.
    private func rowsForUpdate(
        _ connection: SQLiteConnection, prefix: String, from lower: [UInt8], limit: Int, now: Date
    ) throws -> (entries: [StoreEntry], lastName: [UInt8]?, more: Bool) {
        let statement = try connection.statement(sql.selectRangeForUpdate)
        defer { statement.reset() }
        let start = Array(prefix.utf8)
        try statement.bind(1, textBytes: lower.lexicographicallyPrecedes(start) ? start : lower)
        try statement.bind(2, textBytes: Self.upperBound(of: prefix))
        try statement.bind(3, Self.seconds(now))
        try statement.bind(4, Int64(limit + 1))
        var entries: [StoreEntry] = []
        var inParts: [(index: Int, key: StoreKey)] = []
        var rows = 0
        var lastName: [UInt8]?
        while try statement.step() {
            rows += 1
            if rows > limit { break }
            lastName = statement.bytes(0)
            guard statement.isValidKey(0), let key = try? StoreKey(validating: statement.text(0)) else { continue }
            let metadata = Self.metadata(statement, key: key, from: 3)
            if statement.isNull(2) {
                entries.append(StoreEntry(value: statement.data(1), metadata: metadata))
            } else {
                // A value kept in parts: read whole below, once this statement is done.
                inParts.append((entries.count, key))
                entries.append(StoreEntry(value: Data(), metadata: metadata))
            }
        }
        statement.reset()
        for (index, key) in inParts {
            guard let entry = try entry(connection, key, now: now) else { throw damaged(key, "its row vanished inside a transaction") }
            entries[index] = entry
        }
        return (entries, lastName, rows > limit)
    }

    /// Replaces the value of `entry`'s row, read in this transaction.
    private func replace(_ connection: SQLiteConnection, _ entry: StoreEntry, with value: Data, now: Date) throws -> EntryMetadata {
        let key = entry.metadata.key
        if value.count > Self.inlineLimit {
            // A large value takes the general path, which keeps it in parts.
            return try write(connection, value, key, options: WriteOptions(), now: now)
        }
        let etag = nextETag()
        let (high, low) = etag.words!
        let statement = try connection.statement(sql.replaceValue)
        try statement.bind(1, text: key.rawValue)
        try statement.bind(3, Int64(value.count))
        try statement.bind(4, Int64(bitPattern: high))
        try statement.bind(5, Int64(bitPattern: low))
        try statement.bind(6, Self.seconds(now))
        try statement.withBlob(2, value) { _ = try statement.step() }
        guard connection.changes == 1 else { throw damaged(key, "its row vanished inside a transaction") }
        return EntryMetadata(key: key, size: Int64(value.count), etag: etag, modificationDate: now,
                             creationDate: entry.metadata.creationDate, expirationDate: nil)
    }
}
