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
        let generation = etag.rawValue
        let count = (value.count + Self.chunkByteCount - 1) / Self.chunkByteCount
        do {
            try await mapping(.write, key) {
                for first in stride(from: 0, to: count, by: Self.chunksPerPipeline) {
                    let commands = (first..<min(count, first + Self.chunksPerPipeline)).map { index in
                        let start = value.startIndex + index * Self.chunkByteCount
                        let bytes = value[start..<min(value.endIndex, start + Self.chunkByteCount)]
                        return RedisCommand("SET", argumentCount: 4) { writer in
                            writer.append(chunkKey(key, generation: generation, index))
                            writer.append(bytes)
                            writer.append("PX")
                            writer.append(Self.stagingMilliseconds)
                        }
                    }
                    for reply in try await client.pipeline(commands) { _ = try serverReply(reply, .write, key) }
                }
            }
        } catch {
            // Best effort: staged chunks expire by themselves.
            _ = try? await client.pipeline((0..<count).map { RedisCommand("DEL", chunkKey(key, generation: generation, $0)) })
            throw error
        }
        let (condition, expected) = scriptCondition(options.condition)
        let expiry = serverExpiry(for: options.expiry)
        let reply = try await mapping(.write, key) {
            try await client.run(RedisStoreScripts.writeChunked, keys: scriptKeys(key), arguments: [
                key.rawValue, generation, condition, expected, expiry.kind, String(expiry.milliseconds),
                String(expiry.slidingMilliseconds), String(count), String(value.count),
            ])
        }
        return try written(reply, key, size: Int64(value.count), etag: etag, options: options).get()
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
