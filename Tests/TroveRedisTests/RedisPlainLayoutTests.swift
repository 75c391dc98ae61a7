import Foundation
import Testing
import Trove
import TroveRedis
import TroveRedisClient
import TroveTestSupport

/// ``RedisStore/Layout/plain``: keys are the plain strings other programs read and write, and
/// the store reads what they wrote.
@Suite("RedisStore, plain layout", .enabled(if: TestServer.redis.isAvailable, TestServer.redis.absence))
struct RedisPlainLayoutTests {
    func withStore(expiration: RedisStore.Expiration = .none, _ body: (RedisStore, RedisClient) async throws -> Void) async throws {
        try await withTestClient(connections: 1) { client in
            let prefix = uniquePrefix("plain")
            do {
                try await body(RedisStore(client: client, prefix: prefix, expiration: expiration, layout: .plain), client)
            } catch {
                try? await deleteServerKeys(withPrefix: prefix, client: client)
                throw error
            }
            try await deleteServerKeys(withPrefix: prefix, client: client)
        }
    }

    /// Every key of `store`, in listing order.
    func allKeys(_ store: some KeyValueStore) async throws -> [String] {
        var names: [String] = []
        for try await key in try store.keys() { names.append(key.rawValue) }
        return names
    }

    /// The SHA-1 of `text` as the server computes it.
    func sha1(_ text: String, _ client: RedisClient) async throws -> String {
        try #require(try await client.send(RedisCommand("EVAL", "return redis.sha1hex(ARGV[1])", 0, text)).string)
    }

    /// What the store writes is a plain string `prefix + key` and nothing else; what another
    /// program writes there (`SET`, with or without a TTL) the store reads, with the string's
    /// TTL as its expiry and the SHA-1 of its bytes as its ETag.
    @Test func theStoreAndOtherProgramsShareTheStrings() async throws {
        try await withStore { store, client in
            let written = try await store.set(Data("hello".utf8), for: "users/alice")
            #expect(try await client.send(RedisCommand("GET", store.prefix + "users/alice")).string == "hello")
            #expect(try await client.send(RedisCommand("TYPE", store.prefix + "users/alice")).string == "string")
            #expect(written.etag.rawValue == (try await sha1("hello", client)))
            #expect(written.creationDate == nil)
            let keys = try await client.send(RedisCommand("KEYS", store.prefix + "*")).array?.compactMap(\.string)
            #expect(keys == [store.prefix + "users/alice"], "the plain layout keeps nothing beside the strings")

            _ = try await client.send(RedisCommand("SET", store.prefix + "users/bob", "from redis-cli", "PX", 100_000))
            let bob = try #require(try await store.read("users/bob"))
            #expect(bob.value == Data("from redis-cli".utf8))
            #expect(bob.metadata.etag.rawValue == (try await sha1("from redis-cli", client)))
            let expiry = try #require(bob.metadata.expirationDate)
            #expect(expiry.timeIntervalSinceNow > 90 && expiry.timeIntervalSinceNow <= 101, "\(expiry)")
            #expect(try await store.metadata(for: "users/bob")?.size == 14)

            // A conditional write on another program's string: its ETag is the bytes' digest.
            try await store.set(Data("replaced".utf8), for: "users/bob", condition: .ifMatches(bob.metadata.etag))
            #expect(try await client.send(RedisCommand("GET", store.prefix + "users/bob")).string == "replaced")
            await #expect(throws: StoreError.self) {
                try await store.set(Data("again".utf8), for: "users/bob", condition: .ifMatches(bob.metadata.etag))
            }
            #expect(try await store.count() == 2)
            #expect(try await allKeys(store) == ["users/alice", "users/bob"])
        }
    }

    /// Keys of other types and names that are not store keys are left out of listings and
    /// counts; reading a key of another type fails with the server's reason, and touches nothing.
    @Test func otherTypesAndInvalidNamesAreLeftOut() async throws {
        try await withStore { store, client in
            try await store.set(Data("1".utf8), for: "a")
            _ = try await client.send(RedisCommand("HSET", store.prefix + "hash", "f", "v"))
            _ = try await client.send(RedisCommand("RPUSH", store.prefix + "list", "x"))
            _ = try await client.send(RedisCommand("SET", store.prefix + "bad/../name", "x"))
            _ = try await client.send(RedisCommand("SET", store.prefix, "the prefix itself"))
            #expect(try await allKeys(store) == ["a"])
            #expect(try await store.count() == 1)
            let failure = await #expect(throws: StoreError.self) { try await store.read("hash") }
            #expect(failure?.message.contains("WRONGTYPE") == true, "\(String(describing: failure))")
            #expect(try await client.send(RedisCommand("HGET", store.prefix + "hash", "f")).string == "v")
        }
    }

    /// Listing sorts what `SCAN` gives in byte order, a page at a time, with delimiters; the
    /// prefix's glob characters match only themselves.
    @Test func listingIsInByteOrderWhateverTheScanOrder() async throws {
        try await withTestClient(connections: 1) { client in
            let prefix = uniquePrefix("plain") + "[*?]\\:"
            let store = RedisStore(client: client, prefix: prefix, layout: .plain)
            // Unescaped, the pattern of `[*?]` would match this neighbour's literal `*`.
            let neighbour = RedisStore(client: client, prefix: prefix.replacingOccurrences(of: "[*?]", with: "*"), layout: .plain)
            do {
                let names = (0..<300).map { "k/\($0)" } + ["k/a/b", "k/a-c", "k/a0", "k/a", "l"]
                _ = try await store.writeBatch(names.map { BatchWrite(StoreKey(stringLiteral: $0), Data($0.utf8)) })
                try await neighbour.set(Data("elsewhere".utf8), for: "k/zzz")
                let expected = names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
                var listed: [String] = []
                for try await key in store.list(.all, pageSize: 7) { listed.append(key.name) }
                #expect(listed == expected)
                let rolledUp = try await store.listPage(try ListQuery(prefix: "k/a", delimiter: "/"), after: nil, limit: 10)
                #expect(rolledUp.elements.map(\.name) == ["k/a", "k/a-c", "k/a/", "k/a0"])
                #expect(try await store.count(withPrefix: "k/") == 304)
                let withMetadata = try await store.listPage(try ListQuery(prefix: "l", includesMetadata: true), after: nil, limit: 10)
                #expect(withMetadata.elements.first?.metadata?.size == 1)
            } catch {
                try? await deleteServerKeys(withPrefix: prefix, client: client)
                try? await deleteServerKeys(withPrefix: neighbour.prefix, client: client)
                throw error
            }
            try await deleteServerKeys(withPrefix: prefix, client: client)
            try await deleteServerKeys(withPrefix: neighbour.prefix, client: client)
        }
    }

    /// Sliding expiry renews a string that has a TTL, in the read itself; a string without one
    /// (written by another program) is left without one. Fixed expiry gives the store's writes
    /// and new counters their lifetime; counters are `INCRBY`.
    @Test func expiryModelsOnPlainStrings() async throws {
        try await withStore(expiration: .sliding(.seconds(100))) { store, client in
            try await store.set(Data("s".utf8), for: "session")
            _ = try await client.send(RedisCommand("PEXPIRE", store.prefix + "session", 5000))
            _ = try await store.metadata(for: "session")
            #expect(try await client.send(RedisCommand("PTTL", store.prefix + "session")).int64 ?? 0 <= 5000, "a metadata lookup renewed")
            _ = try await store.read("session")
            #expect(try await client.send(RedisCommand("PTTL", store.prefix + "session")).int64 ?? 0 > 90_000)
            _ = try await client.send(RedisCommand("SET", store.prefix + "forever", "f"))
            #expect(try await store.read("forever")?.metadata.expirationDate == nil)
            #expect(try await client.send(RedisCommand("PTTL", store.prefix + "forever")).int64 == -1)
        }
        try await withStore(expiration: .fixed(.seconds(100))) { store, client in
            #expect(try await store.increment("n", by: 5) == 5)
            #expect(try await store.increment("n", by: -2) == 3)
            #expect(try await client.send(RedisCommand("GET", store.prefix + "n")).string == "3")
            let ttl = try await client.send(RedisCommand("PTTL", store.prefix + "n")).int64 ?? 0
            #expect(ttl > 90_000 && ttl <= 100_000)
            _ = try await client.send(RedisCommand("SET", store.prefix + "text", "not a number"))
            let failure = await #expect(throws: StoreError.self) { try await store.increment("text") }
            #expect(failure?.code == .decodingFailed)
            #expect(try await client.send(RedisCommand("GET", store.prefix + "text")).string == "not a number")
        }
    }

    /// A read, a write (conditional or not), a delete and a counter step are one command each;
    /// a batch is one pipeline.
    @Test func roundTrips() async throws {
        try await withStore { store, client in
            func trips(_ body: () async throws -> Void) async throws -> (commands: Int, writes: Int) {
                try await commandsAndWrites(of: client, body)
            }
            let keys = (0..<50).map { StoreKey(stringLiteral: "b/\($0)") }
            // Each script once, so that NOSCRIPT does not count.
            let first = try await store.set(Data("v".utf8), for: "k")
            _ = try await store.read("k")
            try await store.delete("k", condition: .ifMatches(first.etag))
            let written = try await store.set(Data("v".utf8), for: "k")
            #expect(try await trips { _ = try await store.read("k") } == (1, 1))
            #expect(try await trips { _ = try await store.set(Data("w".utf8), for: "k", condition: .ifMatches(written.etag)) } == (1, 1))
            #expect(try await trips { try await store.increment("n") } == (1, 1))
            #expect(try await trips { _ = try await store.writeBatch(keys.map { BatchWrite($0, Data("x".utf8)) }) } == (50, 1))
            #expect(try await trips { _ = try await store.readBatch(keys) } == (50, 1))
            #expect(try await trips { _ = try await store.deleteBatch(keys) } == (50, 1))
            #expect(try await trips { _ = try await store.delete("k") } == (1, 1))
        }
    }

    /// `trove copy` from a plain database (strings another program wrote, one with a TTL, one
    /// key of another type) into a file store: every string arrives, with its expiry.
    @Test(.timeLimit(.minutes(2)))
    func theCommandLineCopiesAPlainDatabaseIntoFiles() async throws {
        try await withScratchDirectory("trove-redis-plain-copy") { directory in
            try await withTestClient(connections: 1) { client in
                let prefix = uniquePrefix("plain-copy")
                _ = try await client.send(RedisCommand("SET", prefix + "users/alice", "alice's profile"))
                _ = try await client.send(RedisCommand("SET", prefix + "users/bob", "bob's profile"))
                _ = try await client.send(RedisCommand("SET", prefix + "sessions/s1", "token", "EX", 3600))
                _ = try await client.send(RedisCommand("HSET", prefix + "stats", "hits", "3"))
                let port = try StoreURL(parsing: try TestServer.redis.require()).port ?? 6379
                let source = "redis://127.0.0.1:\(port)/0?layout=plain&prefix=\(prefix)"
                let destination = "file://" + directory.appendingPathComponent("copy").path
                let trove = try BuiltExecutable.trove()
                let copy = try await ChildProcess.run(trove, ["copy", source, destination], scratch: directory)
                #expect(copy.status == 0, "\(copy.errorMessage)")
                try await StoreOpener.standard.withStore(destination) { files in
                    #expect(try await allKeys(files) == ["sessions/s1", "users/alice", "users/bob"])
                    #expect(try await files.read("users/alice")?.value == Data("alice's profile".utf8))
                    let expiry = try #require(try await files.metadata(for: "sessions/s1")?.expirationDate)
                    #expect(expiry.timeIntervalSinceNow > 3500 && expiry.timeIntervalSinceNow <= 3601)
                }
                // Listings and stat show no modification date where the store keeps none.
                let long = try await ChildProcess.run(trove, ["--store", source, "list", "--long"], scratch: directory)
                #expect(long.status == 0, "\(long.errorMessage)")
                #expect(long.outputLines.count == 3 && long.outputLines.allSatisfy { $0.contains(" -  ") }, "\(long.outputText)")
                let stat = try await ChildProcess.run(trove, ["--store", source, "stat", "users/bob"], scratch: directory)
                #expect(stat.outputLines.contains("modified: not kept by this store"), "\(stat.outputText)")
                let check = try await ChildProcess.run(trove, ["check", source, destination], scratch: directory)
                #expect(check.status == 0, "\(check.outputText) \(check.errorMessage)")
                try await deleteServerKeys(withPrefix: prefix, client: client)
            }
        }
    }
}
