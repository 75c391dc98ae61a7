import Foundation
import Testing
import Trove
import TroveConformance
import TroveRedis
import TroveRedisClient
import TroveTestSupport

// Suites that wait in real time (expiry by the server's clock): their names end in
// RealTimeExpiryTests, so `scripts/test` runs them on their own, after the others.

/// The expiry checks in real time, by the server's clock.
@Suite("RedisStore: expiry in real time", .enabled(if: TestServer.redis.isAvailable, TestServer.redis.absence))
struct RedisRealTimeExpiryTests {
    @Test("contract", .timeLimit(.minutes(15)),
          arguments: RedisCase.all(of: RedisFixture.all + [RedisFixture.plain, RedisFixture.plainSliding],
                                   where: { RedisConformanceTests.realTimeChecks.contains($0.name) }))
    func contract(_ item: RedisCase) async throws {
        try await item.run()
    }
}

/// The expiry checks in real time on the test cluster.
@Suite("RedisStore on a cluster: expiry in real time", .enabled(if: TestServer.redisCluster.isAvailable, TestServer.redisCluster.absence))
struct RedisClusterRealTimeExpiryTests {
    @Test("contract", .timeLimit(.minutes(15)),
          arguments: RedisCase.all(of: [RedisFixture.clusterNone], where: { RedisConformanceTests.realTimeChecks.contains($0.name) }))
    func contract(_ item: RedisCase) async throws {
        try await item.run()
    }
}

/// Sliding expiry by the server's clock: a key read every half lifetime outlives three
/// lifetimes; a key left unread is gone after one.
@Suite("RedisStore: sliding expiry in real time", .enabled(if: TestServer.redis.isAvailable, TestServer.redis.absence))
struct RedisSlidingRealTimeExpiryTests {
    @Test func aKeyReadEveryHalfLifetimeStaysAlive() async throws {
        try await withTestClient(connections: 1) { client in
            let prefix = uniquePrefix("sliding")
            let lifetime = Duration.milliseconds(800)
            let store = RedisStore(client: client, prefix: prefix, expiration: .sliding(lifetime))
            try await store.set(Data("read".utf8), for: "read")
            try await store.set(Data("unread".utf8), for: "unread")
            let clock = ContinuousClock()
            let start = clock.now
            var next = start
            while clock.now < start + lifetime * 3.5 {
                next += lifetime / 2
                try await clock.sleep(until: next)
                #expect(try await store.read("read") != nil, "a key read every half lifetime expired after \(clock.now - start)")
            }
            #expect(try await store.metadata(for: "unread") == nil, "a key left unread for 3.5 lifetimes is still there")
            #expect(try await store.count() == 1)
            try await deleteServerKeys(withPrefix: prefix, client: client)
        }
    }
}
