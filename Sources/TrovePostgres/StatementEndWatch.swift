import NIOCore
import NIOSSL
import PostgresNIO
import Synchronization

/// Watches a connection's messages for the end of each statement's cycle, so that a change is
/// acknowledged only once the server has committed it.
///
/// A statement outside a transaction runs in an implicit one that the server commits when it
/// reaches the Sync after the statement, after it has written the statement's answer
/// (CommandComplete). Its commit is known when the answer to the Sync (ReadyForQuery) arrives:
/// an error between the two (a deferred constraint, a failed commit) means the change was
/// rolled back, and a connection that closes between the two (the server went away) leaves the
/// change undecided. postgres-nio ends a statement at its CommandComplete, so the store asks
/// this watch how the statement's cycle ended.
///
/// The watch sits in the connection's pipeline just before postgres-nio's handler (after TLS),
/// and reads the frame headers of both directions (a type byte and a length): each Sync (or
/// simple Query) written opens a cycle, each ReadyForQuery received closes the oldest open
/// one, and an ErrorResponse received is kept as the failure of the cycle it arrived in. It
/// changes no byte.
///
/// It is put in place on a connection that the pool has handed out and that runs nothing, and
/// it counts from the first cycle written after that: postgres-nio writes a statement only once
/// the previous one's ReadyForQuery has arrived, so that is where the received messages are at
/// a frame boundary. Everything here runs on the connection's event loop.
final class StatementEndWatch: ChannelDuplexHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// A failure the server reported (an ErrorResponse): its SQLSTATE, message and severity.
    struct ServerFailure: Equatable {
        var state: String
        var message: String
        /// `ERROR`, `FATAL` or `PANIC` (the field that is never translated, where the server
        /// sends it).
        var severity = "ERROR"

        /// Whether the failure ended the transaction but not the session (an `ERROR`): what it
        /// came in was rolled back. A `FATAL` or `PANIC` ends the session too, and may come
        /// after a commit that the server could not confirm.
        var rollsBack: Bool { severity == "ERROR" }
    }

    /// How a cycle ended, as far as the watch knows.
    enum CycleEnd: Equatable {
        /// The server answered its Sync without an error: the implicit transaction committed.
        case committed
        /// The server reported a failure before answering its Sync (or an `ERROR` before the
        /// connection closed): the transaction rolled back.
        case failed(ServerFailure)
        /// The connection closed before the server answered the Sync, with no `ERROR` before:
        /// the transaction may or may not have committed.
        case closed
        /// The watch cannot tell (it has not seen the cycle begin, or lost the frames).
        case unknown
    }

    let eventLoop: any EventLoop
    /// Whether the watch counts: from the first cycle written after it was put in place.
    private var counting = false
    /// Set when a frame's length made no sense: the watch no longer tells anything.
    private(set) var isLost = false
    private var isClosed = false
    /// The cycles written (Syncs and Queries) and ended (ReadyForQuery) since counting began.
    private(set) var cyclesWritten: UInt64 = 0
    private(set) var cyclesEnded: UInt64 = 0
    /// The failure received in the cycle under way, and the last cycle that ended with one.
    private var failureInCycle: ServerFailure?
    private var lastFailure: (cycle: UInt64, failure: ServerFailure)?
    private var received = FrameReader()
    private var written = FrameReader()
    /// Callers waiting for the next cycle to end, or for the close.
    private var waiting: [EventLoopPromise<Void>] = []

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    // MARK: The pipeline

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if counting && !isLost {
            var bytes = unwrapInboundIn(data)
            isLost = !received.read(&bytes) { type, body in self.received(type, body) }
            if isLost { wakeWaiting() }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if !isLost {
            var bytes = unwrapOutboundIn(data)
            isLost = !written.read(&bytes) { type, _ in self.wrote(type) }
            if isLost { wakeWaiting() }
        }
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        isClosed = true
        wakeWaiting()
        leave()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        isClosed = true
        wakeWaiting()
        leave()
    }

    private func wrote(_ type: UInt8) {
        // Sync, simple Query and FunctionCall each get one ReadyForQuery.
        guard type == UInt8(ascii: "S") || type == UInt8(ascii: "Q") || type == UInt8(ascii: "F") else { return }
        if !counting {
            // postgres-nio writes only after the previous cycle's ReadyForQuery: what is
            // received from here on begins at a frame.
            counting = true
            received = FrameReader()
        }
        cyclesWritten += 1
    }

    private func received(_ type: UInt8, _ body: ByteBuffer?) {
        switch type {
        case UInt8(ascii: "E"):
            failureInCycle = body.map(Self.failure(in:)) ?? ServerFailure(state: "", message: "no message")
        case UInt8(ascii: "Z"):
            cyclesEnded += 1
            if let failure = failureInCycle { lastFailure = (cyclesEnded, failure) }
            failureInCycle = nil
            wakeWaiting()
        default:
            break
        }
    }

    private func wakeWaiting() {
        let promises = waiting
        waiting = []
        for promise in promises { promise.succeed() }
    }

    // MARK: Asking

    /// How the last cycle written ended, waiting for its end if the server has not answered it
    /// yet. Call on the event loop, after the statement's answer and before anything else is
    /// written on the connection.
    func endOfLastCycle() async -> CycleEnd {
        while true {
            eventLoop.assertInEventLoop()
            guard counting, !isLost, cyclesWritten > 0 else { return .unknown }
            let cycle = cyclesWritten
            if cyclesEnded >= cycle {
                if let last = lastFailure, last.cycle == cycle { return .failed(last.failure) }
                return .committed
            }
            if isClosed {
                // The server flushes an error as soon as it reports it, so a connection that
                // postgres-nio closed on an error after the statement's answer may close before
                // the ReadyForQuery behind it arrives.
                if let failure = failureInCycle, failure.rollsBack { return .failed(failure) }
                return .closed
            }
            let promise = eventLoop.makePromise(of: Void.self)
            waiting.append(promise)
            try? await promise.futureResult.get()
        }
    }

    /// The SQLSTATE and message of an ErrorResponse's body (fields of a type byte and a
    /// zero-terminated text).
    static func failure(in body: ByteBuffer) -> ServerFailure {
        var body = body
        var failure = ServerFailure(state: "", message: "no message")
        var sawSeverity = false
        while let field = body.readInteger(as: UInt8.self), field != 0 {
            guard let end = body.readableBytesView.firstIndex(of: 0) else { break }
            let text = body.readString(length: end - body.readerIndex) ?? ""
            body.moveReaderIndex(forwardBy: 1)
            switch field {
            case UInt8(ascii: "C"): failure.state = text
            case UInt8(ascii: "M"): failure.message = text
            case UInt8(ascii: "V"): failure.severity = text
            case UInt8(ascii: "S") where !sawSeverity: failure.severity = text
            default: break
            }
            if field == UInt8(ascii: "V") { sawSeverity = true }
        }
        return failure
    }

    // MARK: Putting it in place

    /// The watches put in place, by connection, so that finding one costs a lookup (reaching
    /// the channel costs a reflection of the connection); each leaves when its channel closes.
    private static let placed = Mutex<[ObjectIdentifier: Placed]>([:])

    private struct Placed {
        weak var connection: PostgresConnection?
        let watch: StatementEndWatch
    }

    /// The watch of `connection`, put in place if it has none yet; `nil` where the connection's
    /// channel cannot be reached. Call on the connection's event loop while it runs nothing.
    static func watch(of connection: PostgresConnection) -> StatementEndWatch? {
        connection.eventLoop.assertInEventLoop()
        let identifier = ObjectIdentifier(connection)
        if let placed = placed.withLock({ $0[identifier] }), placed.connection === connection { return placed.watch }
        guard let channel = channel(of: connection), channel.isActive else { return nil }
        let pipeline = channel.pipeline.syncOperations
        let watch = StatementEndWatch(eventLoop: connection.eventLoop)
        do {
            if let tls = try? pipeline.handler(type: NIOSSLClientHandler.self) {
                try pipeline.addHandler(watch, position: .after(tls))
            } else {
                try pipeline.addHandler(watch, position: .first)
            }
        } catch {
            return nil
        }
        watch.identifier = identifier
        placed.withLock { $0[identifier] = Placed(connection: connection, watch: watch) }
        return watch
    }

    /// The key of the watch among those ``placed``.
    private var identifier: ObjectIdentifier?

    private func leave() {
        guard let identifier else { return }
        self.identifier = nil
        Self.placed.withLock { placed in
            if placed[identifier]?.watch === self { placed[identifier] = nil }
        }
    }

    /// The channel of `connection`, which postgres-nio keeps to itself.
    private static func channel(of connection: PostgresConnection) -> (any Channel)? {
        Mirror(reflecting: connection).descendant("channel") as? any Channel
    }
}

/// Reads the frames of one direction of the protocol after startup (a type byte, a length of
/// four bytes that counts itself, then the body), across buffers split anywhere.
struct FrameReader {
    /// The longest frame taken for real: a GiB value and change.
    static let longestFrame = 1 << 31 - 1
    /// The longest error body kept.
    static let longestKeptBody = 16 * 1024

    private var header: (type: UInt8, length: UInt32, count: Int) = (0, 0, 0)
    private var remaining = 0
    private var body: ByteBuffer?

    /// Reads `bytes`, calling `frame` with each complete frame's type, and its body for an
    /// ErrorResponse ('E'); `false` where a length made no sense.
    mutating func read(_ bytes: inout ByteBuffer, frame: (UInt8, ByteBuffer?) -> Void) -> Bool {
        while bytes.readableBytes > 0 {
            if header.count < 5 {
                if header.count == 0, bytes.readableBytes >= 5,
                   let type = bytes.readInteger(as: UInt8.self), let length = bytes.readInteger(as: UInt32.self) {
                    header = (type, length, 5)
                } else if let byte = bytes.readInteger(as: UInt8.self) {
                    if header.count == 0 { header.type = byte } else { header.length = header.length << 8 | UInt32(byte) }
                    header.count += 1
                }
                if header.count == 5 {
                    guard header.length >= 4, header.length <= Self.longestFrame else { return false }
                    remaining = Int(header.length) - 4
                    body = header.type == UInt8(ascii: "E") ? ByteBuffer() : nil
                    if remaining == 0 { finish(frame) }
                }
                continue
            }
            let count = min(remaining, bytes.readableBytes)
            if var kept = body, kept.readableBytes < Self.longestKeptBody, let slice = bytes.getSlice(at: bytes.readerIndex, length: count) {
                body = nil
                kept.writeImmutableBuffer(slice)
                body = kept
            }
            bytes.moveReaderIndex(forwardBy: count)
            remaining -= count
            if remaining == 0 { finish(frame) }
        }
        return true
    }

    private mutating func finish(_ frame: (UInt8, ByteBuffer?) -> Void) {
        let type = header.type
        header = (0, 0, 0)
        let kept = body
        body = nil
        frame(type, kept)
    }
}
