import Foundation
import Testing
import Trove
import TroveRedis
import TroveTestSupport

/// A Redis store as the destination of a copy, a comparison and a synchronization from a file
/// store.
@Suite("RedisStore: copy, compare and synchronize", .enabled(if: TestServer.redis.isAvailable, TestServer.redis.absence))
struct RedisSynchronizationTests {
    @Test("file store to Redis: copied values, expiry kept, extras deleted")
    func fileToRedis() async throws {
        try await withScratchDirectory("trove-redis-sync") { directory in
            try await withTestClient { client in
                let prefix = uniquePrefix("synchronize")
                do {
                    try await checkCopyCompareSynchronize(
                        from: try FileSystemStore(root: directory), to: RedisStore(client: client, prefix: prefix))
                } catch {
                    try await deleteServerKeys(withPrefix: prefix, client: client)
                    throw error
                }
                try await deleteServerKeys(withPrefix: prefix, client: client)
            }
        }
    }
}
