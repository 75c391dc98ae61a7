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
    /// value out when its ETag is `ReadOptions.ifNoneMatch`; a renewed expiry is an `UPDATE …
    /// RETURNING` of the live row, keeping its value and ETag.
    public func read(_ key: StoreKey, options: ReadOptions) async throws -> ReadOutcome<StoreEntry>? {
        if options.isNone { return try await read(key).map { .value($0) } }
        let (start, length) = Self.rangeParameters(options.range)
        guard let (metadata, value) = try await readRange(key, options: options, start: start, length: length) else { return nil }
        if let etag = options.ifNoneMatch, metadata.etag == etag { return .unchanged(metadata) }
        return .value(StoreEntry(value: value ?? Data(), metadata: metadata))
    }

    /// The one statement of a read under `options`: the live entry's metadata and at most
    /// `length` bytes of its value from `start` (``rangeParameters(_:)``), cut on the server
    /// (`nil` when the ETag is ``ReadOptions/ifNoneMatch``), with the expiry renewed in the
    /// same statement when `options` ask.
    private func readRange(_ key: StoreKey, options: ReadOptions, start: Int64, length: Int32) async throws
        -> (metadata: EntryMetadata, value: Data?)? {
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
            (try Self.metadata(row, from: 1, key: key), try row[0].decode(Data?.self))
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

    /// The live value of `key` in chunks of at most `chunkSize` bytes, read from the server a
    /// piece (1 MiB, or `chunkSize` when larger) at a time as the chunks are read (see
    /// ``readStream(_:chunkSize:options:)``).
    public func readStream(_ key: StoreKey, chunkSize: Int) async throws -> StreamedEntry? {
        try await readStream(key, chunkSize: chunkSize, options: ReadOptions())?.body
    }

    /// Opens `key` under `options`: one statement reads the metadata and the first piece (with
    /// the range cut and the expiry renewed on the server); the rest of the range is read a
    /// piece at a time as the chunks are read, each piece of the version the stream opened.
    /// The client never holds more than a piece. A value replaced or deleted while its stream
    /// is read fails the stream with `StoreError.Code.conditionFailed`: read it again. A
    /// stream abandoned midway holds nothing on the server.
    public func readStream(_ key: StoreKey, chunkSize: Int, options: ReadOptions) async throws -> ReadOutcome<StreamedEntry>? {
        let chunkSize = max(1, chunkSize)
        let piece = max(Self.partSize, chunkSize)
        let (start, length) = Self.rangeParameters(options.range)
        guard let (metadata, first) = try await readRange(key, options: options, start: start,
                                                          length: Int32(clamping: min(Int(length), piece))) else { return nil }
        if let etag = options.ifNoneMatch, metadata.etag == etag { return .unchanged(metadata) }
        let head = first ?? Data()
        // Where the range lies in the value, now that its size is known.
        let from = start < 0 ? max(metadata.size + start, 0) : min(start, metadata.size)
        let end = length == Int32.max ? metadata.size : min(metadata.size, from + Int64(length))
        guard from + Int64(head.count) < end else {
            return .value(StreamedEntry(metadata: metadata, chunks: ValueChunks(chunksOf: head, chunkSize: chunkSize)))
        }
        let reader = PieceReader(store: self, key: key, etag: metadata.etag.rawValue)
        let chunks = ValueChunks {
            var pending = head, pendingOffset = 0
            var next = from + Int64(head.count)
            return ValueChunks.ChunkSource {
                if pendingOffset == pending.count {
                    guard next < end else { return nil }
                    pending = try await reader.piece(at: next, count: Int(min(Int64(piece), end - next)))
                    pendingOffset = 0
                    next += Int64(pending.count)
                }
                let count = min(chunkSize, pending.count - pendingOffset)
                let chunk = pending.subdata(in: pending.startIndex + pendingOffset..<pending.startIndex + pendingOffset + count)
                pendingOffset += count
                return chunk
            }
        }
        return .value(StreamedEntry(metadata: metadata, chunks: chunks))
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

    /// Writes `value` under `key`, or, when `partsSize` is given, the parts of that many bytes
    /// in the temporary table of `connection`'s transaction (a streamed write).
    func write(_ value: Data, for key: StoreKey, options: WriteOptions, on connection: PostgresConnection?,
               partsSize: Int64? = nil) async throws -> EntryMetadata {
        let size = partsSize ?? Int64(value.count)
        guard size <= Int64(self.options.maximumValueSize) else { throw tooLarge(size, key) }
        let condition = options.condition
        let kind: PostgresStatements.WriteStatement = condition.requiresAbsence ? .ifAbsent
            : condition.expectedETag != nil ? .ifMatches : .always
        let statement = sql.write(kind, fromParts: partsSize != nil)
        let (absolute, microseconds) = Self.expiryParameters(options.expiry)
        let query = try Self.query(statement) { bindings in
            try bindings.append(key.rawValue)
            try bindings.append(value)
            bindings.append(size)
            try bindings.append(nextETag())
            try bindings.append(absolute)
            bindings.append(microseconds)
            if let etag = condition.expectedETag { try bindings.append(etag.rawValue) }
        }
        // The parts' statements name a temporary table, so they are not kept prepared.
        let rows = try await rows(.write, key, query, on: connection, prepared: partsSize == nil)
        guard let row = rows.first?.makeRandomAccess() else { throw conditionFailed(.write, key, condition.description) }
        return try decoding(.write, key) { try Self.metadata(row, from: 0, key: key) }
    }

    /// The size of the parts a streamed write sends, and of the pieces a stream reads.
    static let partSize = 1 << 20

    /// Writes the chunks under `key`, refusing them as soon as they add up to more than
    /// ``Options/maximumValueSize`` (without reading further).
    ///
    /// A value that ends within one part (1 MiB) is written in one statement, as
    /// ``write(_:for:options:)`` writes it. A larger one goes to the server part by part as the
    /// chunks come, into a temporary table of one transaction, and the last statement of that
    /// transaction puts the parts together on the server and writes them under the condition:
    /// the client holds about one part at a time, readers see the previous value until the
    /// transaction commits, and a write that fails (or a process that dies) leaves nothing
    /// behind, since the temporary table goes with the transaction.
    public func write<Chunks: AsyncSequence & Sendable>(
        contentsOf chunks: Chunks, for key: StoreKey, options: WriteOptions
    ) async throws -> EntryMetadata where Chunks.Element == Data {
        let maximum = Int64(self.options.maximumValueSize)
        if let expected = options.expectedSize, expected > maximum { throw tooLarge(expected, key) }
        let source = ValueChunks(chunks, checkedAgainst: options, key: key, store: description)
        var iterator = source.makeAsyncIterator()
        var buffer = Data()
        var ended = false
        while buffer.count <= Self.partSize {
            guard let chunk = try await iterator.next() else {
                ended = true
                break
            }
            buffer.append(chunk)
            if Int64(buffer.count) > maximum { throw tooLarge(Int64(buffer.count), key) }
        }
        if ended { return try await write(buffer, for: key, options: options) }
        var total = Int64(buffer.count), parts: Int32 = 0
        let metadata = try await inTransaction(.write) { connection in
            _ = try await rows(.write, key, PostgresQuery(unsafeSQL: PostgresStatements.createParts), on: connection, prepared: false)
            func send(_ part: Data) async throws {
                let query = try Self.query(PostgresStatements.insertPart) { bindings in
                    bindings.append(parts)
                    try bindings.append(part)
                }
                _ = try await rows(.write, key, query, on: connection, prepared: false)
                parts += 1
            }
            while true {
                while buffer.count >= Self.partSize {
                    try await send(buffer.prefix(Self.partSize))
                    // A copy of the rest: dropping the front of a `Data` in place can keep its
                    // storage, which the next chunks would then grow by the whole value.
                    buffer = buffer.subdata(in: buffer.startIndex + Self.partSize..<buffer.endIndex)
                }
                guard let chunk = try await iterator.next() else { break }
                buffer.append(chunk)
                total += Int64(chunk.count)
                if total > maximum { throw tooLarge(total, key) }
            }
            if !buffer.isEmpty { try await send(buffer) }
            return try await write(Data(), for: key, options: options, on: connection, partsSize: total)
        }
        if shouldPurge() { await purgeSome() }
        return metadata
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

/// Reads the pieces of one version of a value, for a stream.
private struct PieceReader: Sendable {
    let store: PostgresStore
    let key: StoreKey
    let etag: String

    /// The `count` bytes at `offset`, of the version whose ETag the stream opened.
    func piece(at offset: Int64, count: Int) async throws -> Data {
        let query = try PostgresStore.query(store.sql.readPiece) { bindings in
            try bindings.append(key.rawValue)
            bindings.append(offset)
            bindings.append(Int32(count))
            try bindings.append(etag)
        }
        let rows = try await store.rows(.read, key, query)
        guard let row = rows.first else {
            throw StoreError(.conditionFailed, operation: .read, key: key, store: store.description,
                             message: "the value changed after its stream was opened (ETag \(etag) is gone); read it again")
        }
        let bytes = try store.decoding(.read, key) { try row.decode(Data.self) }
        guard bytes.count == count else {
            throw StoreError(.io, operation: .read, key: key, store: store.description,
                             message: "the server returned \(bytes.count) bytes at offset \(offset) where \(count) were due")
        }
        return bytes
    }
}
