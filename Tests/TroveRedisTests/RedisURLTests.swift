import Foundation
import Testing
import Trove
import TroveRedis
import TroveRedisClient
import TroveTestSupport

@Suite("RedisStore URLs")
struct RedisURLTests {
    @Test func everyPartIsRead() throws {
        let settings = try RedisStore.URLConfiguration(StoreURL(parsing:
            "redis://alice:s3cret@cache.local:6380/2?prefix=app:&expiration=sliding:10m&connections=4&timeout=2s&connect-timeout=1s&protocol=resp2"))
        #expect(settings.client.host == "cache.local")
        #expect(settings.client.port == 6380)
        #expect(settings.client.username == "alice")
        #expect(settings.client.password == "s3cret")
        #expect(settings.client.database == 2)
        #expect(settings.client.connectionCount == 4)
        #expect(settings.client.commandTimeout == .seconds(2))
        #expect(settings.client.connectTimeout == .seconds(1))
        #expect(settings.client.prefersRESP3 == false)
        #expect(settings.prefix == "app:")
        #expect(settings.expiration == .sliding(.seconds(600)))
        #expect(!settings.client.description.contains("s3cret"))
    }

    @Test func defaults() throws {
        let settings = try RedisStore.URLConfiguration(StoreURL(parsing: "redis://127.0.0.1"))
        #expect(settings.client.port == 6379)
        #expect(settings.client.database == 0)
        #expect(settings.client.password == nil)
        #expect(settings.prefix == "")
        #expect(settings.expiration == .none)
        #expect(try RedisStore.URLConfiguration(StoreURL(parsing: "redis://h?expiration=fixed:1h")).expiration == .fixed(.seconds(3600)))
    }

    @Test(arguments: [
        "redis:///0", "redis://h/x", "redis://h?expiration=sometimes", "redis://h?expiration=fixed:0s", "redis://h?prefixx=a",
        "redis://h?connections=0", "redis://h?protocol=resp4", "file:///tmp",
    ])
    func badURLsAreRefused(_ text: String) throws {
        do {
            _ = try RedisStore.URLConfiguration(StoreURL(parsing: text))
            Issue.record("\(text) was accepted")
        } catch {
            #expect(error.code == .invalidArgument, "\(text): \(error)")
        }
    }

    @Test func clusterURLsListTheirSeeds() throws {
        let settings = try RedisStore.URLConfiguration(StoreURL(parsing:
            "redis+cluster://alice:s3cret@10.0.0.1:7000,10.0.0.2:7001,node3:7002/?prefix=app:&buckets=32&connections=1"))
        let cluster = try #require(settings.cluster)
        #expect(cluster.seeds == [.init(host: "10.0.0.1", port: 7000), .init(host: "10.0.0.2", port: 7001), .init(host: "node3", port: 7002)])
        #expect(cluster.node.username == "alice")
        #expect(cluster.node.password == "s3cret")
        #expect(cluster.node.connectionCount == 1)
        #expect(settings.prefix == "app:")
        #expect(settings.layout == .buckets(32))
        #expect(cluster.description == "redis+cluster://alice@10.0.0.1:7000,10.0.0.2:7001,node3:7002")
        let client = settings.makeClient()
        #expect(client.isCluster)
        #expect(!"\(settings.makeStore(client: client))".contains("s3cret"))
        // Without ports, every seed is on 6379; one seed is a cluster too.
        let bare = try RedisStore.URLConfiguration(StoreURL(parsing: "redis+cluster://a,b"))
        #expect(bare.cluster?.seeds == [.init(host: "a", port: 6379), .init(host: "b", port: 6379)])
        let one = try RedisStore.URLConfiguration(StoreURL(parsing: "redis+cluster://a:7000/0"))
        #expect(one.cluster?.seeds == [.init(host: "a", port: 7000)])
        #expect(one.layout == nil)
        #expect(try RedisStore.URLConfiguration(StoreURL(parsing: "redis://h")).cluster == nil)
    }

    @Test(arguments: ["redis+cluster://a:7000,b:7001/2", "redis+cluster://a:7000,,b:7001", "redis+cluster://a:7000,:7001",
                      "redis+cluster://a:x,b:7001", "redis://a:7000,b:7001", "redis+cluster:///", "redis://h?buckets=0"])
    func badClusterURLsAreRefused(_ text: String) throws {
        do {
            _ = try RedisStore.URLConfiguration(StoreURL(parsing: text))
            Issue.record("\(text) was accepted")
        } catch {
            #expect(error.code == .invalidArgument, "\(text): \(error)")
        }
    }

    @Test func tlsIsNotSupportedYet() throws {
        #expect(throws: StoreError.self) { try RedisStore.URLConfiguration(StoreURL(parsing: "redis://h?tls=true")) }
    }
}

@Suite("RedisStore URLs on the server", .enabled(if: TestServer.redis.isAvailable, TestServer.redis.absence))
struct RedisOpenerTests {
    @Test(.enabled(if: TestServer.redisCluster.isAvailable, TestServer.redisCluster.absence))
    func theOpenerOpensAStoreOnTheCluster() async throws {
        let prefix = uniquePrefix("opener")
        let url = try TestServer.redisCluster.require() + "/?prefix=\(prefix)"
        try await StoreOpener.withRedis.withStore(url) { store in
            #expect("\(store)".contains("redis+cluster://"))
            for index in 0..<50 { try await store.set(Data("v\(index)".utf8), for: StoreKey(stringLiteral: "k\(index)")) }
            #expect(try await store.read("k7")?.value == Data("v7".utf8))
            #expect(try await store.count() == 50)
            try await store.removeAll(withPrefix: "")
            #expect(try await store.count() == 0)
        }
        try await withClusterClient { client in
            let left = try await clusterKeys(withPrefix: prefix, client: client).values.joined()
            #expect(left.isEmpty, "\(left.prefix(3))")
        }
    }

    @Test func theOpenerOpensARedisStore() async throws {
        let prefix = uniquePrefix("opener")
        let url = try TestServer.redis.require() + "/0?prefix=\(prefix)&expiration=fixed:1h"
        try await StoreOpener.withRedis.withStore(url) { store in
            let written = try await store.set(Data("v".utf8), for: "k")
            #expect(written.expirationDate != nil)
            #expect(try await store.read("k")?.value == Data("v".utf8))
            try await store.removeAll(withPrefix: "")
            #expect(try await store.count() == 0)
        }
        try await withTestClient { client in try await deleteServerKeys(withPrefix: prefix, client: client) }
    }
}
