public import Logging
public import NIOCore
public import NIOPosix
import Synchronization

/// A Redis client: a few long-lived connections onto which the commands of every task are
/// pipelined, replies matched in order.
///
///     let client = RedisClient(configuration: RedisClient.Configuration(host: "127.0.0.1", port: 6379))
///     _ = try await client.send(RedisCommand("SET", "greeting", "hello"))
///     let value = try await client.send(RedisCommand("GET", "greeting")).string   // "hello"
///     await client.shutdown()
///
/// **Connections.** ``Configuration/connectionCount`` connections, each made on first use and
/// kept; a call picks one in turn and is never leased one. Many calls in flight at once share a
/// connection's write buffer, so one write (and one hop to the event loop) carries all the
/// commands that arrived meanwhile. A connection that fails is made again on the next call; if
/// that fails too, calls fail at once with ``RedisClientError/Code/connectFailed`` until a
/// jittered, doubling wait has passed (from ``Configuration/reconnectBackoffMinimum`` up to
/// ``Configuration/reconnectBackoffMaximum``).
///
/// **Handshake.** `HELLO 3` with the credentials and client name where the server speaks
/// RESP3, else RESP2 with `AUTH` and `CLIENT SETNAME`; then `SELECT` of the database.
///
/// **Cancellation and timeouts.** A cancelled call fails at once with `CancellationError`; its
/// reply, when it comes, is read and dropped, so the connection stays in step (the command
/// itself may have been carried out). A connection whose oldest command has waited longer
/// than ``Configuration/commandTimeout`` is dropped and its commands fail with
/// ``RedisClientError/Code/timedOut``.
public final class RedisClient: Sendable {
    /// The configuration the client was made with.
    public let configuration: Configuration
    private let connections: [RedisConnection]
    private let turn = Atomic<Int>(0)
    let counters: Counters

    /// Counts of what the client did, for tests and benchmarks.
    public struct Statistics: Hashable, Sendable {
        /// Commands handed to a connection (every command of a pipeline counts).
        public var commandsSent: Int
        /// Writes to a socket: each carries one or more commands, so with one caller at a
        /// time it is the number of round trips.
        public var writes: Int
    }

    final class Counters: Sendable {
        let commandsSent = Atomic<Int>(0)
        let writes = Atomic<Int>(0)
    }

    /// Creates a client; connections are made on first use.
    ///
    /// - Parameters:
    ///   - configuration: Where the server is and how to talk to it.
    ///   - eventLoopGroup: The event loops the connections run on. Defaults to NIO's shared
    ///     group (`MultiThreadedEventLoopGroup.singleton`), which the caller must not shut down.
    ///   - logger: Where connection events go, at debug level. Defaults to a logger labelled
    ///     `trove.redis`.
    public init(
        configuration: Configuration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "trove.redis")
    ) {
        self.configuration = configuration
        let counters = Counters()
        self.counters = counters
        self.connections = (0..<max(1, configuration.connectionCount)).map { _ in
            RedisConnection(configuration: configuration, eventLoop: eventLoopGroup.next(), counters: counters, logger: logger)
        }
    }

    /// What the client has done so far.
    public var statistics: Statistics {
        Statistics(commandsSent: counters.commandsSent.load(ordering: .relaxed), writes: counters.writes.load(ordering: .relaxed))
    }

    private func nextConnection() -> RedisConnection {
        if connections.count == 1 { return connections[0] }
        let index = turn.wrappingAdd(1, ordering: .relaxed).oldValue
        return connections[Int(UInt(bitPattern: index) % UInt(connections.count))]
    }

    /// Sends `command` and returns its reply.
    ///
    /// - Throws: ``RedisClientError`` (``RedisClientError/Code/server`` for an error reply,
    ///   with the server's message); `CancellationError` when the task is cancelled.
    public func send(_ command: RedisCommand) async throws -> RESPValue {
        let reply = try await nextConnection().send(command)
        if case .error(let error) = reply {
            throw RedisClientError(.server, "\(command.name): \(error.message)", serverError: error)
        }
        return reply
    }

    /// Sends `commands` in one write on one connection and returns their replies in order,
    /// error replies among them as ``RESPValue/error(_:)``: a pipeline, one round trip.
    ///
    /// The commands are not a transaction: other clients' commands may run between them.
    ///
    /// - Throws: ``RedisClientError`` when the connection fails (any command may or may not
    ///   have run); `CancellationError` when the task is cancelled.
    public func pipeline(_ commands: [RedisCommand]) async throws -> [RESPValue] {
        try await nextConnection().send(commands)
    }

    /// Runs `script` with `EVALSHA`, and with `EVAL` (which loads it) when the server does not
    /// have it yet (`NOSCRIPT`).
    ///
    /// - Throws: As ``send(_:)``; an error raised by the script is ``RedisClientError/Code/server``.
    public func run(_ script: RedisScript, keys: [String], arguments: [any RESPArgument & Sendable]) async throws -> RESPValue {
        let reply = try await nextConnection().send(script.command(keys: keys, arguments: arguments))
        if case .error(let error) = reply {
            if error.prefix == "NOSCRIPT" {
                return try await send(script.command(keys: keys, arguments: arguments, loading: true))
            }
            throw RedisClientError(.server, "script \(script.name): \(error.message)", serverError: error)
        }
        return reply
    }

    /// Closes every connection; calls in flight and later calls fail with
    /// ``RedisClientError/Code/shutDown``.
    public func shutdown() async {
        for connection in connections { await connection.shutdown() }
    }
}
