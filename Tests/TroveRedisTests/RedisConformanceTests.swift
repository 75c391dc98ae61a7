import Foundation
import Testing
import Trove
import TroveConformance
import TroveRedis
import TroveRedisClient
import TroveTestSupport

/// A Redis store of the test server under a fresh prefix, with one expiry model.
struct RedisFixture: Sendable, CustomStringConvertible {
    let description: String
    let expiration: RedisStore.Expiration
    /// Checks that contradict the model by design, which are not run on this fixture (they run
    /// on ``none``): with a default lifetime every write expires, which their clause "a write
    /// without expiry reports no expiration date" forbids.
    let contradicted: Set<String>
    /// Whether the store is on the test cluster rather than the single server.
    var onCluster = false
    /// The store's layout; `nil` for the client's default.
    var layout: RedisStore.Layout?

    static let none = RedisFixture(description: "redis", expiration: .none, contradicted: [])
    static let defaultLifetimeChecks: Set<String> = ["metadataIsAccurate", "expiredEntriesAreInvisible", "writesOverExpiredEntries"]
    static let fixed = RedisFixture(description: "redis(fixed 1h)", expiration: .fixed(.seconds(3600)), contradicted: defaultLifetimeChecks)
    static let sliding = RedisFixture(description: "redis(sliding 1h)", expiration: .sliding(.seconds(3600)), contradicted: defaultLifetimeChecks)
    static let all = [none, fixed, sliding]
    static let clusterNone = RedisFixture(description: "redis cluster", expiration: .none, contradicted: [], onCluster: true)
    static let clusterSliding = RedisFixture(description: "redis cluster(sliding 1h)", expiration: .sliding(.seconds(3600)),
                                             contradicted: defaultLifetimeChecks, onCluster: true)
    static let cluster = [clusterNone, clusterSliding]
    /// Plain strings expire by the server alone, which leaves ``RedisStore/reclaimExpired()``
    /// nothing to delete or count: it returns 0, where the check wants the count of the expired.
    static let plainChecks: Set<String> = ["reclaimExpired"]
    static let plain = RedisFixture(description: "redis(plain)", expiration: .none, contradicted: plainChecks, layout: .plain)
    static let plainSliding = RedisFixture(description: "redis(plain, sliding 1h)", expiration: .sliding(.seconds(3600)),
                                           contradicted: defaultLifetimeChecks.union(plainChecks), layout: .plain)
    static let clusterPlain = RedisFixture(description: "redis cluster(plain)", expiration: .none, contradicted: plainChecks,
                                           onCluster: true, layout: .plain)

    func withStore(_ body: (RedisStore, ConformanceEnvironment) async throws -> Void) async throws {
        let prefix = uniquePrefix("conformance")
        let client = try onCluster ? makeClusterClient() : makeTestClient()
        let expiration = self.expiration
        let second = try onCluster ? makeClusterClient() : makeTestClient()
        let cleanUp: @Sendable () async throws -> Void = { [onCluster] in
            if onCluster {
                try await deleteClusterKeys(withPrefix: prefix, client: client)
            } else {
                try await deleteServerKeys(withPrefix: prefix, client: client)
            }
        }
        let layout = self.layout
        let store = RedisStore(client: client, prefix: prefix, expiration: expiration, layout: layout)
        let environment = ConformanceEnvironment(
            largeValueSize: 16 << 20,
            reopen: { @Sendable in RedisStore(client: second, prefix: prefix, expiration: expiration, layout: layout) },
            realTimeExpiry: RealTimeExpiry(unit: .milliseconds(100), grace: .milliseconds(300)),
            isolatesEachCheck: true)
        do {
            try await body(store, environment)
        } catch {
            try? await cleanUp()
            await client.shutdown()
            await second.shutdown()
            throw error
        }
        try await cleanUp()
        await client.shutdown()
        await second.shutdown()
    }
}

/// The whole contract on one Redis server, under a prefix, with each expiry model; the expiry
/// checks, which wait in real time, are in ``RedisRealTimeExpiryTests``.
@Suite("RedisStore: contract conformance", .enabled(if: TestServer.redis.isAvailable, TestServer.redis.absence))
struct RedisConformanceTests {
    static let realTimeChecks: Set<String> = ["expiredEntriesAreInvisible", "writesOverExpiredEntries", "reclaimExpired", "expiryRefreshOnRead"]

    @Test("contract", .timeLimit(.minutes(15)), arguments: RedisCase.all(where: { !realTimeChecks.contains($0.name) }))
    func contract(_ item: RedisCase) async throws {
        try await item.run()
    }
}

/// The contract on plain strings (``RedisStore/Layout/plain``), on one server with no expiry
/// and with sliding expiry, and on the cluster: every check, each as far as the layout's
/// capabilities claim; the expiry checks in real time are in ``RedisRealTimeExpiryTests``.
@Suite("RedisStore, plain layout: contract conformance", .enabled(if: TestServer.redis.isAvailable, TestServer.redis.absence))
struct RedisPlainConformanceTests {
    @Test("contract", .timeLimit(.minutes(15)),
          arguments: RedisCase.all(of: [RedisFixture.plain, RedisFixture.plainSliding], where: { !RedisConformanceTests.realTimeChecks.contains($0.name) }))
    func contract(_ item: RedisCase) async throws {
        try await item.run()
    }

    @Test("contract on the cluster", .timeLimit(.minutes(15)), .enabled(if: TestServer.redisCluster.isAvailable, TestServer.redisCluster.absence),
          arguments: RedisCase.all(of: [RedisFixture.clusterPlain], where: { !RedisConformanceTests.realTimeChecks.contains($0.name) }))
    func contractOnCluster(_ item: RedisCase) async throws {
        try await item.run()
    }
}

/// The whole contract on the test cluster (3 primaries, 3 replicas), the store spread over
/// 16 buckets: with no expiry and with sliding expiry; the real-time expiry checks are in
/// ``RedisRealTimeExpiryTests``.
@Suite("RedisStore on a cluster: contract conformance", .enabled(if: TestServer.redisCluster.isAvailable, TestServer.redisCluster.absence))
struct RedisClusterConformanceTests {
    @Test("contract", .timeLimit(.minutes(15)),
          arguments: RedisCase.all(of: RedisFixture.cluster, where: { !RedisConformanceTests.realTimeChecks.contains($0.name) }))
    func contract(_ item: RedisCase) async throws {
        try await item.run()
    }
}

/// One check on one fixture. The checks a fixture's model contradicts are not among them.
struct RedisCase: Sendable, CustomStringConvertible {
    let fixture: RedisFixture
    let check: ContractCheck

    var description: String { "\(check.name) on \(fixture.description)" }

    static func all(of fixtures: [RedisFixture] = RedisFixture.all, where include: (ContractCheck) -> Bool) -> [RedisCase] {
        fixtures.flatMap { fixture in
            ContractCheck.allCases.filter { include($0) && !fixture.contradicted.contains($0.name) }.map { RedisCase(fixture: fixture, check: $0) }
        }
    }

    func run() async throws {
        try await fixture.withStore { store, environment in
            try await expectConformance(check, of: store, environment: environment)
        }
    }
}

/// The contract on one Redis server under every production layer (tracing, metrics, logging,
/// a concurrency limit, timeouts, retries): the layers forward each requirement as the store
/// beneath would answer it.
@Suite("RedisStore under every production layer: contract conformance", .enabled(if: TestServer.redis.isAvailable, TestServer.redis.absence))
struct RedisProductionStackConformanceTests {
    @Test("contract", .timeLimit(.minutes(15)),
          arguments: ContractCheck.allCases.filter { !RedisConformanceTests.realTimeChecks.contains($0.name) })
    func contract(_ check: ContractCheck) async throws {
        try await RedisFixture.none.withStore { store, environment in
            try await expectConformance(check, of: productionStack(over: store, system: "redis"), environment: environment)
        }
    }
}
