import Logging
import NIOCore
import NIOPosix
import Synchronization
import TroveNIOSupport

/// One long-lived connection, shared by every task that sends on it: commands are appended to
/// one write buffer and one queue of waiters under a lock, written by one flush on the event
/// loop for as many commands as arrived meanwhile, and their replies matched in order.
///
/// Per command: one lock to enqueue, at most one hop to the event loop (shared by every
/// command enqueued before that flush runs), one lock to take the reply, and the hop back to
/// the caller's executor when its continuation resumes. No timer per command: one repeated
/// check per connection looks at the age of the oldest command in flight.
final class RedisConnection: Sendable {
    let configuration: RedisClient.Configuration
    let eventLoop: any EventLoop
    let counters: RedisClient.Counters
    let logger: Logger
    /// The TLS context of the client, or `nil` for plain TCP.
    let tlsContext: RedisTLSContext?
    private let state: Mutex<State>
    private let identifiers = Atomic<UInt64>(0)

    private enum Phase {
        case idle
        case connecting
        case ready(any Channel)
        case backingOff(until: NIODeadline, error: RedisClientError)
        case shutDown
    }

    /// What waits for replies, in the order of the commands on the wire.
    private struct Waiter {
        let identifier: UInt64
        /// When the command was queued, or when its connection became ready if it was queued
        /// while connecting (the connect has a timeout of its own).
        var enqueuedAt: NIODeadline
        var remaining: Int
        var reply: Reply
    }

    enum Reply {
        case one(UnsafeContinuation<RESPValue, any Error>)
        case many(UnsafeContinuation<[RESPValue], any Error>)
        /// Cancelled: the replies still to come are read and dropped, keeping the rest in step.
        case discarded

        func fail(_ error: any Error) {
            switch self {
            case .one(let continuation): continuation.resume(throwing: error)
            case .many(let continuation): continuation.resume(throwing: error)
            case .discarded: break
            }
        }
    }

    private struct State {
        var phase: Phase = .idle
        var outbound: ByteBuffer
        var waiters = CircularBuffer<Waiter>(initialCapacity: 16)
        /// The replies gathered so far for the first waiter, when it waits for many.
        var collected: [RESPValue] = []
        var isFlushScheduled = false
        var failedAttempts = 0
        var timeoutCheck: RepeatedTask?
    }

    init(configuration: RedisClient.Configuration, eventLoop: any EventLoop, counters: RedisClient.Counters, logger: Logger,
         tlsContext: RedisTLSContext?) {
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.counters = counters
        self.logger = logger
        self.tlsContext = tlsContext
        self.state = Mutex(State(outbound: ByteBufferAllocator().buffer(capacity: 4096)))
    }

    /// How many commands wait for replies on this connection.
    var inFlight: Int { state.withLock { $0.waiters.count } }

    // MARK: Sending

    func send(_ command: RedisCommand) async throws -> RESPValue {
        let identifier = identifiers.wrappingAdd(1, ordering: .relaxed).newValue
        return try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<RESPValue, any Error>) in
                enqueue(identifier, CollectionOfOne(command.encoded), count: 1, reply: .one(continuation))
            }
        } onCancel: {
            self.cancel(identifier)
        }
    }

    func send(_ commands: [RedisCommand]) async throws -> [RESPValue] {
        guard !commands.isEmpty else { return [] }
        let identifier = identifiers.wrappingAdd(1, ordering: .relaxed).newValue
        return try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<[RESPValue], any Error>) in
                enqueue(identifier, commands.lazy.map(\.encoded), count: commands.count, reply: .many(continuation))
            }
        } onCancel: {
            self.cancel(identifier)
        }
    }

    /// Sends the `count` commands encoded in `encoded`, one after another, and returns their
    /// replies in order.
    func send(encoded: ByteBuffer, count: Int) async throws -> [RESPValue] {
        guard count > 0 else { return [] }
        let identifier = identifiers.wrappingAdd(1, ordering: .relaxed).newValue
        return try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<[RESPValue], any Error>) in
                enqueue(identifier, CollectionOfOne(encoded), count: count, reply: .many(continuation))
            }
        } onCancel: {
            self.cancel(identifier)
        }
    }

    private enum EnqueueAction {
        case none
        case fail(any Error)
        case connect
        case flush(any Channel)
    }

    /// Appends `encodings` (of `count` commands in all) to the write buffer and a waiter for
    /// their replies to the queue, in one step under the lock.
    private func enqueue(_ identifier: UInt64, _ encodings: some Collection<ByteBuffer>, count: Int, reply: Reply) {
        let action: EnqueueAction = state.withLock { state in
            if Task.isCancelled { return .fail(CancellationError()) }
            var next: EnqueueAction = .none
            switch state.phase {
            case .shutDown:
                return .fail(RedisClientError(.shutDown, "the client was shut down"))
            case .backingOff(let until, let error):
                if NIODeadline.now() < until {
                    // A TLS failure keeps its code: waiting does not heal it.
                    let isTLS = error.code == .tlsHandshakeFailed || error.code == .invalidTLSConfiguration
                    var failure = RedisClientError(isTLS ? error.code : .connectFailed, "cannot reach \(configuration): \(error.message); "
                                                   + "the next attempt to reconnect is due in \((until - NIODeadline.now()).nanoseconds / 1_000_000) ms",
                                                   underlying: error.underlying)
                    failure.tlsFailure = error.tlsFailure
                    return .fail(failure)
                }
                state.phase = .connecting
                next = .connect
            case .idle:
                state.phase = .connecting
                next = .connect
            case .connecting:
                break
            case .ready(let channel):
                if !state.isFlushScheduled {
                    state.isFlushScheduled = true
                    next = .flush(channel)
                }
            }
            for encoding in encodings { state.outbound.writeImmutableBuffer(encoding) }
            state.waiters.append(Waiter(identifier: identifier, enqueuedAt: .now(), remaining: count, reply: reply))
            return next
        }
        if case .fail(let error) = action {
            reply.fail(error)
            return
        }
        counters.commandsSent.add(count, ordering: .relaxed)
        switch action {
        case .connect: connect()
        case .flush(let channel):
            if eventLoop.inEventLoop { flush(channel) } else { eventLoop.execute { self.flush(channel) } }
        case .none, .fail: break
        }
    }

    /// Writes what is waiting in the write buffer (on the event loop).
    private func flush(_ channel: any Channel) {
        let bytes: ByteBuffer? = state.withLock { state in
            state.isFlushScheduled = false
            guard state.outbound.readableBytes > 0, case .ready(let current) = state.phase, current === channel else { return nil }
            let bytes = state.outbound
            state.outbound = channel.allocator.buffer(capacity: 4096)
            return bytes
        }
        guard let bytes else { return }
        counters.writes.add(1, ordering: .relaxed)
        channel.writeAndFlush(bytes, promise: nil)
    }

    private func cancel(_ identifier: UInt64) {
        let reply: Reply? = state.withLock { state in
            guard let index = state.waiters.firstIndex(where: { $0.identifier == identifier }) else { return nil }
            let reply = state.waiters[index].reply
            state.waiters[index].reply = .discarded
            if index == state.waiters.startIndex { state.collected = [] }
            return reply
        }
        reply?.fail(CancellationError())
    }

    // MARK: Replies

    /// A waiter's replies, ready to be handed over once the lock is let go.
    private enum Completion {
        case one(UnsafeContinuation<RESPValue, any Error>, RESPValue)
        case many(UnsafeContinuation<[RESPValue], any Error>, [RESPValue])
    }

    /// Hands `values`, in order, to the oldest waiters (on the event loop), under one lock,
    /// and resumes the waiters they complete once the lock is let go.
    func receive(_ values: some Collection<RESPValue>, on channel: any Channel) {
        var completions: [Completion] = []
        let unexpected: Bool = state.withLock { state in
            // A late reply on a channel this connection has dropped (after a timeout) belongs
            // to no waiter of the channel that replaced it.
            guard case .ready(let current) = state.phase, current === channel else { return false }
            for value in values {
                guard !state.waiters.isEmpty else { return true }
                let index = state.waiters.startIndex
                state.waiters[index].remaining -= 1
                let done = state.waiters[index].remaining == 0
                switch state.waiters[index].reply {
                case .one(let continuation):
                    state.waiters.removeFirst()
                    completions.append(.one(continuation, value))
                case .many(let continuation):
                    if state.collected.isEmpty { state.collected.reserveCapacity(state.waiters[index].remaining + 1) }
                    state.collected.append(value)
                    if done {
                        state.waiters.removeFirst()
                        completions.append(.many(continuation, state.collected))
                        state.collected = []
                    }
                case .discarded:
                    if done { state.waiters.removeFirst() }
                }
            }
            return false
        }
        for completion in completions {
            switch completion {
            case .one(let continuation, let value): continuation.resume(returning: value)
            case .many(let continuation, let values): continuation.resume(returning: values)
            }
        }
        if unexpected {
            lose(channel, RedisClientError(.protocolViolation, "\(configuration) sent a reply when no command was waiting for one"))
            channel.close(promise: nil)
        }
    }

    /// Fails every command on `channel` with `error` and forgets the channel, if it is this
    /// connection's current one; the next command connects again.
    func lose(_ channel: any Channel, _ error: RedisClientError) {
        let waiters: CircularBuffer<Waiter> = state.withLock { state in
            guard case .ready(let current) = state.phase, current === channel else { return [] }
            state.phase = .idle
            return takeEverything(&state)
        }
        if !waiters.isEmpty { logger.debug("connection lost", metadata: ["server": "\(configuration)", "error": "\(error)"]) }
        for waiter in waiters { waiter.reply.fail(error) }
    }

    private func takeEverything(_ state: inout State) -> CircularBuffer<Waiter> {
        state.timeoutCheck?.cancel()
        state.timeoutCheck = nil
        state.outbound.clear()
        state.collected = []
        state.isFlushScheduled = false
        let waiters = state.waiters
        state.waiters.removeAll(keepingCapacity: false)
        return waiters
    }

    // MARK: Connecting

    /// Connects, speaks TLS if configured, and runs the handshake, all within the connect
    /// timeout; then ``finishConnecting(_:)``.
    private func connect() {
        let configuration = self.configuration
        let tlsContext = self.tlsContext
        if let failure = tlsContext?.failure {
            // The same mistake every time: no socket for it.
            finishConnecting(.failure(failure))
            return
        }
        let timeout = TimeAmount(configuration.connectTimeout)
        let deadline = NIODeadline.now() + timeout
        // The channel's handler, kept from the initializer: by the time the connect's callbacks
        // run, a failed TLS handshake may have closed the channel and emptied its pipeline.
        let handler = NIOLoopBoundBox.makeEmptyBox(valueType: RedisChannelHandler.self, eventLoop: eventLoop)
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tlsContext {
                        try channel.pipeline.syncOperations.addHandler(try tlsContext.makeHandler(for: configuration))
                    }
                    let redis = RedisChannelHandler(connection: self, limits: configuration.decoderLimits, tls: tlsContext?.tls)
                    try channel.pipeline.syncOperations.addHandler(redis)
                    handler.value = redis
                }
            }
        let eventLoop = self.eventLoop
        bootstrap.connect(host: configuration.host, port: configuration.port)
            .flatMapErrorThrowing { error in
                // What the channel initializer threw (a server name NIOSSL refuses), as it is.
                if let error = error as? RedisClientError { throw error }
                if let error = (error as? NIOConnectionError)?.connectionErrors.lazy.compactMap({ $0.error as? RedisClientError }).first {
                    throw error
                }
                throw RedisClientError(.connectFailed, "cannot connect to \(configuration): \(ConnectionFailure.reason(error))",
                                       underlying: error)
            }
            .flatMap { channel in
                // What is left of the connect timeout bounds the TLS handshake and HELLO.
                guard let redis = handler.value else {
                    return eventLoop.makeFailedFuture(RedisClientError(.connectFailed, "cannot connect to \(configuration): no channel handler"))
                }
                let deadline = eventLoop.scheduleTask(deadline: deadline) {
                    handler.value?.abandonHandshake(after: configuration.connectTimeout)
                    channel.close(promise: nil)
                }
                return RedisHandshake(configuration: configuration, handler: NIOLoopBound(redis, eventLoop: eventLoop)).run()
                    .always { _ in deadline.cancel() }
                    .flatMapError { error in
                        channel.close(promise: nil)
                        return eventLoop.makeFailedFuture(error)
                    }
                    .map { channel }
            }
            .whenComplete { result in self.finishConnecting(result) }
    }

    private func finishConnecting(_ result: Result<any Channel, any Error>) {
        switch result {
        case .success(let channel):
            let timeout = configuration.commandTimeout
            let accepted: Bool = state.withLock { state in
                guard case .connecting = state.phase else { return false }
                state.phase = .ready(channel)
                state.failedAttempts = 0
                // The commands queued while connecting are written now: their wait for a reply
                // starts now, the connect having been bounded by its own timeout.
                let now = NIODeadline.now()
                for index in state.waiters.indices { state.waiters[index].enqueuedAt = now }
                let interval = TimeAmount(timeout / 4)
                state.timeoutCheck = eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
                    self.checkTimeout(channel)
                }
                state.isFlushScheduled = true
                return true
            }
            guard accepted else {
                channel.close(promise: nil)
                return
            }
            if let handler = try? channel.pipeline.syncOperations.handler(type: RedisChannelHandler.self) {
                handler.isReady = true
            }
            logger.debug("connected", metadata: ["server": "\(configuration)"])
            flush(channel)
        case .failure(let failure):
            let error = failure as? RedisClientError
                ?? RedisClientError(.connectFailed, "cannot connect to \(configuration): \(ConnectionFailure.reason(failure))",
                                    underlying: failure)
            let waiters: CircularBuffer<Waiter> = state.withLock { state in
                guard case .connecting = state.phase else { return [] }
                let delay = backoff(afterFailures: state.failedAttempts)
                state.failedAttempts += 1
                state.phase = .backingOff(until: .now() + delay, error: error)
                return takeEverything(&state)
            }
            logger.debug("cannot connect", metadata: ["server": "\(configuration)", "error": "\(error)"])
            for waiter in waiters { waiter.reply.fail(error) }
        }
    }

    /// A random wait of up to `minimum × 2^failures`, at most the maximum (full jitter).
    private func backoff(afterFailures failures: Int) -> TimeAmount {
        let minimum = max(TimeAmount(configuration.reconnectBackoffMinimum).nanoseconds, 1)
        let maximum = max(TimeAmount(configuration.reconnectBackoffMaximum).nanoseconds, minimum)
        let ceiling = min(maximum, minimum << Int64(min(failures, 30)))
        return .nanoseconds(Int64.random(in: (ceiling / 2)...ceiling))
    }

    private func checkTimeout(_ channel: any Channel) {
        let timeout = TimeAmount(configuration.commandTimeout)
        let expired: Bool = state.withLock { state in
            guard let oldest = state.waiters.first else { return false }
            return NIODeadline.now() - oldest.enqueuedAt > timeout
        }
        guard expired else { return }
        lose(channel, RedisClientError(.timedOut, "no reply from \(configuration) within \(configuration.commandTimeout); the connection was dropped"))
        channel.close(promise: nil)
    }

    // MARK: Shutting down

    func shutdown() async {
        let (waiters, channel): (CircularBuffer<Waiter>, (any Channel)?) = state.withLock { state in
            var channel: (any Channel)?
            if case .ready(let current) = state.phase { channel = current }
            state.phase = .shutDown
            return (takeEverything(&state), channel)
        }
        for waiter in waiters { waiter.reply.fail(RedisClientError(.shutDown, "the client was shut down")) }
        try? await channel?.close()
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
