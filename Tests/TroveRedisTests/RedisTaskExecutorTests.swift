import NIOPosix
import Testing
import TroveRedisClient

/// A task that prefers the client's task executor runs on the event loop of a connection,
/// and its commands and replies need no hop between threads.
@Suite("Redis client: task executor")
struct RedisTaskExecutorTests {
    @Test func aTaskPreferringTheExecutorRunsOnAConnectionsEventLoop() async throws {
        let server = try await FakeRedisServer()
        var configuration = server.configuration
        configuration.connectionCount = 2
        let client = RedisClient(configuration: configuration)
        #expect(MultiThreadedEventLoopGroup.currentEventLoop == nil)
        for _ in 0..<2 {
            try await withTaskExecutorPreference(client.nextTaskExecutor()) {
                for _ in 0..<20 {
                    #expect(try await client.send(RedisCommand("PING")).string == "PONG")
                    #expect(MultiThreadedEventLoopGroup.currentEventLoop != nil)
                }
                let replies = try await client.pipeline((0..<16).map { _ in RedisCommand("PING") })
                #expect(replies.map(\.string) == Array(repeating: "PONG", count: 16))
            }
        }
        await client.shutdown()
        try await server.stop()
    }
}
