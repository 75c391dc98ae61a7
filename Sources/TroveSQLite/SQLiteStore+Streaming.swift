import CTroveSQLite
public import Foundation
import Synchronization
public import Trove

extension SQLiteStore {
    /// The live entry under `key` in chunks of about `chunkSize` bytes.
    ///
    /// A value kept in parts is read with SQLite's incremental blob I/O, one chunk at a time, on
    /// a connection of its own that holds a read snapshot from this call until the last chunk
    /// (or until the stream is released), so it never comes out whole and a concurrent write
    /// never tears it. Iterating the chunks a second time opens a new snapshot and throws
    /// `StoreError.Code.conditionFailed` if the value was replaced meanwhile.
    public func readStream(_ key: StoreKey, chunkSize: Int) async throws -> StreamedEntry? {
        let now = clock.now
        let size = max(1, chunkSize)
        let found = try await perform(.read, key, writes: false) { [self] connection -> Row? in
            try row(connection, key, now: now)
        }
        guard let found else { return nil }
        if let value = found.value {
            return StreamedEntry(metadata: found.metadata, chunks: ValueChunks(chunksOf: value, chunkSize: size))
        }
        let opened = try await perform(.read, key, writes: false, heavy: true) { [self] _ in
            try SegmentReader(store: self, key: key, now: now)
        }
        guard let opened else { return nil }
        let metadata = opened.metadata
        let state = SegmentStreamState(opened)
        let description = self.description
        let chunks = ValueChunks { [self] in
            ValueChunks.ChunkSource {
                var reader = try state.beginRead(key: key, store: description)
                defer { state.endRead() }
                if reader == nil {
                    let again = try await self.perform(.read, key, writes: false, heavy: true) { [self] _ in
                        guard let again = try SegmentReader(store: self, key: key, now: now),
                              again.metadata.etag == metadata.etag else {
                            throw StoreError(.conditionFailed, operation: .read, key: key, store: description,
                                             message: "the value changed after its stream was opened; read it again")
                        }
                        return again
                    }
                    state.install(again)
                    reader = again
                }
                do {
                    let chunk = try reader!.next(size)
                    if chunk == nil { state.finished() }
                    return chunk
                } catch {
                    throw self.storeError(error, .read, key)
                }
            }
        }
        // Closing drops the snapshot's connection: at once, or when the read in progress ends.
        return StreamedEntry(metadata: metadata, chunks: chunks, closer: StreamCloser { state.close() })
    }

    /// Streams `chunks` into parts of up to 1 MiB, each committed on its own, then links them to
    /// `key` under `options` in one transaction. Memory holds at most about two parts. A value
    /// that ends up no larger than ``inlineLimit`` is written into its row.
    ///
    /// Until it is linked, the value is *pending*: its first row in the parts table is an empty
    /// marker stamped with the time the write began, and linking clears that stamp alone, so
    /// that no part is written twice.
    ///
    /// Parts of a write that fails are deleted; those of a process that died while writing are
    /// deleted by ``reclaimExpired()`` after an hour.
    public func write<Chunks: AsyncSequence & Sendable>(
        contentsOf chunks: Chunks, for key: StoreKey, options: WriteOptions
    ) async throws -> EntryMetadata where Chunks.Element == Data {
        // A read-only store refuses before reading a single chunk.
        guard self.options.accessMode == .readWrite else { throw refusal(.write, key) }
        let started = clock.now
        var buffer = Data()
        var size: Int64 = 0
        var valueID: Int64?
        do {
            for try await chunk in ValueChunks(chunks, checkedAgainst: options, key: key, store: description) {
                try Task.checkCancellation()
                buffer.append(chunk)
                size += Int64(chunk.count)
                while buffer.count > Self.segmentSize {
                    let part = Data(buffer.prefix(Self.segmentSize))
                    buffer = Data(buffer.dropFirst(Self.segmentSize))
                    let first = valueID
                    valueID = try await perform(.write, key, writes: true, heavy: true) { [self] connection in
                        try atomically(connection) {
                            let marker = try first ?? insertSegment(connection, Data(), valueID: nil, pendingSince: started)
                            _ = try insertSegment(connection, part, valueID: marker, pendingSince: nil)
                            return marker
                        }
                    }
                }
            }
            guard let linked = valueID else {
                return try await write(buffer, for: key, options: options)
            }
            let rest = buffer, total = size, now = clock.now
            return try await perform(.write, key, writes: true, heavy: true) { [self] connection in
                try atomically(connection) {
                    if !rest.isEmpty { _ = try insertSegment(connection, rest, valueID: linked, pendingSince: nil) }
                    let settle = try connection.statement(sql.settleSegments)
                    defer { settle.reset() }
                    try settle.bind(1, linked)
                    _ = try settle.step()
                    let totals = try connection.statement(sql.segmentTotals)
                    defer { totals.reset() }
                    try totals.bind(1, linked)
                    _ = try totals.step()
                    guard totals.int64(1) == total else {
                        throw StoreError(.unavailable, operation: .write, key: key, store: description,
                                         message: "parts of the streamed value were deleted while it was written "
                                            + "(was it written for over an hour?); nothing was stored", isRetryable: true)
                    }
                    return try writeRow(connection, key, value: Data(), segments: linked, size: total,
                                        options: options, now: now)
                }
            }
        } catch {
            if let valueID {
                // Best effort: what is reported is the write's error.
                _ = try? await perform(.write, key, writes: true, heavy: true) { [self] connection in
                    let delete = try connection.statement(sql.deleteSegments)
                    defer { delete.reset() }
                    try delete.bind(1, valueID)
                    _ = try delete.step()
                }
            }
            throw error
        }
    }
}

/// Reads a value kept in parts, one chunk at a time, through SQLite's incremental blob I/O on a
/// connection of its own that holds one read snapshot until the last chunk (or until the
/// reader is released).
/// What a streamed value kept in parts shares between its iterators and its closer: the reader
/// (the snapshot's connection) in use, and whether the stream was closed early.
final class SegmentStreamState: Sendable {
    private struct State {
        var current: SegmentReader?
        var reading = false
        var closeRequested = false
        var closed = false
    }

    private let state: Mutex<State>

    init(_ first: SegmentReader) { state = Mutex(State(current: first)) }

    /// Marks a read as started and returns the reader to use (`nil`: open a new snapshot), or
    /// throws if the stream was closed.
    func beginRead(key: StoreKey, store: String) throws -> SegmentReader? {
        try state.withLock { state in
            if state.closed || state.closeRequested {
                throw StoreError(.invalidArgument, operation: .read, key: key, store: store,
                                 message: "the stream was read after it was closed")
            }
            state.reading = true
            return state.current
        }
    }

    /// Keeps a newly opened reader for the reads that follow.
    func install(_ reader: SegmentReader) {
        state.withLock { $0.current = reader }
    }

    /// The reader reached the end of the value: a later iteration opens a new snapshot.
    func finished() {
        let done = state.withLock { state in
            defer { state.current = nil }
            return state.current
        }
        _ = done  // released outside the lock
    }

    /// Marks the read as ended, releasing the reader if the stream was closed meanwhile.
    func endRead() {
        let released: SegmentReader? = state.withLock { state in
            state.reading = false
            guard state.closeRequested else { return nil }
            state.closed = true
            defer { state.current = nil }
            return state.current
        }
        _ = released
    }

    /// Closes the stream: releases the reader now, or once the read in progress ends.
    func close() {
        let released: SegmentReader? = state.withLock { state in
            if state.reading {
                state.closeRequested = true
                return nil
            }
            state.closed = true
            defer { state.current = nil }
            return state.current
        }
        _ = released
    }
}

final class SegmentReader: @unchecked Sendable {
    private let connection: SQLiteConnection
    private let table: String
    private let parts: [(id: Int64, length: Int)]
    private var index = 0
    private var offset = 0
    private var blob: OpaquePointer?
    private var isOpen = true
    /// The value, when the snapshot keeps it in its row.
    private var inline: Data?

    /// The metadata of the value, as of the snapshot.
    let metadata: EntryMetadata

    /// Opens a snapshot and finds the live value of `key` in it; `nil` when there is none.
    init?(store: SQLiteStore, key: StoreKey, now: Date) throws {
        connection = try SQLiteConnection(path: store.path.path, mode: store.connectionMode)
        table = store.sql.segments
        connection.waitDeadline = deadline(after: store.options.busyTimeout)
        try connection.execute("BEGIN")
        guard let row = try store.row(connection, key, now: now) else {
            _ = sqlite3_exec(connection.handle, "COMMIT", nil, nil, nil)
            return nil
        }
        metadata = row.metadata
        // The value may have been replaced by a small one since the caller looked.
        inline = row.value
        parts = try store.segmentList(connection, row)
        connection.waitDeadline = 0
    }

    deinit { close() }

    /// The next chunk of at most `size` bytes, or `nil` at the end.
    func next(_ size: Int) throws -> Data? {
        if let value = inline, !value.isEmpty {
            let chunk = Data(value.prefix(size))
            inline = Data(value.dropFirst(size))
            return chunk
        }
        while index < parts.count {
            let part = parts[index]
            guard offset < part.length else {
                index += 1
                offset = 0
                continue
            }
            if offset == 0 {
                let status = blob == nil
                    ? sqlite3_blob_open(connection.handle, "main", table, "data", part.id, 0, &blob)
                    : sqlite3_blob_reopen(blob, part.id)
                guard status == SQLITE_OK else { throw connection.failure(status) }
            }
            let count = min(size, part.length - offset)
            var chunk = Data(count: count)
            let status = chunk.withUnsafeMutableBytes { buffer in
                sqlite3_blob_read(blob, buffer.baseAddress, Int32(count), Int32(offset))
            }
            guard status == SQLITE_OK else { throw connection.failure(status) }
            offset += count
            return chunk
        }
        close()
        return nil
    }

    private func close() {
        guard isOpen else { return }
        isOpen = false
        if let blob { sqlite3_blob_close(blob) }
        blob = nil
        _ = sqlite3_exec(connection.handle, "COMMIT", nil, nil, nil)
    }
}
