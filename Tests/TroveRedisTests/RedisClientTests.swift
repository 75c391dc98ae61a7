import Foundation
import NIOCore
import Testing
import TroveRedisClient
import TroveTestSupport

/// The error `body` throws, if any.
func capture(_ body: () async throws -> RESPValue) async -> (any Error)? {
    do {
        _ = try await body()
        return nil
    } catch {
        return error
    }
}

/// The client against a server of the test's own that misbehaves on cue: every call gets a
/// typed error, and the client recovers.
@Suite("Redis client: faults")
struct RedisClientFaultTests {
    func expectClientError(_ code: RedisClientError.Code, _ body: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) async {
        do {
            try await body()
            Issue.record("no error; expected \(code)", sourceLocation: sourceLocation)
        } catch let error as RedisClientError {
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(error); expected RedisClientError \(code)", sourceLocation: sourceLocation)
        }
    }

    @Test func garbageHalfRepliesAndStallsFailTypedAndTheClientRecovers() async throws {
        let server = try await FakeRedisServer()
        // A command timeout that the garbage and half replies of a loaded machine arrive well
        // inside; a second client, with a short one, for the stall.
        var configuration = server.configuration
        configuration.commandTimeout = .seconds(30)
        let client = RedisClient(configuration: configuration)
        configuration.commandTimeout = .seconds(1)
        let impatient = RedisClient(configuration: configuration)
        #expect(try await client.send(RedisCommand("PING")).string == "PONG")
        await expectClientError(.protocolViolation) { _ = try await client.send(RedisCommand("GARBAGE")) }
        #expect(try await client.send(RedisCommand("PING")).string == "PONG")
        await expectClientError(.connectionClosed) { _ = try await client.send(RedisCommand("HALF")) }
        #expect(try await client.send(RedisCommand("PING")).string == "PONG")
        await expectClientError(.timedOut) { _ = try await impatient.send(RedisCommand("STALL")) }
        #expect(try await impatient.send(RedisCommand("PING")).string == "PONG")
        await impatient.shutdown()
        // Commands behind a broken reply fail with it, typed, and none is left waiting.
        let first = Task { try await client.send(RedisCommand("GARBAGE")) }
        let second = Task { try await client.send(RedisCommand("PING")) }
        for outcome in [await capture { try await first.value }, await capture { try await second.value }] {
            if let error = outcome { #expect(error is RedisClientError, "\(error)") }
        }
        #expect(try await client.send(RedisCommand("PING")).string == "PONG")
        await client.shutdown()
        try await server.stop()
    }

    @Test func resp2FallbackWhenTheServerHasNoHello() async throws {
        let server = try await FakeRedisServer(refusesHello: true)
        var configuration = server.configuration
        configuration.password = "secret"
        let client = RedisClient(configuration: configuration)
        #expect(try await client.send(RedisCommand("PING")).string == "PONG")
        await client.shutdown()
        try await server.stop()
    }

    @Test func aServerThatGoesAwayFailsFastThenComesBack() async throws {
        let server = try await FakeRedisServer()
        let port = server.port
        let client = RedisClient(configuration: server.configuration)
        #expect(try await client.send(RedisCommand("PING")).string == "PONG")
        try await server.stop()
        // The connection to the stopped server may still be open: the server's listener is
        // gone, its accepted channels are not. STALL holds it until the client gives up.
        var failures: [RedisClientError.Code] = []
        for _ in 0..<3 {
            do {
                _ = try await client.send(RedisCommand("HALF"))
            } catch let error as RedisClientError {
                failures.append(error.code)
            }
        }
        #expect(failures.count == 3)
        #expect(failures.allSatisfy { [.connectFailed, .connectionClosed].contains($0) }, "\(failures)")
        let again = try await FakeRedisServer(port: port)
        var reply: RESPValue?
        for _ in 0..<200 where reply == nil {
            reply = try? await client.send(RedisCommand("PING"))
            if reply == nil { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(reply?.string == "PONG")
        await client.shutdown()
        try await again.stop()
    }

    /// A slow handshake is bounded by the connect timeout, not by the command timeout of the
    /// commands that wait for it: their wait for a reply starts once they are written.
    @Test func commandsSentWhileConnectingWaitForTheConnectionUnderTheConnectTimeout() async throws {
        // The PING's reply comes 600 ms after it: past the first timeout checks (every quarter
        // of the timeout), inside its timeout once written with room for a loaded machine's
        // delays, long past it if the handshake counted.
        let server = try await FakeRedisServer(delays: ["HELLO": .milliseconds(3000), "PING": .milliseconds(600)])
        var configuration = server.configuration
        configuration.connectTimeout = .seconds(30)
        configuration.commandTimeout = .milliseconds(1500)
        let client = RedisClient(configuration: configuration)
        #expect(try await client.send(RedisCommand("PING")).string == "PONG")
        await client.shutdown()
        try await server.stop()
    }

    @Test func aShutDownClientRefusesCalls() async throws {
        let server = try await FakeRedisServer()
        let client = RedisClient(configuration: server.configuration)
        await client.shutdown()
        await expectClientError(.shutDown) { _ = try await client.send(RedisCommand("PING")) }
        try await server.stop()
    }
}

/// The client against the real server.
@Suite("Redis client", .enabled(if: TestServer.redis.isAvailable, TestServer.redis.absence))
struct RedisClientTests {
    /// Many tasks at once share one connection: every reply reaches its own caller, and the
    /// commands travel in fewer writes than there are commands.
    @Test func manyTasksArePipelinedOntoOneConnection() async throws {
        try await withTestClient(connections: 1) { client in
            let prefix = uniquePrefix("pipelining")
            let before = client.statistics
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<500 {
                    group.addTask {
                        _ = try await client.send(RedisCommand("SET", prefix + String(index), String(index * 7)))
                        let value = try await client.send(RedisCommand("GET", prefix + String(index)))
                        #expect(value.string == String(index * 7))
                    }
                }
                try await group.waitForAll()
            }
            let after = client.statistics
            #expect(after.commandsSent - before.commandsSent == 1000)
            #expect(after.writes - before.writes < 1000, "\(after.writes - before.writes) writes for 1000 commands")
            let replies = try await client.pipeline((0..<100).map { RedisCommand("GET", prefix + String($0)) } + [RedisCommand("NOSUCHCOMMAND")])
            #expect(replies.dropLast().map(\.string) == (0..<100).map { String($0 * 7) })
            if case .error(let error) = replies.last! { #expect(error.prefix == "ERR") } else { Issue.record("\(replies.last!)") }
            try await deleteServerKeys(withPrefix: prefix, client: client)
        }
    }

    /// A cancelled call fails at once; the reply it was waiting for is dropped when it comes,
    /// and the calls after it get their own replies.
    @Test(.timeLimit(.minutes(2)))
    func cancellationFailsFastAndKeepsTheConnectionInStep() async throws {
        // One connection, held by a BLPOP that only a push from a second client releases (not
        // a timeout, which a loaded machine could outrun): everything behind it waits.
        let client = try makeTestClient(connections: 1, commandTimeout: .seconds(120))
        let pusher = try makeTestClient(connections: 1)
        let key = uniquePrefix("cancel") + "list"
        do {
            // Each call is known to be on the connection once the client's command count has moved.
            func sent(_ count: Int) async throws {
                while client.statistics.commandsSent < count { try await Task.sleep(for: .milliseconds(1)) }
            }
            let start = client.statistics.commandsSent
            async let blocked: RESPValue = client.send(RedisCommand("BLPOP", key, "0"))
            try await sent(start + 1)
            let waiting = Task { try await client.send(RedisCommand("ECHO", "cancelled")) }
            try await sent(start + 2)
            waiting.cancel()
            await #expect(throws: CancellationError.self) { try await waiting.value }
            _ = try await pusher.send(RedisCommand("RPUSH", key, "released"))
            #expect(try await blocked.array?.last?.string == "released")
            #expect(try await client.send(RedisCommand("ECHO", "after")).string == "after")
            #expect(try await client.send(RedisCommand("ECHO", "again")).string == "again")
        } catch {
            _ = try? await pusher.send(RedisCommand("RPUSH", key, "released"))
            await client.shutdown()
            _ = try? await pusher.send(RedisCommand("DEL", key))
            await pusher.shutdown()
            throw error
        }
        await client.shutdown()
        _ = try await pusher.send(RedisCommand("DEL", key))
        await pusher.shutdown()
    }

    @Test func aCommandPastItsTimeoutDropsTheConnectionAndTheNextOneReconnects() async throws {
        let client = try makeTestClient(connections: 1, commandTimeout: .seconds(2))
        let key = uniquePrefix("timeout") + "list"
        do {
            _ = try await client.send(RedisCommand("BLPOP", key, "10"))
            Issue.record("BLPOP returned within a 2 s timeout")
        } catch let error as RedisClientError {
            #expect(error.code == .timedOut)
            #expect(error.isRetryable)
        }
        #expect(try await client.send(RedisCommand("PING")).string == "PONG")
        await client.shutdown()
    }

    /// An ACL user and password, a database, a client name, RESP2 and RESP3.
    @Test(arguments: [true, false])
    func handshake(_ resp3: Bool) async throws {
        let user = "trove-test-\(UInt32.random(in: 0...UInt32.max))"
        let admin = try makeTestClient(connections: 1)
        _ = try await admin.send(RedisCommand("ACL", "SETUSER", user, "on", ">s3cret", "~*", "+@all"))
        var configuration = admin.configuration
        configuration.username = user
        configuration.password = "s3cret"
        configuration.database = 3
        configuration.clientName = "trove-handshake"
        configuration.prefersRESP3 = resp3
        configuration.connectionCount = 1
        let client = RedisClient(configuration: configuration)
        #expect(try await client.send(RedisCommand("ACL", "WHOAMI")).string == user)
        #expect(try await client.send(RedisCommand("CLIENT", "GETNAME")).string == "trove-handshake")
        let info = try await client.send(RedisCommand("CLIENT", "INFO")).string ?? ""
        #expect(info.contains(" db=3 "), "\(info)")
        #expect(info.contains(" resp=\(resp3 ? 3 : 2)"), "\(info)")
        // RESP3 replies are maps where RESP2 gives flat arrays; both decode.
        let hello = try await client.send(RedisCommand("HELLO"))
        if resp3 { if case .map = hello {} else { Issue.record("HELLO under RESP3 gave \(hello)") } }
        await client.shutdown()

        configuration.password = "wrong"
        let refused = RedisClient(configuration: configuration)
        do {
            _ = try await refused.send(RedisCommand("PING"))
            Issue.record("a wrong password was accepted")
        } catch let error as RedisClientError {
            #expect(error.code == .authenticationFailed)
            #expect(!error.description.contains("wrong"), "the password appears in \(error)")
        }
        await refused.shutdown()
        _ = try await admin.send(RedisCommand("ACL", "DELUSER", user))
        await admin.shutdown()
    }
}
