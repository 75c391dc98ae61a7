import Foundation
import NIOCore
import Trove
import TroveRedisClient

extension RedisStore {
    /// Values longer than this many bytes (1 MiB) are kept in chunks of this size rather than in
    /// the entry's hash, so that no command carries more than a chunk of them, and the server
    /// never copies a large value through a script. (``Layout/plain`` keeps every value whole:
    /// other programs read its strings.)
    public static let chunkByteCount = 1 << 20

    /// How long the chunks of a replaced or deleted value stay readable (60 seconds), for a
    /// reader that had begun to read them: it reads the value it began with. A read that finds
    /// its chunks gone all the same starts again from the entry, once.
    public static let chunkGraceMilliseconds = 60_000

    /// How long staged chunks live unless the write that stages them ends (an hour): what a
    /// writer that died half-way leaves behind goes by itself.
    static let stagingMilliseconds = 3_600_000

    /// How many chunks go in one pipeline: the most bytes of a value one command batch holds.
    static let chunksPerPipeline = 8

    /// Where chunk `index` of generation `generation` of `key`'s value lives: beside the entry's
    /// hash, with its hash tag, so on the same slot of a cluster.
    func chunkKey(_ key: StoreKey, generation: String, _ index: Int) -> String {
        serverKey(key) + "\u{1}" + generation + ":" + String(index)
    }

    /// Writes `value` (longer than ``chunkByteCount``) in chunks: each staged with a time to
    /// live, then the write script that checks the condition and makes them the entry's value,
    /// so that readers see the old value or the new one, never a part.
    func writeChunked(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        let etag = makeETag()
        let count = (value.count + Self.chunkByteCount - 1) / Self.chunkByteCount
        try await staging(key, etag: etag, count: { count }) {
            for first in stride(from: 0, to: count, by: Self.chunksPerPipeline) {
                let pieces = (first..<min(count, first + Self.chunksPerPipeline)).map { index in
                    let start = value.startIndex + index * Self.chunkByteCount
                    return value[start..<min(value.endIndex, start + Self.chunkByteCount)]
                }
                try await stage(pieces, of: key, generation: etag.rawValue, from: first)
            }
        }
        return try await commitChunks(of: key, etag: etag, count: count, size: Int64(value.count), options: options)
    }

    /// Writes the bytes of `chunks` as they come: a value that stays within ``chunkByteCount``
    /// is written whole, and a longer one is staged a chunk at a time (holding at most a chunk
    /// and the piece that passes it), then made the entry's value in one step.
    func writeStreamed<Chunks: AsyncSequence & Sendable>(
        _ chunks: Chunks, for key: StoreKey, options: WriteOptions
    ) async throws -> EntryMetadata where Chunks.Element == Data {
        let checked = ValueChunks(chunks, checkedAgainst: options, key: key, store: description)
        let etag = makeETag()
        var buffer = Data()
        var staged = 0
        try await staging(key, etag: etag, count: { staged }) {
            for try await piece in checked {
                buffer.append(piece)
                while buffer.count > Self.chunkByteCount {
                    try await stage([buffer.prefix(Self.chunkByteCount)], of: key, generation: etag.rawValue, from: staged)
                    staged += 1
                    buffer = Data(buffer.dropFirst(Self.chunkByteCount))
                }
            }
            if staged > 0, !buffer.isEmpty {
                try await stage([buffer], of: key, generation: etag.rawValue, from: staged)
                staged += 1
            }
        }
        if staged == 0 { return try await write(buffer, for: key, options: options) }
        let size = Int64(staged - 1) * Int64(Self.chunkByteCount) + Int64(buffer.count)
        return try await commitChunks(of: key, etag: etag, count: staged, size: size, options: options)
    }

    /// Runs `body`, which stages chunks of generation `etag`; when it fails (or is cancelled),
    /// deletes the `count()` chunks staged so far, as far as the server can be reached (what
    /// is left expires by itself), and rethrows.
    private func staging(_ key: StoreKey, etag: ETag, count: () -> Int, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch {
            let staged = count()
            if staged > 0 {
                _ = try? await client.pipeline((0..<staged).map { RedisCommand("DEL", chunkKey(key, generation: etag.rawValue, $0)) })
            }
            throw error
        }
    }

    /// Stages `pieces` as chunks `first`, `first + 1`, … of generation `generation`, in one
    /// pipeline, each with ``stagingMilliseconds`` to live.
    private func stage(_ pieces: [Data], of key: StoreKey, generation: String, from first: Int) async throws {
        let commands = pieces.enumerated().map { offset, bytes in
            RedisCommand("SET", argumentCount: 4) { writer in
                writer.append(chunkKey(key, generation: generation, first + offset))
                writer.append(bytes)
                writer.append("PX")
                writer.append(Self.stagingMilliseconds)
            }
        }
        try await mapping(.write, key) {
            for reply in try await client.pipeline(commands) { _ = try serverReply(reply, .write, key) }
        }
    }

    /// The write script that checks the condition and makes the `count` staged chunks of
    /// generation `etag` (`size` bytes in all) the entry's value.
    private func commitChunks(of key: StoreKey, etag: ETag, count: Int, size: Int64, options: WriteOptions) async throws -> EntryMetadata {
        let (condition, expected) = scriptCondition(options.condition)
        let expiry = serverExpiry(for: options.expiry)
        let reply = try await mapping(.write, key) {
            try await client.run(RedisStoreScripts.writeChunked, keys: scriptKeys(key), arguments: [
                key.rawValue, etag.rawValue, condition, expected, expiry.kind, String(expiry.milliseconds),
                String(expiry.slidingMilliseconds), String(count), String(size),
            ])
        }
        return try written(reply, key, size: size, etag: etag, options: options).get()
    }

    /// The chunks of `value` as a stream of pieces of `chunkSize` bytes, read from the server a
    /// chunk at a time as the stream is read.
    func streamChunks(_ value: ChunkedValue, of key: StoreKey, chunkSize: Int) -> ValueChunks {
        let size = max(1, chunkSize)
        return ValueChunks { [self] in
            var index = 0
            var buffer = Data()
            var offset = 0  // where the next piece starts in buffer
            var read: Int64 = 0
            return ValueChunks.ChunkSource { [self] in
                while buffer.count - offset < size && index < value.count {
                    let reply = try await mapping(.read, key) {
                        try serverReply(try await client.send(RedisCommand("GET", chunkKey(key, generation: value.generation, index))), .read, key)
                    }
                    if reply.isNull {
                        throw StoreError(.conditionFailed, operation: .read, key: key, store: description,
                                         message: "the value was replaced or deleted while its stream was read, longer ago than its chunks are kept (\(Self.chunkGraceMilliseconds / 1000) s): read it again")
                    }
                    guard let bytes = reply.bytes else { throw unexpected(reply, .read, key) }
                    if offset > 0 {
                        buffer = Data(buffer[offset...])
                        offset = 0
                    }
                    buffer.append(contentsOf: bytes.readableBytesView)
                    read += Int64(bytes.readableBytes)
                    index += 1
                }
                if index == value.count && read != value.size {
                    throw StoreError(.integrity, operation: .read, key: key, store: description,
                                     message: "the chunks of the value at '\(serverKey(key))' hold \(read) bytes, not \(value.size)")
                }
                guard offset < buffer.count else { return nil }
                let end = min(buffer.count, offset + size)
                defer { offset = end }
                return Data(buffer[offset..<end])
            }
        }
    }

    /// Where a value kept in chunks is: what an entry's hash says in `g`, `n` and `s`.
    struct ChunkedValue {
        var generation: String
        var count: Int
        var size: Int64
    }

    /// The chunks of a value from the hash's `g`, `n` and `s` fields; `nil` when `g` is absent
    /// (the value is in `v`).
    func chunkedValue(generation: RESPValue, count: RESPValue, size: RESPValue, _ key: StoreKey) throws -> ChunkedValue? {
        guard !generation.isNull else { return nil }
        guard let name = generation.string, let count = count.int64, count > 0, let size = size.int64, size >= 0 else {
            throw StoreError(.integrity, operation: .read, key: key, store: description,
                             message: "the entry's hash at '\(serverKey(key))' names its chunks incompletely")
        }
        return ChunkedValue(generation: name, count: Int(count), size: size)
    }

    /// Reads the chunks of a value; `nil` when one is gone (the value was replaced or deleted
    /// longer than ``chunkGraceMilliseconds`` ago).
    func readChunks(_ value: ChunkedValue, of key: StoreKey) async throws -> Data? {
        var data = Data()
        data.reserveCapacity(Int(value.size))
        for first in stride(from: 0, to: value.count, by: Self.chunksPerPipeline) {
            let commands = (first..<min(value.count, first + Self.chunksPerPipeline)).map {
                RedisCommand("GET", chunkKey(key, generation: value.generation, $0))
            }
            let replies = try await mapping(.read, key) { try await client.pipeline(commands) }
            for reply in replies {
                let reply = try serverReply(reply, .read, key)
                if reply.isNull { return nil }
                guard let bytes = reply.bytes else { throw unexpected(reply, .read, key) }
                data.append(contentsOf: bytes.readableBytesView)
            }
        }
        guard data.count == value.size else {
            throw StoreError(.integrity, operation: .read, key: key, store: description,
                             message: "the chunks of the value at '\(serverKey(key))' hold \(data.count) bytes, not \(value.size)")
        }
        return data
    }

    /// The error for a value whose chunks are gone from under an entry that still names them.
    func chunksGone(_ key: StoreKey) -> StoreError {
        StoreError(.integrity, operation: .read, key: key, store: description,
                   message: "chunks of the value at '\(serverKey(key))' are missing on the server (deleted or evicted by something else)")
    }
}
