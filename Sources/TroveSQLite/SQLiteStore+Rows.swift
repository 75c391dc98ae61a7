import CTroveSQLite
import Foundation
import Trove

/// The store's operations on one connection, synchronous: what every async call and every
/// transaction runs.
extension SQLiteStore {
    /// A date as stored: seconds since the reference date.
    static func seconds(_ date: Date) -> Double { date.timeIntervalSinceReferenceDate }

    /// A stored date.
    static func date(_ seconds: Double) -> Date { Date(timeIntervalSinceReferenceDate: seconds) }

    /// The metadata in columns `first` to `first + 5` of a row (size, ETag, dates).
    static func metadata(_ statement: SQLiteStatement, key: StoreKey, from first: Int32) -> EntryMetadata {
        EntryMetadata(
            key: key, size: statement.int64(first),
            etag: ETag(high: UInt64(bitPattern: statement.int64(first + 1)), low: UInt64(bitPattern: statement.int64(first + 2))),
            modificationDate: date(statement.double(first + 4)), creationDate: date(statement.double(first + 3)),
            expirationDate: statement.optionalDouble(first + 5).map(date))
    }

    /// What a row says about a value: its metadata and where its bytes are.
    struct Row: Sendable {
        var metadata: EntryMetadata
        /// The value, when it is kept in the row.
        var value: Data?
        /// The value's parts, when it is kept in parts.
        var segments: Int64?
    }

    /// The live row of `key`, with the value when the row holds it.
    func row(_ connection: SQLiteConnection, _ key: StoreKey, now: Date) throws -> Row? {
        let statement = try connection.statement(sql.selectEntry)
        defer { statement.reset() }
        try statement.bind(1, text: key.rawValue)
        try statement.bind(2, Self.seconds(now))
        guard try statement.step() else { return nil }
        let segments = statement.optionalInt64(1)
        return Row(metadata: Self.metadata(statement, key: key, from: 2),
                   value: segments == nil ? statement.data(0) : nil, segments: segments)
    }

    /// What a read of a key found.
    enum Lookup: Sendable {
        /// The live entry, or `nil` for none.
        case found(StoreEntry?)
        /// A value kept in parts and larger than the read was to take: read it again without a
        /// limit, on a thread that may block.
        case large
    }

    /// The live entry of `key`, its parts (if any) read in the same snapshot as its row.
    func entry(_ connection: SQLiteConnection, _ key: StoreKey, now: Date) throws -> StoreEntry? {
        guard case .found(let entry) = try lookup(connection, key, now: now, partsUpTo: .max) else { return nil }
        return entry
    }

    /// The live entry of `key`, read in one statement and so in one snapshot: its row and, for a
    /// value kept in parts of at most `limit` bytes in all, its parts, each copied once, straight
    /// into the value, and checked against the row's size. ``Lookup/large`` for a value kept in
    /// parts over `limit` bytes. A value kept in the row is read without a step past its row.
    func lookup(_ connection: SQLiteConnection, _ key: StoreKey, now: Date, partsUpTo limit: Int64) throws -> Lookup {
        let statement = try connection.statement(sql.selectEntryThenSegments)
        defer { statement.reset() }
        try statement.bind(1, text: key.rawValue)
        try statement.bind(2, Self.seconds(now))
        try statement.bind(3, limit)
        guard try statement.step() else { return .found(nil) }
        let metadata = Self.metadata(statement, key: key, from: 2)
        guard !statement.isNull(1) else { return .found(StoreEntry(value: statement.data(0), metadata: metadata)) }
        guard metadata.size <= limit else { return .large }
        let size = Int(metadata.size)
        var value = Data(capacity: size)
        var previous = Int64.min
        while try statement.step() {
            let id = statement.int64(8)
            guard id > previous else { throw damaged(key, "its parts came out of order") }
            previous = id
            guard value.count + statement.length(0) <= size else {
                throw damaged(key, "its parts hold more than \(size) bytes")
            }
            statement.append(0, to: &value)
        }
        guard value.count == size else { throw damaged(key, "its parts hold \(value.count) bytes, not \(size)") }
        return .found(StoreEntry(value: value, metadata: metadata))
    }

    /// The parts of a value kept in parts (row ids and lengths), checked against its size.
    func segmentList(_ connection: SQLiteConnection, _ row: Row) throws -> [(id: Int64, length: Int)] {
        guard let segments = row.segments else { return [] }
        let statement = try connection.statement(sql.selectSegments)
        defer { statement.reset() }
        try statement.bind(1, segments)
        var parts: [(id: Int64, length: Int)] = []
        var total: Int64 = 0
        while try statement.step() {
            let length = statement.int64(1)
            parts.append((statement.int64(0), Int(length)))
            total += length
        }
        guard total == row.metadata.size else {
            throw damaged(row.metadata.key, "its parts hold \(total) bytes, not \(row.metadata.size)")
        }
        return parts
    }

    func damaged(_ key: StoreKey, _ reason: String) -> StoreError {
        StoreError(.integrity, operation: .read, key: key, store: description,
                   message: "the entry of '\(key)' in '\(path.path)' is damaged: \(reason)")
    }

    /// The live metadata of `key`.
    func metadataRow(_ connection: SQLiteConnection, _ key: StoreKey, now: Date) throws -> EntryMetadata? {
        let statement = try connection.statement(sql.selectMetadata)
        defer { statement.reset() }
        try statement.bind(1, text: key.rawValue)
        try statement.bind(2, Self.seconds(now))
        guard try statement.step() else { return nil }
        return Self.metadata(statement, key: key, from: 2)
    }

    /// Writes the row of `key` under `options`, with the value in the row (`value`) or in the
    /// parts of `segments` (of `size` bytes), and returns its metadata.
    ///
    /// - Throws: ``StoreError/Code/conditionFailed`` when the condition does not hold; nothing
    ///   is written then.
    func writeRow(
        _ connection: SQLiteConnection, _ key: StoreKey, value: Data, segments: Int64?, size: Int64,
        options: WriteOptions, now: Date
    ) throws -> EntryMetadata {
        let etag = nextETag()
        let expiration = options.expiry.expirationDate(writtenAt: now)
        let condition = options.condition
        let text: SQLText
        if condition.requiresAbsence {
            text = sql.writeIfAbsent
        } else if let expected = condition.expectedETag {
            guard expected.words != nil else { throw conditionFailed(connection, key, condition, .write, now: now) }
            text = sql.writeIfMatches
        } else {
            text = sql.writeAlways
        }
        let statement = try connection.statement(text)
        let (high, low) = etag.words!
        try statement.bind(1, text: key.rawValue)
        if let segments { try statement.bind(3, segments) } else { try statement.bindNull(3) }
        try statement.bind(4, size)
        try statement.bind(5, Int64(bitPattern: high))
        try statement.bind(6, Int64(bitPattern: low))
        try statement.bind(7, Self.seconds(now))
        try statement.bind(8, expiration.map(Self.seconds))
        if let expected = condition.expectedETag?.words {
            try statement.bind(9, Int64(bitPattern: expected.high))
            try statement.bind(10, Int64(bitPattern: expected.low))
        }
        let created: Double? = try statement.withBlob(2, segments == nil ? value : Data()) {
            if condition.requiresAbsence {
                // Its statement returns no row (see SQLiteStatements.writeIfAbsent).
                _ = try statement.step()
                return connection.changes > 0 ? Self.seconds(now) : nil
            }
            guard try statement.step() else { return nil }
            let created = statement.double(0)
            // Stepping to the end, not just resetting, lets SQLite run its automatic WAL
            // checkpoint after the commit; without it the log grows until some other statement
            // completes.
            while try statement.step() {}
            return created
        }
        guard let created else { throw conditionFailed(connection, key, condition, .write, now: now) }
        return EntryMetadata(key: key, size: size, etag: etag, modificationDate: now,
                             creationDate: Self.date(created), expirationDate: expiration)
    }

    /// The error of a condition that did not hold, saying what the key holds now (looked up
    /// on `connection`; left out if that lookup fails).
    func conditionFailed(
        _ connection: SQLiteConnection, _ key: StoreKey, _ condition: some CustomStringConvertible,
        _ operation: StoreOperation, now: Date
    ) -> StoreError {
        var message = "condition \(condition) failed"
        do {
            let current = try metadataRow(connection, key, now: now)
            message += ": the key " + (current.map { "holds version \($0.etag)" } ?? "holds no value")
        } catch {
            // The condition's failure is the error to report, with or without what the key holds.
        }
        return StoreError(.conditionFailed, operation: operation, key: key, store: description, message: message)
    }

    /// Writes `value` under `key`: in the row when it is small, else in parts written in the same
    /// transaction as the row.
    func write(_ connection: SQLiteConnection, _ value: Data, _ key: StoreKey, options: WriteOptions, now: Date) throws -> EntryMetadata {
        let metadata: EntryMetadata
        if value.count <= Self.inlineLimit {
            metadata = try writeRow(connection, key, value: value, segments: nil, size: Int64(value.count),
                                    options: options, now: now)
        } else {
            metadata = try atomically(connection) {
                var segments: Int64?
                var offset = 0
                while offset < value.count {
                    let end = min(offset + Self.segmentSize, value.count)
                    let id = try insertSegment(connection, value[offset..<end], valueID: segments, pendingSince: nil)
                    if segments == nil { segments = id }
                    offset = end
                }
                return try writeRow(connection, key, value: Data(), segments: segments, size: Int64(value.count),
                                    options: options, now: now)
            }
        }
        // Best effort, after the write has committed: a failure here must not report the write
        // as failed.
        if shouldPurge() { try? purgeSomeExpired(connection, now: now) }
        return metadata
    }

    /// Inserts one part of the value `valueID` (a new value when `nil`); returns the part's row
    /// id, which is the value's identifier for its first part.
    func insertSegment(_ connection: SQLiteConnection, _ bytes: Data, valueID: Int64?, pendingSince: Date?) throws -> Int64 {
        let statement = try connection.statement(pendingSince == nil ? sql.insertSegment : sql.insertPendingSegment)
        if let valueID { try statement.bind(1, valueID) } else { try statement.bindNull(1) }
        if let pendingSince { try statement.bind(3, Self.seconds(pendingSince)) }
        try statement.withBlob(2, bytes) { _ = try statement.step() }
        return sqlite3_last_insert_rowid(connection.handle)
    }

    /// Runs `body` atomically: in a write transaction of its own, or in a savepoint inside the
    /// transaction already open on `connection`.
    func atomically<T>(_ connection: SQLiteConnection, _ body: () throws -> T) throws -> T {
        guard sqlite3_get_autocommit(connection.handle) == 0 else { return try connection.writeTransaction(body) }
        try connection.execute("SAVEPOINT trove_write")
        do {
            let result = try body()
            try connection.execute("RELEASE trove_write")
            return result
        } catch {
            _ = sqlite3_exec(connection.handle, "ROLLBACK TO trove_write; RELEASE trove_write", nil, nil, nil)
            throw error
        }
    }

    /// Deletes the row of `key` if `condition` holds; returns whether it held a live value.
    func deleteRow(_ connection: SQLiteConnection, _ key: StoreKey, condition: DeleteCondition, now: Date) throws -> Bool {
        if let expected = condition.expectedETag {
            guard let words = expected.words else { throw conditionFailed(connection, key, condition, .delete, now: now) }
            let statement = try connection.statement(sql.deleteIfMatches)
            defer { statement.reset() }
            try statement.bind(1, text: key.rawValue)
            try statement.bind(2, Self.seconds(now))
            try statement.bind(3, Int64(bitPattern: words.high))
            try statement.bind(4, Int64(bitPattern: words.low))
            _ = try statement.step()
            guard connection.changes > 0 else { throw conditionFailed(connection, key, condition, .delete, now: now) }
            return true
        }
        /// Whether the statement deleted the row.
        func deletes(_ text: SQLText) throws -> Bool {
            let statement = try connection.statement(text)
            defer { statement.reset() }
            try statement.bind(1, text: key.rawValue)
            try statement.bind(2, Self.seconds(now))
            _ = try statement.step()
            return connection.changes > 0
        }
        if try deletes(sql.deleteLive) { return true }
        // An expired row goes too, but was no live value.
        _ = try deletes(sql.deleteExpired)
        return false
    }

    /// Deletes up to 64 expired rows.
    func purgeSomeExpired(_ connection: SQLiteConnection, now: Date) throws {
        let statement = try connection.statement(sql.purgeSomeExpired)
        defer { statement.reset() }
        try statement.bind(1, Self.seconds(now))
        _ = try statement.step()
    }
}
