import NIOCore
import NIOPosix
import Synchronization
import Testing
import TroveRedisClient
import TroveTestSupport

/// A loopback cluster node of the test's own, the only primary of every slot, that answers
/// on cue with the replies a cluster sends in passing: `FLAKY key n` gets `TRYAGAIN` n times
/// and then `+OK`, `DOWN` always `CLUSTERDOWN`, `LOOP` always a `MOVED` to itself, `WRONG`
/// `WRONGTYPE`, `GET` the value `v`. With `slotsOnly` it answers `CLUSTER SHARDS` as a server
/// before Redis 7 does, and tells its layout by `CLUSTER SLOTS`. With `replicaPort`, its layout
/// names a replica there.
final class FakeClusterNode: Sendable {
    let channel: any Channel
    let port: Int
    let received = Received()

    init(slotsOnly: Bool = false, firstOwnerPort: Int? = nil, replicaPort: Int? = nil) async throws {
        let box = PortBox()
        box.firstOwner.store(firstOwnerPort ?? 0, ordering: .releasing)
        box.replica.store(replicaPort ?? 0, ordering: .releasing)
        let received = self.received
        let server = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(FakeClusterHandler(port: box, slotsOnly: slotsOnly, received: received))
                }
            }
        self.channel = try await server.bind(host: "127.0.0.1", port: 0).get()
        self.port = channel.localAddress!.port!
        box.port.store(port, ordering: .releasing)
    }

    /// How many times the node received `name`.
    func count(_ name: String) -> Int { received.counts.withLock { $0[name] ?? 0 } }

    func client(maximumRetries: Int = 3, maximumRedirects: Int = 5,
                readFrom: RedisClient.ClusterConfiguration.ReadFrom = .primary) -> RedisClient {
        var node = RedisClient.Configuration()
        node.connectionCount = 1
        var cluster = RedisClient.ClusterConfiguration(seeds: [.init(host: "127.0.0.1", port: port)], node: node)
        cluster.maximumRetries = maximumRetries
        cluster.maximumRedirects = maximumRedirects
        cluster.readFrom = readFrom
        cluster.retryBackoffMinimum = .milliseconds(1)
        cluster.retryBackoffMaximum = .milliseconds(5)
        return RedisClient(cluster: cluster)
    }

    func stop() async throws { try await channel.close() }

    /// The node's port; and a port the first `CLUSTER SHARDS` names as every slot's owner
    /// instead (0 for none), as a cluster does just before a failover is noticed.
    final class PortBox: Sendable {
        let port = Atomic<Int>(0)
        let firstOwner = Atomic<Int>(0)
        let replica = Atomic<Int>(0)
    }
    /// How many times each command arrived.
    final class Received: Sendable { let counts = Mutex<[String: Int]>([:]) }
}

private final class FakeClusterHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let port: FakeClusterNode.PortBox
    let slotsOnly: Bool
    let received: FakeClusterNode.Received
    var decoder = RESPDecoder()
    var pending = ByteBuffer()

    init(port: FakeClusterNode.PortBox, slotsOnly: Bool, received: FakeClusterNode.Received) {
        self.port = port
        self.slotsOnly = slotsOnly
        self.received = received
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        pending.writeBuffer(&bytes)
        while let command = try? decoder.decode(&pending) {
            let parts = command.array?.compactMap(\.string) ?? []
            let name = parts.first?.uppercased() ?? ""
            // FLAKY is counted per key, everything else per command name.
            let counted = name == "FLAKY" ? "FLAKY \(parts.count > 1 ? parts[1] : "")" : name
            let times = received.counts.withLock { counts in
                counts[counted, default: 0] += 1
                return counts[counted]!
            }
            var port = self.port.port.load(ordering: .acquiring)
            if name == "CLUSTER", times == 1, self.port.firstOwner.load(ordering: .acquiring) != 0 {
                port = self.port.firstOwner.load(ordering: .acquiring)
            }
            let replica = self.port.replica.load(ordering: .acquiring)
            let reply: String
            switch name {
            case "HELLO": reply = "%1\r\n+server\r\n+fake\r\n"
            case "CLIENT", "PING", "READONLY": reply = "+OK\r\n"
            case "CLUSTER" where parts.count > 1 && parts[1].uppercased() == "SHARDS":
                let primaryNode = "*6\r\n$4\r\nport\r\n:\(port)\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
                let replicaNode = "*8\r\n$4\r\nport\r\n:\(replica)\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$7\r\nreplica\r\n"
                    + "$6\r\nhealth\r\n$6\r\nonline\r\n"
                reply = slotsOnly ? "-ERR unknown subcommand 'SHARDS'. Try CLUSTER HELP.\r\n"
                    : "*1\r\n*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:16383\r\n$5\r\nnodes\r\n" + (replica == 0 ? "*1\r\n" : "*2\r\n")
                        + primaryNode + (replica == 0 ? "" : replicaNode)
            case "CLUSTER" where parts.count > 1 && parts[1].uppercased() == "SLOTS":
                reply = "*1\r\n*\(replica == 0 ? 3 : 4)\r\n:0\r\n:16383\r\n*3\r\n$9\r\n127.0.0.1\r\n:\(port)\r\n$4\r\nnode\r\n"
                    + (replica == 0 ? "" : "*3\r\n$9\r\n127.0.0.1\r\n:\(replica)\r\n$4\r\nnod2\r\n")
            case "GET": reply = "$1\r\nv\r\n"
            case "FLAKY":
                let failures = Int(parts.count > 2 ? parts[2] : "0") ?? 0
                reply = times <= failures ? "-TRYAGAIN Multiple keys request during rehashing of slot\r\n" : "+OK\r\n"
            case "DOWN": reply = "-CLUSTERDOWN The cluster is down\r\n"
            case "LOOP": reply = "-MOVED 42 127.0.0.1:\(port)\r\n"
            case "WRONG": reply = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
            default: reply = "-ERR unknown command\r\n"
            }
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: reply)), promise: nil)
        }
    }
}

/// The cluster client's retries and redirect bound, against a node of the test's own.
@Suite("Redis Cluster client: retries and redirects")
struct RedisClusterRetryTests {
    /// `TRYAGAIN` is retried after a short wait, and the command succeeds when the node
    /// stops answering it.
    @Test func transientRepliesAreRetried() async throws {
        let node = try await FakeClusterNode()
        let client = node.client(maximumRetries: 5)
        #expect(try await client.send(RedisCommand("FLAKY", "k", "3")).string == "OK")
        #expect(node.count("FLAKY k") == 4)
        // In a pipeline too, each command on its own count.
        let replies = try await client.pipeline([RedisCommand("FLAKY", "a", "2"), RedisCommand("PING"), RedisCommand("FLAKY", "b", "1")])
        #expect(replies.map(\.string) == ["OK", "OK", "OK"])
        #expect(node.count("FLAKY a") == 3 && node.count("FLAKY b") == 2)
        await client.shutdown()
        try await node.stop()
    }

    /// A transient reply that outlasts the retries is final: a server error, retryable.
    @Test func retriesAreBounded() async throws {
        let node = try await FakeClusterNode()
        let client = node.client(maximumRetries: 3)
        do {
            _ = try await client.send(RedisCommand("DOWN", "k"))
            Issue.record("DOWN succeeded")
        } catch let error as RedisClientError {
            #expect(error.code == .server)
            #expect(error.serverError?.prefix == "CLUSTERDOWN")
            #expect(error.isRetryable)
        }
        #expect(node.count("DOWN") == 4)
        await client.shutdown()
        try await node.stop()
    }

    /// Redirects are bounded: a `MOVED` that never settles fails with `tooManyRedirects`
    /// after the limit, and other error replies are final at once.
    @Test func redirectsAreBoundedAndOtherErrorsFinal() async throws {
        let node = try await FakeClusterNode()
        let client = node.client(maximumRedirects: 4)
        do {
            _ = try await client.send(RedisCommand("LOOP", "k"))
            Issue.record("LOOP succeeded")
        } catch let error as RedisClientError {
            #expect(error.code == .tooManyRedirects, "\(error)")
        }
        #expect(node.count("LOOP") == 5)
        #expect(client.statistics.movedRedirects == 4)
        do {
            _ = try await client.send(RedisCommand("WRONG", "k"))
            Issue.record("WRONG succeeded")
        } catch let error as RedisClientError {
            #expect(error.code == .server && error.serverError?.prefix == "WRONGTYPE")
        }
        #expect(node.count("WRONG") == 1)
        await client.shutdown()
        try await node.stop()
    }

    /// A primary that cannot be reached (killed, say, and not yet replaced): the command is
    /// not sent, the layout is learnt again, and the command goes to the new owner.
    @Test func anUnreachablePrimaryIsReplacedAfterARefresh() async throws {
        let deadPort = try ServerSocketPort.free()
        let node = try await FakeClusterNode(firstOwnerPort: deadPort)
        let client = node.client(maximumRetries: 5)
        #expect(try await client.primaries() == [.init(host: "127.0.0.1", port: deadPort)])
        #expect(try await client.send(RedisCommand("FLAKY", "k", "0")).string == "OK")
        #expect(node.count("CLUSTER") == 2)
        #expect(try await client.primaries() == [.init(host: "127.0.0.1", port: node.port)])
        await client.shutdown()
        try await node.stop()
    }

    /// With `readFrom: .preferReplica`, a read goes to the replica the layout names (by
    /// `CLUSTER SHARDS` and by `CLUSTER SLOTS`); one that cannot be reached sends the read to
    /// the primary at once, without a wait. Writes go to the primary, and every connection
    /// says `READONLY`.
    @Test(arguments: [false, true])
    func readsFromAnUnreachableReplicaGoToThePrimary(slotsOnly: Bool) async throws {
        let deadPort = try ServerSocketPort.free()
        let node = try await FakeClusterNode(slotsOnly: slotsOnly, replicaPort: deadPort)
        // No retries: the read reaches the primary without counting as one.
        let client = node.client(maximumRetries: 0, readFrom: .preferReplica)
        #expect(try await client.send(RedisCommand("GET", "k")).string == "v")
        #expect(node.count("GET") == 1)
        #expect(client.statistics.replicaReads == 1)
        #expect(try await client.send(RedisCommand("FLAKY", "k", "0")).string == "OK")
        #expect(client.statistics.replicaReads == 1)
        #expect(node.count("READONLY") >= 1)
        await client.shutdown()
        // Reads from primaries only (the default) never say READONLY.
        let primaryOnly = node.client()
        let before = node.count("READONLY")
        #expect(try await primaryOnly.send(RedisCommand("GET", "k")).string == "v")
        #expect(primaryOnly.statistics.replicaReads == 0)
        #expect(node.count("READONLY") == before)
        await primaryOnly.shutdown()
        try await node.stop()
    }

    /// A server without `CLUSTER SHARDS` (before Redis 7) tells its layout by `CLUSTER SLOTS`.
    @Test func olderServersAreReadThroughClusterSlots() async throws {
        let node = try await FakeClusterNode(slotsOnly: true)
        let client = node.client()
        #expect(try await client.primaries() == [.init(host: "127.0.0.1", port: node.port)])
        #expect(try await client.send(RedisCommand("FLAKY", "k", "0")).string == "OK")
        #expect(node.count("CLUSTER") == 2)
        await client.shutdown()
        try await node.stop()
    }
}
