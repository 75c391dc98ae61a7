public import Foundation
import PostgresNIO
public import Trove

extension PostgresStore {
    /// The live entry under `key`, or `nil`: one `SELECT` by primary key.
    public func read(_ key: StoreKey) async throws -> StoreEntry? {
        try await read(key, on: nil)
    }

    func read(_ key: StoreKey, on connection: PostgresConnection?) async throws -> StoreEntry? {
        let rows = try await rows(.read, key, try Self.query(sql.read) { try $0.append(key.rawValue) }, on: connection)
        guard let row = rows.first?.makeRandomAccess() else { return nil }
        return try decoding(.read, key) {
            StoreEntry(value: try row[0].decode(Data.self), metadata: try Self.metadata(row, from: 1, key: key))
        }
    }

    /// The live metadata of `key`, without its value.
    public func metadata(for key: StoreKey) async throws -> EntryMetadata? {
        try await metadata(for: key, on: nil)
    }

    func metadata(for key: StoreKey, on connection: PostgresConnection?) async throws -> EntryMetadata? {
        let rows = try await rows(.metadata, key, try Self.query(sql.metadata) { try $0.append(key.rawValue) }, on: connection)
        guard let row = rows.first?.makeRandomAccess() else { return nil }
        return try decoding(.metadata, key) { try Self.metadata(row, from: 0, key: key) }
    }

    /// Reads `key` under `options` in one statement: the server cuts the range and leaves the
    /// value out when its ETag is ``ReadOptions/ifNoneMatch``; a renewed expiry is an `UPDATE …
    /// RETURNING` of the live row, keeping its value and ETag.
    public func read(_ key: StoreKey, options: ReadOptions) async throws -> ReadOutcome<StoreEntry>? {
        if options.isNone { return try await read(key).map { .value($0) } }
        let (start, length) = Self.rangeParameters(options.range)
        let renewal = options.refreshingExpiry.map(Self.expiryParameters)
        let query = try Self.query(renewal == nil ? sql.readWithOptions : sql.readRenewing) { bindings in
            try bindings.append(key.rawValue)
            bindings.append(start)
            bindings.append(length)
            bindings.append(options.ifNoneMatch?.rawValue)
            if let renewal {
                try bindings.append(renewal.absolute)
                bindings.append(renewal.microseconds)
            }
        }
        let rows = try await rows(.read, key, query)
        guard let row = rows.first?.makeRandomAccess() else { return nil }
        return try decoding(.read, key) {
            let metadata = try Self.metadata(row, from: 1, key: key)
            if let etag = options.ifNoneMatch, metadata.etag == etag { return .unchanged(metadata) }
            return .value(StoreEntry(value: try row[0].decode(Data?.self) ?? Data(), metadata: metadata))
        }
    }

    /// The metadata of `key`, its expiry renewed in the same statement when `options` ask.
    public func metadata(for key: StoreKey, options: ReadOptions) async throws -> EntryMetadata? {
        guard let renewal = options.refreshingExpiry.map(Self.expiryParameters) else { return try await metadata(for: key) }
        let query = try Self.query(sql.metadataRenewing) { bindings in
            try bindings.append(key.rawValue)
            try bindings.append(renewal.absolute)
            bindings.append(renewal.microseconds)
        }
        let rows = try await rows(.metadata, key, query)
        guard let row = rows.first?.makeRandomAccess() else { return nil }
        return try decoding(.metadata, key) { try Self.metadata(row, from: 0, key: key) }
    }

    /// Opens `key` under `options`: read whole in one statement (with the range cut and the
    /// expiry renewed on the server), then handed out in chunks.
    public func readStream(_ key: StoreKey, chunkSize: Int, options: ReadOptions) async throws -> ReadOutcome<StreamedEntry>? {
        guard let outcome = try await read(key, options: options) else { return nil }
        return outcome.map { StreamedEntry(metadata: $0.metadata, chunks: ValueChunks(chunksOf: $0.value, chunkSize: chunkSize)) }
    }

    /// The server's `substring` arguments for `range`: the first offset from 0 (or minus the
    /// length of a suffix) and the most bytes to return.
    static func rangeParameters(_ range: ByteRange?) -> (start: Int64, length: Int32) {
        guard let range else { return (0, Int32.max) }
        // Offsets in a value too large to exist tell a suffix (its start moves with the size) and
        // an open end (its end does) from a plain range.
        let big = Int64(1) << 40
        let first = range.offsets(inValueOfSize: big), second = range.offsets(inValueOfSize: big + 1)
        if first.lowerBound != second.lowerBound {
            return (-(big - first.lowerBound), Int32.max)
        }
        let start = first.lowerBound
        if first.upperBound != second.upperBound { return (start, Int32.max) }
        return (start, Int32(clamping: first.count))
    }

    /// Stores `value` under `key` if `options.condition` holds, in one statement: an upsert, an
    /// insert over an absent or expired row, or an update of the live row of the expected ETag.
    public func write(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        let metadata = try await write(value, for: key, options: options, on: nil)
        if shouldPurge() { await purgeSome() }
        return metadata
    }

    func write(_ value: Data, for key: StoreKey, options: WriteOptions, on connection: PostgresConnection?) async throws -> EntryMetadata {
        guard value.count <= self.options.maximumValueSize else { throw tooLarge(Int64(value.count), key) }
        let condition = options.condition
        let statement = condition.requiresAbsence ? sql.writeIfAbsent
            : condition.expectedETag != nil ? sql.writeIfMatches : sql.write
        let (absolute, microseconds) = Self.expiryParameters(options.expiry)
        let query = try Self.query(statement) { bindings in
            try bindings.append(key.rawValue)
            try bindings.append(value)
            bindings.append(Int64(value.count))
            try bindings.append(nextETag())
            try bindings.append(absolute)
            bindings.append(microseconds)
            if let etag = condition.expectedETag { try bindings.append(etag.rawValue) }
        }
        let rows = try await rows(.write, key, query, on: connection)
        guard let row = rows.first?.makeRandomAccess() else { throw conditionFailed(.write, key, condition.description) }
        return try decoding(.write, key) { try Self.metadata(row, from: 0, key: key) }
    }

    /// Collects the chunks, refusing them as soon as they add up to more than
    /// ``Options/maximumValueSize`` (without reading further), then writes them in one
    /// statement.
    public func write<Chunks: AsyncSequence & Sendable>(
        contentsOf chunks: Chunks, for key: StoreKey, options: WriteOptions
    ) async throws -> EntryMetadata where Chunks.Element == Data {
        if let expected = options.expectedSize, expected > Int64(self.options.maximumValueSize) {
            throw tooLarge(expected, key)
        }
        var value = Data()
        for try await chunk in chunks {
            value.append(chunk)
            if value.count > self.options.maximumValueSize { throw tooLarge(Int64(value.count), key) }
            try options.checkSize(soFar: Int64(value.count), isComplete: false, key: key, store: description)
        }
        try options.checkSize(soFar: Int64(value.count), isComplete: true, key: key, store: description)
        return try await write(value, for: key, options: options)
    }

    /// Deletes `key` if `condition` holds, in one statement.
    public func delete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool {
        try await delete(key, condition: condition, on: nil)
    }

    func delete(_ key: StoreKey, condition: DeleteCondition, on connection: PostgresConnection?) async throws -> Bool {
        if let etag = condition.expectedETag {
            let rows = try await rows(.delete, key, try Self.query(sql.deleteIfMatches) { bindings in
                try bindings.append(key.rawValue)
                try bindings.append(etag.rawValue)
            }, on: connection)
            guard !rows.isEmpty else { throw conditionFailed(.delete, key, condition.description) }
            return true
        }
        let rows = try await rows(.delete, key, try Self.query(sql.delete) { try $0.append(key.rawValue) }, on: connection)
        guard let row = rows.first else { return false }
        return try decoding(.delete, key) { try row.decode(Bool.self) }
    }

    /// Deletes `key`, live or expired, without reading whether it held a value.
    public func discard(_ key: StoreKey) async throws {
        _ = try await rows(.delete, key, try Self.query(sql.discard) { try $0.append(key.rawValue) })
    }

    /// Deletes every expired row, as one statement that the partial index on `expires_at` serves.
    ///
    /// - Returns: The number of rows deleted.
    public func reclaimExpired() async throws -> Int {
        let rows = try await rows(.reclaim, nil, PostgresQuery(unsafeSQL: sql.reclaimExpired))
        return try decoding(.reclaim, nil) { Int(try rows.first?.decode(Int64.self) ?? 0) }
    }

    /// Deletes a few expired rows, skipping rows others hold; a failure is left for the next
    /// purge or ``reclaimExpired()``.
    func purgeSome() async {
        _ = try? await client.query(PostgresQuery(unsafeSQL: sql.purgeSome), logger: logger).collect()
    }

    /// The number of live keys that start with `prefix`, counted by the server over the
    /// primary key's range, without reading any value.
    public func count(withPrefix prefix: String = "") async throws -> Int {
        let query = try ListQuery(prefix: prefix)
        let upper = Self.upperBound(of: query.prefix)
        let rows = try await rows(.count, nil, try Self.query(sql.count(bounded: upper != nil)) { bindings in
            try bindings.append(query.prefix)
            if let upper { try bindings.append(upper) }
        })
        return try decoding(.count, nil) { Int(try rows.first?.decode(Int64.self) ?? 0) }
    }
}
