import Foundation
import Testing
import Trove
@testable import TroveRedis
import TroveRedisClient
import TroveTestSupport

/// What the conformance suite does not see: round trips, the layout on the server, counters,
/// sliding reads, errors. Serialized: one test flushes the server's scripts, which would add a
/// round trip to the calls another one counts.
@Suite("RedisStore", .serialized, .enabled(if: TestServer.redis.isAvailable, TestServer.redis.absence))
struct RedisStoreTests {
    /// Runs `body` with a store under a fresh prefix, removed afterwards.
    func withStore(expiration: RedisStore.Expiration = .none, _ body: (RedisStore, RedisClient) async throws -> Void) async throws {
        try await withTestClient(connections: 1) { client in
            let prefix = uniquePrefix("store")
            do {
                try await body(RedisStore(client: client, prefix: prefix, expiration: expiration), client)
            } catch {
                try? await deleteServerKeys(withPrefix: prefix, client: client)
                throw error
            }
            try await deleteServerKeys(withPrefix: prefix, client: client)
        }
    }

    @Test func expiryIsReportedByMetadata() async throws {
        try await withStore { store, client in
            let written = try await store.set(Data("v".utf8), for: "e/short", expiry: .after(.seconds(3600)))
            let fields = try await client.send(RedisCommand("HGETALL", store.prefix + "e/short"))
            let metadata = try await store.metadata(for: "e/short")
            #expect(written.expirationDate != nil, "\(fields)")
            #expect(metadata?.expirationDate != nil, "\(fields)")
            #expect(try await store.reclaimExpired() == 0)
        }
    }

    /// The client's own counters: a read, a write (conditional or not), a delete, a metadata
    /// lookup and a sliding read are one command in one write each; a batch of 100 is one
    /// write. (The first use of each script on a server costs one more: `NOSCRIPT`, then
    /// `EVAL`; the calls are made once before they are counted.)
    @Test func roundTrips() async throws {
        try await withStore(expiration: .sliding(.seconds(60))) { store, client in
            func trips(_ body: () async throws -> Void) async throws -> (commands: Int, writes: Int) {
                try await commandsAndWrites(of: client, body)
            }
            let keys = (0..<100).map { StoreKey(stringLiteral: "b/\($0)") }
            func everyCall(_ etag: ETag) async throws {
                _ = try await store.read("k")
                _ = try await store.metadata(for: "k")
                _ = try await store.set(Data("w".utf8), for: "k", condition: .ifMatches(etag))
                _ = try await store.read("k", options: ReadOptions(refreshingExpiry: .after(.seconds(5))))
                try await store.increment("n")
                _ = try await store.deleteBatch(keys)
            }
            try await everyCall(try await store.set(Data("v".utf8), for: "k").etag)
            let written = try await store.set(Data("v".utf8), for: "k")
            #expect(try await trips { _ = try await store.read("k") } == (1, 1))
            #expect(try await trips { _ = try await store.metadata(for: "k") } == (1, 1))
            #expect(try await trips { _ = try await store.set(Data("w".utf8), for: "k", condition: .ifMatches(written.etag)) }.commands == 1)
            #expect(try await trips { _ = try await store.read("k", options: ReadOptions(refreshingExpiry: .after(.seconds(5)))) } == (1, 1))
            #expect(try await trips { try await store.increment("n") } == (1, 1))
            #expect(try await trips { _ = try await store.writeBatch(keys.map { BatchWrite($0, Data("x".utf8)) }) } == (100, 1))
            #expect(try await trips { _ = try await store.readBatch(keys) } == (100, 1))
            #expect(try await trips { _ = try await store.deleteBatch(keys) } == (100, 1))
            #expect(try await trips { _ = try await store.delete("k") } == (1, 1))
        }
    }

    /// The entry's hash and the index are what the documentation says, readable with
    /// redis-cli.
    @Test func layoutOnTheServer() async throws {
        try await withStore { store, client in
            let written = try await store.set(Data("hello".utf8), for: "users/alice")
            let value = try await client.send(RedisCommand("HGET", store.prefix + "users/alice", "v"))
            #expect(value.string == "hello")
            let etag = try await client.send(RedisCommand("HGET", store.prefix + "users/alice", "e"))
            #expect(etag.string == written.etag.rawValue)
            let members = try await client.send(RedisCommand("ZRANGE", store.prefix + "\u{1}keys", 0, -1))
            #expect(members.array?.compactMap(\.string) == ["users/alice"])
            try await store.set(Data("x".utf8), for: "t", expiry: .after(.seconds(100)))
            let ttl = try await client.send(RedisCommand("PTTL", store.prefix + "t")).int64 ?? 0
            #expect(ttl > 90_000 && ttl <= 100_000)
        }
    }

    /// An overwrite leaves the hash, its time to live and the expiry index as a first write
    /// would: the write script skips the clean-up of an entry that had no expiry, and must not
    /// skip it for one that had.
    @Test func overwritesMoveBetweenExpiringAndPermanent() async throws {
        try await withStore { store, client in
            let hash = store.prefix + "k", expiring = store.prefix + "\u{1}expiry"
            func state() async throws -> (fields: [String], ttl: Int64, indexed: Bool, value: String?) {
                let names = try await client.send(RedisCommand("HKEYS", hash)).array?.compactMap(\.string) ?? []
                let ttl = try await client.send(RedisCommand("PTTL", hash)).int64 ?? -3
                let score = try await client.send(RedisCommand("ZSCORE", expiring, "k"))
                return (names.sorted(), ttl, !score.isNull, try await client.send(RedisCommand("HGET", hash, "v")).string)
            }
            // A first write that expires: its deadline as field x and as the time to live.
            try await store.set(Data("1".utf8), for: "k", expiry: .after(.seconds(100)))
            var now = try await state()
            #expect(now.fields == ["c", "e", "m", "v", "x"] && now.ttl > 90_000 && now.indexed, "\(now)")
            // Made permanent: no x, no time to live, out of the expiry index.
            try await store.set(Data("2".utf8), for: "k", expiry: .never)
            now = try await state()
            #expect(now.fields == ["c", "e", "m", "v"] && now.ttl == -1 && !now.indexed && now.value == "2", "\(now)")
            // Permanent over permanent: still nothing of an expiry.
            try await store.set(Data("3".utf8), for: "k", expiry: .never)
            now = try await state()
            #expect(now.fields == ["c", "e", "m", "v"] && now.ttl == -1 && !now.indexed && now.value == "3", "\(now)")
            // Expiring over permanent: a deadline again, indexed.
            try await store.set(Data("4".utf8), for: "k", expiry: .after(.seconds(50)))
            now = try await state()
            #expect(now.fields == ["c", "e", "m", "v", "x"] && now.ttl > 40_000 && now.ttl <= 50_000 && now.indexed, "\(now)")
            // Already past over permanent: gone, from the index too.
            try await store.set(Data("5".utf8), for: "k", expiry: .never)
            try await store.set(Data("6".utf8), for: "k", expiry: .at(Date(timeIntervalSinceNow: -10)))
            now = try await state()
            #expect(now.fields.isEmpty && now.ttl == -2 && !now.indexed, "\(now)")
            let members = try await client.send(RedisCommand("ZRANGE", store.prefix + "\u{1}keys", 0, -1))
            #expect(members.array?.compactMap(\.string) == [], "\(members)")
            #expect(try await store.read("k") == nil)
        }
    }

    /// The server keys of `key`'s chunks, by generation: each generation's chunk names with
    /// their times to live in ms (-1 for none).
    func chunks(of key: String, _ store: RedisStore, _ client: RedisClient) async throws -> [String: [Int: Int64]] {
        var found: [String: [Int: Int64]] = [:]
        var cursor = "0"
        let base = store.prefix + key + "\u{1}"
        repeat {
            let reply = try await client.send(RedisCommand("SCAN", cursor, "MATCH", globEscaped(base) + "*", "COUNT", 1000))
            let parts = try #require(reply.array)
            cursor = try #require(parts[0].string)
            for name in try #require(parts[1].array).compactMap(\.string) {
                let rest = name.dropFirst(base.count)
                let pieces = rest.split(separator: ":")
                let ttl = try #require(try await client.send(RedisCommand("PTTL", name)).int64)
                found[String(pieces[0]), default: [:]][Int(pieces[1])!] = ttl
            }
        } while cursor != "0"
        return found
    }

    /// A value past `chunkByteCount` lives in chunks beside its hash (`g`, `n`, `s` there, no
    /// `v`), reads back whole by every read path, and its chunks follow the entry: no time to
    /// live while it has none, its expiry plus the grace when it expires, the grace alone once
    /// it is replaced or deleted, so that a reader already reading the old chunks can finish.
    @Test func largeValuesLiveInChunksThatFollowTheEntry() async throws {
        try await withStore { store, client in
            let size = 2 * RedisStore.chunkByteCount + 12_345
            let value = Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) })
            let written = try await store.set(value, for: "big")
            let hash = store.prefix + "big"
            let fields = try await client.send(RedisCommand("HKEYS", hash)).array?.compactMap(\.string).sorted()
            #expect(fields == ["c", "e", "g", "m", "n", "s"])
            #expect(try await client.send(RedisCommand("HGET", hash, "n")).string == "3")
            var found = try await chunks(of: "big", store, client)
            #expect(found == [written.etag.rawValue: [0: -1, 1: -1, 2: -1]], "\(found)")

            #expect(try await store.read("big")?.value == value)
            #expect(try await store.read("big")?.metadata.etag == written.etag)
            #expect(try await store.readBatch(["big", "missing"]).map { $0?.value } == [value, nil])
            #expect(try await store.metadata(for: "big")?.size == Int64(size))
            var listed: [String: Int64] = [:]
            for try await element in store.list(try ListQuery(includesMetadata: true)) {
                if case .entry(let key, let metadata?) = element { listed[key.rawValue] = metadata.size }
            }
            #expect(listed == ["big": Int64(size)])
            var streamed = Data()
            for try await chunk in try #require(try await store.readStream("big", chunkSize: 100_000)).chunks { streamed.append(chunk) }
            #expect(streamed == value)

            // An expiry: the chunks live the grace longer than the entry.
            let expiring = try await store.set(value, for: "big", expiry: .after(.seconds(100)))
            found = try await chunks(of: "big", store, client)
            let graceMs = Int64(RedisStore.chunkGraceMilliseconds)
            let new = try #require(found[expiring.etag.rawValue])
            #expect(new.count == 3 && new.values.allSatisfy { $0 > 90_000 + graceMs && $0 <= 100_000 + graceMs }, "\(found)")
            // The replaced generation: the grace alone.
            let old = try #require(found[written.etag.rawValue])
            #expect(old.count == 3 && old.values.allSatisfy { $0 > 0 && $0 <= graceMs }, "\(found)")
            #expect(try await store.read("big")?.value == value)

            // Replaced by a small value: back in v, the chunks retired.
            try await store.set(Data("small".utf8), for: "big")
            #expect(try await client.send(RedisCommand("HGET", hash, "v")).string == "small")
            #expect(try await client.send(RedisCommand("HEXISTS", hash, "g")).int64 == 0)
            #expect(try await client.send(RedisCommand("PTTL", hash)).int64 == -1)
            found = try await chunks(of: "big", store, client)
            #expect(found.values.allSatisfy { $0.values.allSatisfy { $0 > 0 && $0 <= graceMs } }, "\(found)")

            // A failed condition leaves no staged chunks behind.
            let before = try await chunks(of: "big", store, client).keys.sorted()
            await #expect(throws: StoreError.self) { try await store.set(value, for: "big", condition: .ifAbsent) }
            #expect(try await chunks(of: "big", store, client).keys.sorted() == before)
            #expect(try await store.read("big")?.value == Data("small".utf8))

            // Deleted: the chunks retire too.
            let again = try await store.set(value, for: "big")
            #expect(try await store.delete("big"))
            found = try await chunks(of: "big", store, client)
            #expect(try #require(found[again.etag.rawValue]).values.allSatisfy { $0 > 0 && $0 <= graceMs }, "\(found)")
            #expect(try await store.read("big") == nil)

            // A batch with a value in chunks among small ones: each written, in order.
            let results = try await store.writeBatch([BatchWrite("b/1", Data("one".utf8)), BatchWrite("b/2", value),
                                                      BatchWrite("b/3", Data("three".utf8))])
            #expect(results.allSatisfy { (try? $0.get()) != nil })
            #expect(try await store.readBatch(["b/1", "b/2", "b/3"]).map { $0?.value } == [Data("one".utf8), value, Data("three".utf8)])

            // A value in chunks is no counter.
            try await store.set(value, for: "big")
            await #expect(throws: StoreError.self) { try await store.increment("big") }
            #expect(try await store.read("big")?.value == value)
        }
    }

    /// Streams: a streamed write of a large value is staged a chunk at a time and appears at
    /// once; a small one goes in the hash; a size that does not add up writes nothing and leaves
    /// nothing staged; an open stream reads the value it opened after an overwrite, and fails
    /// with conditionFailed once that value's chunks are gone.
    @Test func largeValuesStreamInAndOutByChunk() async throws {
        try await withStore { store, client in
            #expect(store.capabilities.contains(.streaming))
            let size = 3 * RedisStore.chunkByteCount + 777
            let value = Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 11) })
            let pieces = ValueChunks(chunksOf: value, chunkSize: 300_001)
            let written = try await store.write(contentsOf: pieces, for: "s", options: WriteOptions(expectedSize: Int64(size)))
            #expect(written.size == Int64(size))
            #expect(try await client.send(RedisCommand("HGET", store.prefix + "s", "n")).string == "4")
            #expect(try await store.read("s")?.value == value)

            let small = try await store.write(contentsOf: ValueChunks(chunksOf: Data("ab".utf8), chunkSize: 1), for: "t", options: WriteOptions())
            #expect(small.size == 2)
            #expect(try await client.send(RedisCommand("HGET", store.prefix + "t", "v")).string == "ab")

            // Short of the size it promised: refused, nothing staged, the old value kept.
            let before = try await chunks(of: "s", store, client)
            let error = await #expect(throws: StoreError.self) {
                try await store.write(contentsOf: ValueChunks(chunksOf: value.dropLast(1000), chunkSize: 300_001), for: "s",
                                      options: WriteOptions(expectedSize: Int64(size)))
            }
            #expect(error?.code == .invalidArgument)
            #expect(try await chunks(of: "s", store, client) == before)
            #expect(try await store.read("s")?.metadata.etag == written.etag)

            // An open stream keeps reading the value it opened.
            let stream = try #require(try await store.readStream("s", chunkSize: 65_536))
            #expect(stream.metadata.etag == written.etag && stream.metadata.size == Int64(size))
            var iterator = stream.chunks.makeAsyncIterator()
            var streamed = try #require(try await iterator.next())
            try await store.set(Data("replaced".utf8), for: "s")
            while let piece = try await iterator.next() {
                #expect(piece.count <= 65_536)
                streamed.append(piece)
            }
            #expect(streamed == value)

            // One whose chunks are gone fails, typed.
            let again = try await store.write(contentsOf: pieces, for: "s", options: WriteOptions())
            let open = try #require(try await store.readStream("s", chunkSize: 1 << 20))
            var reader = open.chunks.makeAsyncIterator()
            _ = try await reader.next()
            _ = try await client.send(RedisCommand("DEL", store.chunkKey("s", generation: again.etag.rawValue, 2)))
            let gone = await #expect(throws: StoreError.self) { while try await reader.next() != nil {} }
            #expect(gone?.code == .conditionFailed, "\(String(describing: gone))")
        }
    }

    /// A sliding read of a value in chunks renews its chunks with it; a chunk gone from under
    /// its entry (something else deleted it) is an integrity error, not a short value.
    @Test func slidingReadsRenewChunksAndAMissingChunkIsAnError() async throws {
        try await withStore(expiration: .sliding(.seconds(100))) { store, client in
            let value = Data(repeating: 7, count: RedisStore.chunkByteCount + 1)
            let written = try await store.set(value, for: "s")
            let graceMs = Int64(RedisStore.chunkGraceMilliseconds)
            for index in 0..<2 {
                _ = try await client.send(RedisCommand("PEXPIRE", store.chunkKey("s", generation: written.etag.rawValue, index), 5000))
            }
            #expect(try await store.readBatch(["s"]).first??.value == value)
            let found = try await chunks(of: "s", store, client)
            #expect(try #require(found[written.etag.rawValue]).values.allSatisfy { $0 > 90_000 + graceMs }, "\(found)")

            _ = try await client.send(RedisCommand("DEL", store.chunkKey("s", generation: written.etag.rawValue, 1)))
            let error = await #expect(throws: StoreError.self) { try await store.read("s") }
            #expect(error?.code == .integrity, "\(String(describing: error))")
        }
    }

    /// A sliding read renews the entry's expiry by its lifetime, keeping value and ETag; a
    /// metadata lookup does not.
    @Test func slidingReadsRenewTheExpiry() async throws {
        try await withStore(expiration: .sliding(.seconds(100))) { store, client in
            let written = try await store.set(Data("s".utf8), for: "session")
            _ = try await client.send(RedisCommand("PEXPIRE", store.prefix + "session", 5000))
            _ = try await store.metadata(for: "session")
            #expect(try await client.send(RedisCommand("PTTL", store.prefix + "session")).int64 ?? 0 <= 6000, "a metadata lookup renewed the expiry")
            let read = try #require(try await store.read("session"))
            #expect(read.metadata.etag == written.etag)
            #expect(try await client.send(RedisCommand("PTTL", store.prefix + "session")).int64 ?? 0 > 90_000)
            let expiry = try #require(read.metadata.expirationDate)
            #expect(expiry.timeIntervalSinceNow > 90)
            // An entry with a fixed deadline keeps it.
            let deadline = Date().addingTimeInterval(30)
            try await store.set(Data("f".utf8), for: "fixed", expiry: .at(deadline))
            _ = try await store.read("fixed")
            let fixed = try await client.send(RedisCommand("PTTL", store.prefix + "fixed")).int64 ?? 0
            // About 30 s, not the 100 s of a renewal: the deadline is rounded up to the next
            // millisecond, and the client's clock and the server's may be read a little apart.
            #expect(fixed <= 31_000 && fixed > 20_000, "\(fixed) ms left")
        }
    }

    /// Counters are one HINCRBY on the server: exact under concurrency, refused on a value
    /// that is no integer and on overflow.
    @Test func countersAreNative() async throws {
        try await withStore { store, _ in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 { group.addTask { for _ in 0..<50 { try await store.increment("hits") } } }
                try await group.waitForAll()
            }
            #expect(try await store.increment("hits", by: 0) == 400)
            #expect(try await store.read("hits")?.value == Data("400".utf8))
            try await store.set(Data("nope".utf8), for: "text")
            try await expectStoreError(.decodingFailed) { try await store.increment("text") }
            try await store.set(Data(String(Int64.max).utf8), for: "big")
            try await expectStoreError(.invalidArgument) { try await store.increment("big") }
            #expect(try await store.increment("negative", by: -5) == -5)
        }
    }

    /// Scripts the server lost (a restart, SCRIPT FLUSH) are sent again in full.
    @Test func scriptsAreReloadedAfterAFlush() async throws {
        try await withStore { store, client in
            try await store.set(Data("a".utf8), for: "a")
            _ = try await client.send(RedisCommand("SCRIPT", "FLUSH"))
            try await store.set(Data("b".utf8), for: "b")
            _ = try await client.send(RedisCommand("SCRIPT", "FLUSH"))
            let results = try await store.writeBatch([BatchWrite("c", Data("c".utf8)), BatchWrite("a", Data("x".utf8), options: WriteOptions(condition: .ifAbsent))])
            #expect((try? results[0].get()) != nil)
            #expect(throws: StoreError.self) { try results[1].get() }
            #expect(try await store.count() == 3)
        }
    }

    /// A server that cannot be reached is `unavailable` and retryable, naming the store
    /// without a password.
    @Test func anUnreachableServerIsUnavailable() async throws {
        var configuration = RedisClient.Configuration(host: "127.0.0.1", port: 1, password: "hunter2")
        configuration.connectTimeout = .seconds(1)
        let client = RedisClient(configuration: configuration)
        let store = RedisStore(client: client, prefix: "p:")
        do {
            _ = try await store.read("k")
            Issue.record("a read from port 1 succeeded")
        } catch let error as StoreError {
            #expect(error.code == .unavailable)
            #expect(error.isRetryable)
            #expect(!String(reflecting: error).contains("hunter2"))
        }
        await client.shutdown()
    }
}

