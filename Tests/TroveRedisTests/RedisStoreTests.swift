import Foundation
import Testing
import Trove
import TroveRedis
import TroveRedisClient
import TroveTestSupport

/// What the conformance suite does not see: round trips, the layout on the server, counters,
/// sliding reads, errors.
@Suite("RedisStore", .enabled(if: TestServer.redis.isAvailable, TestServer.redis.absence))
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
            let written = try await store.set(Data("v".utf8), for: "e/short", expiry: .after(.seconds(30)))
            let fields = try await client.send(RedisCommand("HGETALL", store.prefix + "e/short"))
            let metadata = try await store.metadata(for: "e/short")
            #expect(written.expirationDate != nil, "\(fields)")
            #expect(metadata?.expirationDate != nil, "\(fields)")
            #expect(try await store.reclaimExpired() == 0)
        }
    }
}
