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

    /// Plain strings keep no modification date, so synchronizing to or from them compares
    /// values of equal size by content: a change of the same size is copied (its date could
    /// not tell it from the copy), and an unchanged value is left alone (neither can its date).
    @Test("to and from plain strings: equal sizes compared by content")
    func plainStringsAreComparedByContent() async throws {
        try await withTestClient { client in
            let prefix = uniquePrefix("synchronize-plain")
            let plain = RedisStore(client: client, prefix: prefix, layout: .plain)
            do {
                let memory = MemoryStore()
                try await memory.set(Data("first".utf8), for: "a")
                try await memory.set(Data("other".utf8), for: "b")
                #expect(try await memory.synchronize(to: plain).copied == 2)
                try await memory.set(Data("FIRST".utf8), for: "a")
                let second = try await memory.synchronize(to: plain)
                #expect(second.copied == 1 && second.unchanged == 1, "\(second)")
                #expect(try await plain.read("a")?.value == Data("FIRST".utf8))

                let copy = MemoryStore()
                #expect(try await plain.synchronize(to: copy).copied == 2)
                let again = try await plain.synchronize(to: copy)
                #expect(again.copied == 0 && again.unchanged == 2, "\(again)")
                try await plain.set(Data("lasts".utf8), for: "b")
                #expect(try await plain.synchronize(to: copy).copied == 1)
                #expect(try await copy.read("b")?.value == Data("lasts".utf8))
            } catch {
                try await deleteServerKeys(withPrefix: prefix, client: client)
                throw error
            }
            try await deleteServerKeys(withPrefix: prefix, client: client)
        }
    }
}
