import Foundation
import Testing
import Trove
import TroveRedis
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

