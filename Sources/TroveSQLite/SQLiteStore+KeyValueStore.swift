import CTroveSQLite
public import Foundation
public import Trove

extension SQLiteStore {
    /// The live entry under `key`, or `nil`.
    public func read(_ key: StoreKey) async throws -> StoreEntry? {
        let now = clock.now
        let found = try await perform(.read, key, writes: false) { [self] connection in
            try lookup(connection, key, now: now, partsUpTo: Int64(Self.inlineIOLimit))
        }
        switch found {
        case .found(let entry):
            return entry
        case .large:
            return try await perform(.read, key, writes: false, heavy: true) { [self] connection in
                try entry(connection, key, now: now)
            }
        }
    }

    /// The live metadata of `key`, without reading the value.
    public func metadata(for key: StoreKey) async throws -> EntryMetadata? {
        let now = clock.now
        return try await perform(.metadata, key, writes: false) { [self] connection in
            try metadataRow(connection, key, now: now)
        }
    }

    /// Stores `value` under `key` if `options.condition` holds, in one transaction.
    public func write(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        let now = clock.now
        return try await perform(.write, key, writes: true, heavy: value.count > Self.inlineIOLimit) { [self] connection in
            try write(connection, value, key, options: options, now: now)
        }
    }

    /// Deletes `key` if `condition` holds.
    public func delete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool {
        let now = clock.now
        return try await perform(.delete, key, writes: true) { [self] connection in
            try deleteRow(connection, key, condition: condition, now: now)
        }
    }

    /// Deletes every expired entry, and the parts of streamed writes that were never finished
    /// (a process died while writing) and are older than an hour.
    ///
    /// - Returns: The number of expired entries deleted.
    public func reclaimExpired() async throws -> Int {
        let now = clock.now
        return try await perform(.reclaim, nil, writes: true, heavy: true) { [self] connection in
            let expired = try connection.statement(sql.purgeExpired)
            defer { expired.reset() }
            try expired.bind(1, Self.seconds(now))
            _ = try expired.step()
            let count = connection.changes
            let pending = try connection.statement(sql.purgePendingSegments)
            defer { pending.reset() }
            try pending.bind(1, Self.seconds(now.addingTimeInterval(-Self.pendingLifetime)))
            _ = try pending.step()
            return count
        }
    }

    /// How long the parts of an unfinished streamed write are kept, in seconds.
    static let pendingLifetime: TimeInterval = 3600

    /// The number of live entries whose keys start with `prefix`, counted by SQLite without
    /// reading any value.
    ///
    /// Rows that another program wrote under names that are not keys (an empty segment, a
    /// control character, bytes that are not UTF-8, …) are not counted, as listing passes them
    /// over: the count is the number of keys that `list(_:)` gives.
    public func count(withPrefix prefix: String = "") async throws -> Int {
        let query = try ListQuery(prefix: prefix)
        let now = clock.now
        return try await perform(.list, nil, writes: false) { [self] connection in
            let statement = try connection.statement(sql.countLive)
            defer { statement.reset() }
            try statement.bind(1, text: query.prefix)
            try statement.bind(2, textBytes: Self.upperBound(of: query.prefix))
            try statement.bind(3, Self.seconds(now))
            _ = try statement.step()
            return Int(statement.int64(0))
        }
    }

    /// Reads `key` under `options`; a renewed expiry is set and the entry read in one write
    /// transaction, keeping the value and the ETag.
    public func read(_ key: StoreKey, options: ReadOptions) async throws -> ReadOutcome<StoreEntry>? {
        guard let renewal = options.refreshingExpiry else {
            return try await read(key).map(options.outcome(of:))
        }
        let now = clock.now
        let found = try await perform(.read, key, writes: true) { [self] connection in
            try connection.writeTransaction {
                try renew(connection, key, to: renewal, now: now)
                return try entry(connection, key, now: now)
            }
        }
        return found.map(options.outcome(of:))
    }

    /// Opens `key` under `options`; a renewed expiry is set first, in a transaction of its own.
    public func readStream(_ key: StoreKey, chunkSize: Int, options: ReadOptions) async throws -> ReadOutcome<StreamedEntry>? {
        if let renewal = options.refreshingExpiry {
            let now = clock.now
            let live = try await perform(.read, key, writes: true) { [self] connection in
                try connection.writeTransaction { try renew(connection, key, to: renewal, now: now) }
            }
            guard live else { return nil }
        }
        guard let stream = try await readStream(key, chunkSize: chunkSize) else { return nil }
        return await ReadOptions(range: options.range, ifNoneMatch: options.ifNoneMatch).outcome(of: stream)
    }

    /// The metadata of `key`, its expiry renewed in the same transaction when `options` ask.
    public func metadata(for key: StoreKey, options: ReadOptions) async throws -> EntryMetadata? {
        guard let renewal = options.refreshingExpiry else { return try await metadata(for: key) }
        let now = clock.now
        return try await perform(.metadata, key, writes: true) { [self] connection in
            try connection.writeTransaction {
                try renew(connection, key, to: renewal, now: now)
                return try metadataRow(connection, key, now: now)
            }
        }
    }

    /// Sets the expiry of the live row of `key` to `renewal` from `now`; returns whether there
    /// was one.
    @discardableResult
    private func renew(_ connection: SQLiteConnection, _ key: StoreKey, to renewal: Expiry, now: Date) throws -> Bool {
        let statement = try connection.statement(sql.renewExpiry)
        defer { statement.reset() }
        try statement.bind(1, text: key.rawValue)
        try statement.bind(2, Self.seconds(now))
        try statement.bind(3, renewal.expirationDate(writtenAt: now).map(Self.seconds))
        _ = try statement.step()
        return connection.changes > 0
    }
}
