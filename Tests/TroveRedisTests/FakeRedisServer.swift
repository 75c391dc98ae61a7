import NIOCore
import NIOPosix
import Synchronization
import TroveRedisClient

/// A loopback TCP server of the test's own that speaks just enough RESP to misbehave on cue:
/// it answers `PING` with `+PONG`, `GARBAGE` with bytes that are not RESP, `HALF` with half a
/// reply and then closes, and `STALL` never. `HELLO` gets an error (so the client falls back
/// to RESP2) when `refusesHello` is set, else an empty map. A command named in `delays` is
/// answered that long after it came.
final class FakeRedisServer: Sendable {
    let channel: any Channel
    let port: Int
    let connections = Atomic<Int>(0)

    init(port: Int = 0, refusesHello: Bool = false, delays: [String: TimeAmount] = [:]) async throws {
        let connections = Atomic<Int>(0)
        _ = connections
        let server = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(FakeHandler(refusesHello: refusesHello, delays: delays))
                }
            }
        self.channel = try await server.bind(host: "127.0.0.1", port: port).get()
        self.port = channel.localAddress!.port!
    }

    var configuration: RedisClient.Configuration {
        var configuration = RedisClient.Configuration(host: "127.0.0.1", port: port)
        configuration.connectionCount = 1
        configuration.reconnectBackoffMinimum = .milliseconds(5)
        configuration.reconnectBackoffMaximum = .milliseconds(50)
        return configuration
    }

    func stop() async throws {
        try await channel.close()
    }
}

private final class FakeHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let refusesHello: Bool
    let delays: [String: TimeAmount]
    var decoder = RESPDecoder()
    var pending = ByteBuffer()

    init(refusesHello: Bool, delays: [String: TimeAmount]) {
        self.refusesHello = refusesHello
        self.delays = delays
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        pending.writeBuffer(&bytes)
        while let command = try? decoder.decode(&pending) {
            let name = command.array?.first?.string?.uppercased() ?? ""
            let reply: String?
            switch name {
            case "HELLO": reply = refusesHello ? "-ERR unknown command 'HELLO'\r\n" : "%1\r\n+server\r\n+fake\r\n"
            case "PING": reply = "+PONG\r\n"
            case "CLIENT", "AUTH", "SELECT": reply = "+OK\r\n"
            case "GARBAGE": reply = "?this is no RESP\r\n"
            case "HALF":
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "$10\r\nabc")), promise: nil)
                context.close(promise: nil)
                return
            case "STALL": reply = nil
            default: reply = "-ERR unknown command\r\n"
            }
            if let delay = delays[name], let reply {
                let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
                context.eventLoop.scheduleTask(in: delay) {
                    bound.value.writeAndFlush(NIOAny(ByteBuffer(string: reply)), promise: nil)
                }
                continue
            }
            if let reply { context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: reply)), promise: nil) }
        }
    }
}
