import NIOCore
import NIOSSL
import TroveNIOSupport

/// Decodes the replies arriving on one channel and hands them on: to the handshake while it
/// runs, then to the connection, which matches them with its waiters in order.
///
/// Until the handshake is done it also says what went wrong in words: a TLS failure (behind
/// NIOSSL's handler, when the connection speaks TLS), the server closing the connection, or
/// the connect timeout running out.
final class RedisChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let connection: RedisConnection
    private var decoder: RESPDecoder
    private var received: ByteBuffer?
    private var handshakeReplies = CircularBuffer<EventLoopPromise<RESPValue>>()
    /// Set once the handshake is done: replies go to the connection from then on.
    var isReady = false
    private var context: ChannelHandlerContext?
    /// The TLS configuration when NIOSSL's handler is before this one; `nil` for plain TCP.
    private let tls: RedisClient.TLS?
    /// How the channel failed or closed, once it has: a handshake command sent later fails
    /// with it at once. (A TLS failure can close the channel before the handshake has sent
    /// anything, when the connect's callbacks run late.)
    private var ending: RedisClientError?

    init(connection: RedisConnection, limits: RESPDecoder.Limits, tls: RedisClient.TLS?) {
        self.connection = connection
        self.decoder = RESPDecoder(limits: limits)
        self.tls = tls
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        let error = ending ?? RedisClientError(.connectFailed, "cannot connect to \(connection.configuration): the connection closed during the handshake")
        ending = error
        while let promise = handshakeReplies.popFirst() { promise.fail(error) }
        self.context = nil
    }

    /// Sends a command of the handshake and returns its reply (on the event loop).
    func sendHandshake(_ command: RedisCommand) -> EventLoopFuture<RESPValue> {
        if let ending { return connection.eventLoop.makeFailedFuture(ending) }
        guard let context, context.channel.isActive else {
            return connection.eventLoop.makeFailedFuture(
                RedisClientError(.connectFailed, "cannot connect to \(connection.configuration): the connection closed during the handshake"))
        }
        let promise = context.eventLoop.makePromise(of: RESPValue.self)
        handshakeReplies.append(promise)
        context.writeAndFlush(NIOAny(command.encoded), promise: nil)
        return promise.futureResult
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        // The decoder and the bytes are worked on as locals and put back once: an access to a
        // class's stored property costs an exclusivity check each time.
        var buffer: ByteBuffer
        if var pending = received, pending.readableBytes > 0 {
            received = nil
            pending.writeBuffer(&incoming)
            buffer = pending
        } else {
            buffer = incoming
        }
        received = nil
        var decoder = self.decoder
        // The replies of one read go to the connection together, under one lock.
        var replies: [RESPValue] = []
        do {
            while let value = try decoder.decode(&buffer) {
                if case .push = value { continue }  // out-of-band data; this client subscribes to nothing
                if isReady && handshakeReplies.isEmpty {
                    replies.append(value)
                } else {
                    route(value, context: context)
                }
            }
        } catch {
            self.decoder = decoder
            if !replies.isEmpty { connection.receive(replies, on: context.channel) }
            fail(RedisClientError(.protocolViolation, "\(connection.configuration) sent bytes that are not RESP", underlying: error),
                 context: context)
            return
        }
        self.decoder = decoder
        if buffer.readableBytes > 0 {
            if buffer.readerIndex > 64 << 10 { buffer.discardReadBytes() }
            received = buffer
        }
        if !replies.isEmpty { connection.receive(replies, on: context.channel) }
    }

    private func route(_ value: RESPValue, context: ChannelHandlerContext) {
        if !handshakeReplies.isEmpty {
            handshakeReplies.removeFirst().succeed(value)
        } else if isReady {
            connection.receive(CollectionOfOne(value), on: context.channel)
        } else {
            fail(RedisClientError(.protocolViolation, "\(connection.configuration) sent a reply before any command"), context: context)
        }
    }

    private func fail(_ error: RedisClientError, context: ChannelHandlerContext) {
        if ending == nil { ending = error }
        while let promise = handshakeReplies.popFirst() { promise.fail(error) }
        connection.lose(context.channel, error)
        context.close(promise: nil)
    }

    /// Whether the TLS handshake got as far as the server's certificate (so that what fails
    /// next is not the handshake's doing); `false` on a plain connection.
    private func isTLSEstablished(_ context: ChannelHandlerContext) -> Bool {
        guard tls != nil, let handler = try? context.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self) else { return false }
        return handler.peerCertificate != nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        let configuration = connection.configuration
        let error: RedisClientError
        if isReady {
            error = RedisClientError(.connectionClosed, "the connection to \(configuration) closed; "
                                     + "commands in flight may or may not have been carried out")
        } else if tls != nil && !isTLSEstablished(context) {
            error = RedisClientError(.connectFailed, "cannot connect to \(configuration): the server closed the connection during the TLS handshake")
        } else {
            // No command was sent yet: they wait for the handshake.
            let hint = tls == nil ? "; if the server expects TLS on that port, connect with TLS (rediss://)" : ""
            error = RedisClientError(.connectFailed, "cannot connect to \(configuration): the server closed the connection during the handshake\(hint)")
        }
        if ending == nil { ending = error }
        while let promise = handshakeReplies.popFirst() { promise.fail(error) }
        connection.lose(context.channel, error)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let configuration = connection.configuration
        if isReady {
            fail(RedisClientError(.connectionClosed, "the connection to \(configuration) failed", underlying: error), context: context)
            return
        }
        let closedAfterTLSHandshake = tls != nil && Self.isUncleanShutdown(error) && isTLSEstablished(context)
        // TLS 1.3 ends the client's side of the handshake before the server has checked the
        // client's certificate, so the server's refusal arrives while HELLO waits: still a TLS
        // failure.
        if let tls, !closedAfterTLSHandshake,
           let (kind, reason) = RedisTLSContext.failure(error, tls: tls, name: tls.serverName ?? configuration.host) {
            var failure = RedisClientError(.tlsHandshakeFailed, "TLS handshake with \(configuration.endpoint) failed: \(reason)", underlying: error)
            failure.tlsFailure = kind
            fail(failure, context: context)
            return
        }
        // Nothing was sent yet: commands wait for the handshake.
        let reason = closedAfterTLSHandshake
            ? "the server closed the connection right after the TLS handshake (a server that requires client certificates "
                + "does so when it gets none or refuses the one given)"
            : "the connection failed during the handshake (\(ConnectionFailure.reason(error)))"
        let hint = tls == nil ? "; if the server expects TLS on that port, connect with TLS (rediss://)" : ""
        fail(RedisClientError(.connectFailed, "cannot connect to \(configuration): \(reason)\(hint)", underlying: error), context: context)
    }

    private static func isUncleanShutdown(_ error: any Error) -> Bool {
        guard let error = error as? NIOSSLError, case .uncleanShutdown = error else { return false }
        return true
    }

    /// Fails the handshake because the connect timeout ran out (on the event loop).
    func abandonHandshake(after timeout: Duration) {
        guard let context, !isReady else { return }
        let configuration = connection.configuration
        let what = tls != nil && !isTLSEstablished(context)
            ? "no TLS handshake with \(configuration.endpoint) within \(timeout) (does the server speak TLS on that port?)"
            : "no answer to the handshake within \(timeout)"
        fail(RedisClientError(.connectFailed, "cannot connect to \(configuration): \(what)"), context: context)
    }
}
