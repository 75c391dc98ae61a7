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
/// **Handshake.** With ``Configuration/tls``, a TLS handshake first (see ``TLS``); then
/// `HELLO 3` with the credentials and client name where the server speaks RESP3, else RESP2
/// with `AUTH` and `CLIENT SETNAME`; then `SELECT` of the database, all within
/// ``Configuration/connectTimeout``.
///
/// **Cancellation and timeouts.** A cancelled call fails at once with `CancellationError`; its
/// reply, when it comes, is read and dropped, so the connection stays in step (the command
/// itself may have been carried out). A connection whose oldest command has waited longer
/// than ``Configuration/commandTimeout`` is dropped and its commands fail with
/// ``RedisClientError/Code/timedOut``.
///
/// **Cluster.** A client made with ``init(cluster:eventLoopGroup:logger:)`` talks to a Redis
/// Cluster: each command goes to the primary of its key's slot (``RedisCommand/keySlot``),
/// following `MOVED` and `ASK` redirects; a pipeline is split into one pipeline per primary,
/// sent at once, its replies put back in the order of the commands; `MGET`, `MSET`, `DEL`,
/// `UNLINK`, `EXISTS` and `TOUCH` over keys of several slots are split per slot and their
/// replies joined. See ``ClusterConfiguration``.
public final class RedisClient: Sendable, CustomStringConvertible {
    /// The configuration the client was made with; for a cluster client, how it talks to each
    /// node, with the first seed's host and port.
    public let configuration: Configuration
    /// The cluster configuration of a cluster client; `nil` for a client of one server.
    public let clusterConfiguration: ClusterConfiguration?
    private let connections: [RedisConnection]
    private let router: RedisClusterRouter?
    private let executors: [EventLoopTaskExecutor]
    private let turn = Atomic<Int>(0)
    let counters: Counters

    /// Counts of what the client did, for tests and benchmarks.
    public struct Statistics: Hashable, Sendable {
        /// Commands handed to a connection (every command of a pipeline counts).
        public var commandsSent: Int
        /// Writes to a socket: each carries one or more commands, so with one caller at a
        /// time it is the number of round trips.
        public var writes: Int
        /// `MOVED` redirects a cluster client followed (0 for a client of one server).
        public var movedRedirects: Int = 0
        /// `ASK` redirects a cluster client followed (0 for a client of one server).
        public var askRedirects: Int = 0
        /// Commands a cluster client sent to replicas (see
        /// ``ClusterConfiguration/readFrom``); 0 for a client of one server.
        public var replicaReads: Int = 0
    }

    final class Counters: Sendable {
        let commandsSent = Atomic<Int>(0)
        let writes = Atomic<Int>(0)
        let moved = Atomic<Int>(0)
        let asked = Atomic<Int>(0)
        let replicaReads = Atomic<Int>(0)
    }

    /// Creates a client; connections are made on first use.
    ///
    /// - Parameters:
    ///   - configuration: Where the server is and how to talk to it.
    ///   - eventLoopGroup: The event loops the connections run on. Defaults to NIO's shared
    ///     group (`MultiThreadedEventLoopGroup.singleton`), which the caller must not shut down.
    ///   - logger: Where connection events go, at debug level. Defaults to a logger labelled
    ///     `trove.redis`.
    ///
    /// With ``Configuration/tls``, the certificates and key are read now (blocking, once); a
    /// mistake in them fails every connection attempt with
    /// ``RedisClientError/Code/invalidTLSConfiguration`` (``TLS/validate()`` finds it first).
    public convenience init(
        configuration: Configuration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "trove.redis")
    ) {
        self.init(configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger, counters: Counters(),
                  tlsContext: configuration.tls.map(RedisTLSContext.init))
    }

    /// A client of one server that counts into `counters` and speaks TLS with `tlsContext`
    /// (a cluster's nodes share both).
    init(configuration: Configuration, eventLoopGroup: any EventLoopGroup, logger: Logger, counters: Counters,
         tlsContext: RedisTLSContext?) {
        self.configuration = configuration
        self.clusterConfiguration = nil
        self.counters = counters
        self.router = nil
        let connections = (0..<max(1, configuration.connectionCount)).map { _ in
            RedisConnection(configuration: configuration, eventLoop: eventLoopGroup.next(), counters: counters, logger: logger,
                            tlsContext: tlsContext)
        }
        self.connections = connections
        self.executors = connections.map { EventLoopTaskExecutor(eventLoop: $0.eventLoop) }
    }

    /// Creates a client of a Redis Cluster; nothing is sent until the first call, which
    /// learns the cluster's layout from the seeds.
    ///
    /// - Parameters:
    ///   - cluster: The seeds, how to talk to each node, and the bounds on redirects and retries.
    ///   - eventLoopGroup: The event loops the connections run on. Defaults to NIO's shared group.
    ///   - logger: Where connection and layout events go, at debug level.
    ///
    /// With TLS in ``ClusterConfiguration/node``, the certificates and key are read now, once
    /// for every node.
    public init(
        cluster: ClusterConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "trove.redis")
    ) {
        var first = cluster.node
        if let seed = cluster.seeds.first {
            first.host = seed.host
            first.port = seed.port
        }
        self.configuration = first
        self.clusterConfiguration = cluster
        let counters = Counters()
        self.counters = counters
        self.connections = []
        self.executors = (0..<max(1, cluster.node.connectionCount)).map { _ in EventLoopTaskExecutor(eventLoop: eventLoopGroup.next()) }
        self.router = RedisClusterRouter(configuration: cluster, eventLoopGroup: eventLoopGroup, logger: logger, counters: counters)
    }

    /// Whether the client talks to a Redis Cluster.
    public var isCluster: Bool { router != nil }

    /// `redis://host:port/db` or `redis+cluster://host1:port1,host2:port2` (`rediss` with
    /// TLS), never with the password.
    public var description: String { clusterConfiguration?.description ?? configuration.description }

    /// What the client has done so far.
    public var statistics: Statistics {
        Statistics(commandsSent: counters.commandsSent.load(ordering: .relaxed), writes: counters.writes.load(ordering: .relaxed),
                   movedRedirects: counters.moved.load(ordering: .relaxed), askRedirects: counters.asked.load(ordering: .relaxed),
                   replicaReads: counters.replicaReads.load(ordering: .relaxed))
    }

    /// A task executor on the event loop of one of the client's connections (the next one at
    /// each call), for tasks that send many commands one after another.
    ///
    ///     try await withTaskExecutorPreference(client.nextTaskExecutor()) {
    ///         for key in keys { _ = try await client.send(RedisCommand("GET", key)) }
    ///     }
    ///
    /// A task that prefers it runs on the thread of that connection's channel, and its
    /// commands go to that connection: each is written at once, with no hop to the event
    /// loop, and its reply resumes the task on the same thread, with no hop back. Work of
    /// the task's own then runs on the event loop too, so it suits tasks that mostly wait for
    /// the server. On a cluster client the executors are on event loops of the client's
    /// group, not tied to one node.
    public func nextTaskExecutor() -> any TaskExecutor {
        if executors.count == 1 { return executors[0] }
        let index = turn.wrappingAdd(1, ordering: .relaxed).oldValue
        return executors[Int(UInt(bitPattern: index) % UInt(executors.count))]
    }

    private func nextConnection() -> RedisConnection {
        if connections.count == 1 { return connections[0] }
        let next = Int(UInt(bitPattern: turn.wrappingAdd(1, ordering: .relaxed).oldValue) % UInt(connections.count))
        // A caller on an event loop takes the next connection of that loop: no thread hop.
        if let current = MultiThreadedEventLoopGroup.currentEventLoop {
            var index = next
            for _ in 0..<connections.count {
                if connections[index].eventLoop === current { return connections[index] }
                index = index + 1 == connections.count ? 0 : index + 1
            }
        }
        return connections[next]
    }

    /// Sends `command` and returns its reply.
    ///
    /// - Throws: ``RedisClientError`` (``RedisClientError/Code/server`` for an error reply,
    ///   with the server's message); `CancellationError` when the task is cancelled.
    public func send(_ command: RedisCommand) async throws -> RESPValue {
        let reply = try await sendRaw(command)
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
    /// On a cluster, the commands go to their slots' primaries, one pipeline per primary, all
    /// sent at once; a command redirected (`MOVED`, `ASK`) or retried is sent again after the
    /// others of its round, so commands for one slot keep their order only until a redirect.
    public func pipeline(_ commands: [RedisCommand]) async throws -> [RESPValue] {
        try await pipelineRaw(commands)
    }

    /// Sends the commands of `pipeline` in one write on one connection and returns their
    /// replies in order, error replies among them as ``RESPValue/error(_:)``: as the
    /// `pipeline` of an array of commands does, without a buffer per command.
    ///
    /// - Throws: As the `pipeline` of an array of commands.
    public func pipeline(_ pipeline: RedisPipeline) async throws -> [RESPValue] {
        if let router { return try await router.execute(pipeline.commands) }
        return try await nextConnection().send(encoded: pipeline.buffer, count: pipeline.count)
    }

    /// The reply to `command`, an error reply included (after redirects on a cluster).
    func sendRaw(_ command: RedisCommand) async throws -> RESPValue {
        if let router { return try await router.execute([command])[0] }
        return try await nextConnection().send(command)
    }

    /// The replies to `commands`, error replies included (after redirects on a cluster).
    func pipelineRaw(_ commands: [RedisCommand]) async throws -> [RESPValue] {
        if let router { return try await router.execute(commands) }
        return try await nextConnection().send(commands)
    }

    /// Sends `command` to the server at `endpoint` (a node of the cluster, for commands such
    /// as `SCAN`, `SCRIPT FLUSH` or `CLUSTER INFO` that concern one node), without following
    /// redirects. On a client of one server, it goes to that server whatever `endpoint` says.
    ///
    /// - Throws: As ``send(_:)``.
    public func send(_ command: RedisCommand, to endpoint: Endpoint) async throws -> RESPValue {
        guard let router else { return try await send(command) }
        return try await router.client(for: endpoint).send(command)
    }

    /// The primaries of the cluster, as the client last learnt them (learning the layout first
    /// when it has not yet); the one server of a client of one server.
    ///
    /// - Throws: ``RedisClientError/Code/connectFailed`` when no seed tells the layout.
    public func primaries() async throws -> [Endpoint] {
        guard let router else { return [Endpoint(host: configuration.host, port: configuration.port)] }
        return try await router.primaries()
    }

    /// Learns the cluster's layout again now (it is also learnt after every `MOVED`, and when
    /// a node cannot be reached). Does nothing on a client of one server.
    public func refreshClusterLayout() async throws {
        try await router?.refreshLayout()
    }

    /// Runs `script` with `EVALSHA`, and with `EVAL` (which loads it) when the server does not
    /// have it yet (`NOSCRIPT`).
    ///
    /// - Throws: As ``send(_:)``; an error raised by the script is ``RedisClientError/Code/server``.
    public func run(_ script: RedisScript, keys: [String], arguments: [any RESPArgument & Sendable]) async throws -> RESPValue {
        let reply = try await sendRaw(script.command(keys: keys, arguments: arguments))
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
        await router?.shutdown()
        for connection in connections { await connection.shutdown() }
    }
}
