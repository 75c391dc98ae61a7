import NIOCore

/// Decodes the replies arriving on one channel and hands them on: to the handshake while it
/// runs, then to the connection, which matches them with its waiters in order.
final class RedisChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let connection: RedisConnection
    private var decoder: RESPDecoder
    private var received: ByteBuffer?
    private var handshakeReplies = CircularBuffer<EventLoopPromise<RESPValue>>()
    /// Set once the handshake is done: replies go to the connection from then on.
    var isReady = false
    private var context: ChannelHandlerContext?

    init(connection: RedisConnection, limits: RESPDecoder.Limits) {
        self.connection = connection
        self.decoder = RESPDecoder(limits: limits)
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    /// Sends a command of the handshake and returns its reply (on the event loop).
    func sendHandshake(_ command: RedisCommand) -> EventLoopFuture<RESPValue> {
        guard let context else {
            return connection.eventLoop.makeFailedFuture(RedisClientError(.connectFailed, "the connection closed during the handshake"))
        }
        let promise = context.eventLoop.makePromise(of: RESPValue.self)
        handshakeReplies.append(promise)
        context.writeAndFlush(NIOAny(command.encoded), promise: nil)
        return promise.futureResult
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if received == nil || received!.readableBytes == 0 {
            received = incoming
        } else {
            received!.writeBuffer(&incoming)
        }
        do {
            while let value = try decoder.decode(&received!) {
                route(value, context: context)
            }
        } catch {
            fail(RedisClientError(.protocolViolation, "\(connection.configuration) sent bytes that are not RESP", underlying: error),
                 context: context)
            return
        }
        if received!.readableBytes == 0 {
            received = nil
        } else if received!.readerIndex > 64 << 10 {
            received!.discardReadBytes()
        }
    }

    private func route(_ value: RESPValue, context: ChannelHandlerContext) {
        if case .push = value { return }  // out-of-band data; this client subscribes to nothing
        if !handshakeReplies.isEmpty {
            handshakeReplies.removeFirst().succeed(value)
        } else if isReady {
            connection.receive(value, on: context.channel)
        } else {
            fail(RedisClientError(.protocolViolation, "\(connection.configuration) sent a reply before any command"), context: context)
        }
    }

    private func fail(_ error: RedisClientError, context: ChannelHandlerContext) {
        while let promise = handshakeReplies.popFirst() { promise.fail(error) }
        connection.lose(context.channel, error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        let error = RedisClientError(.connectionClosed, "the connection to \(connection.configuration) closed; "
                                     + "commands in flight may or may not have been carried out")
        while let promise = handshakeReplies.popFirst() { promise.fail(error) }
        connection.lose(context.channel, error)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(RedisClientError(.connectionClosed, "the connection to \(connection.configuration) failed", underlying: error), context: context)
    }
}
