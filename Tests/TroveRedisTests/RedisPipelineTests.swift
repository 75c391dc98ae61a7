import Foundation
import NIOCore
import Testing
import TroveRedisClient
import TroveTestSupport

/// ``RedisPipeline``: commands encoded into one buffer, the same bytes as the commands one by
/// one, and replies in order from one server and from a cluster.
@Suite("RESP pipelines")
struct RedisPipelineEncodingTests {
    @Test func aPipelineHoldsTheCommandsBytesOneAfterAnother() {
        let big = [UInt8](repeating: 7, count: 5000)  // past the pipeline's first capacity
        let commands = [
            RedisCommand("PING"), RedisCommand("GET", "k"), RedisCommand("SET", "k", big),
            RedisCommand("SET", "k", "v", "PX", 60_000), RedisCommand("INCRBY", "n", Int64(-10)),
            RedisCommand("ECHO", String(repeating: "x", count: 10)), RedisCommand("ECHO", String(repeating: "y", count: 100)),
        ]
        var pipeline = RedisPipeline(capacity: 16)
        pipeline.append("PING")
        pipeline.append("GET", "k")
        pipeline.append("SET", "k", big)
        pipeline.append("SET", "k", "v", "PX", 60_000)
        pipeline.append(RedisCommand("INCRBY", "n", Int64(-10)))
        pipeline.append("ECHO", String(repeating: "x", count: 10))
        pipeline.append("ECHO", String(repeating: "y", count: 100))
        #expect(pipeline.count == commands.count)
        var expected = ByteBuffer()
        for command in commands { expected.writeImmutableBuffer(command.encoded) }
        #expect(pipeline.encodedForTesting == expected)
        #expect(String(buffer: commands[5].encoded) == "*2\r\n$4\r\nECHO\r\n$10\r\nxxxxxxxxxx\r\n")
        #expect(pipeline.commandsForTesting.map(\.name) == commands.map(\.name))
        #expect(pipeline.commandsForTesting.map(\.encoded) == commands.map(\.encoded))
        #expect(RedisPipeline().isEmpty)
    }
}

@Suite("RESP pipelines on the server", .enabled(if: TestServer.redis.isAvailable, TestServer.redis.absence))
struct RedisPipelineServerTests {
    /// The replies come in the commands' order, an error reply among them in its place; one
    /// write for the whole pipeline.
    func check(_ client: RedisClient, _ prefix: String) async throws {
        var pipeline = RedisPipeline()
        for index in 0..<50 { pipeline.append("SET", prefix + "k\(index)", "v\(index)") }
        pipeline.append("SET", prefix + "text", "not a number")
        pipeline.append("INCR", prefix + "text")
        for index in 0..<50 { pipeline.append("GET", prefix + "k\(index)") }
        let replies = try await client.pipeline(pipeline)
        #expect(replies.count == 102)
        #expect(replies[0..<51].allSatisfy { $0.string == "OK" })
        guard case .error(let error) = replies[51] else {
            Issue.record("INCR of text answered \(replies[51])")
            return
        }
        #expect(error.message.contains("not an integer"))
        #expect(replies[52...].map(\.string) == (0..<50).map { "v\($0)" })
        #expect(try await client.pipeline(RedisPipeline()).isEmpty)
    }

    @Test func oneServer() async throws {
        try await withTestClient(connections: 1) { client in
            let prefix = uniquePrefix("pipeline")
            let before = client.statistics
            try await check(client, prefix)
            #expect(client.statistics.writes - before.writes == 1)
            try await deleteServerKeys(withPrefix: prefix, client: client)
        }
    }

    @Test(.enabled(if: TestServer.redisCluster.isAvailable, TestServer.redisCluster.absence))
    func aClusterSplitsItByNode() async throws {
        let client = try makeClusterClient()
        try await using(client) { client in
            let prefix = uniquePrefix("pipeline")
            try await check(client, prefix)
            try await deleteClusterKeys(withPrefix: prefix, client: client)
        }
    }
}
