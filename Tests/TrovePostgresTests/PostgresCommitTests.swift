import Foundation
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization
import Testing
import Trove
@testable import TrovePostgres
import TroveTestSupport

/// A change outside a transaction is acknowledged only once the server has committed it: the
/// server writes a statement's answer before it commits at the Sync that follows, so an error
/// or a closed connection in between must not pass for success.
@Suite("PostgresStore: a change counts once committed", .enabled(if: TestServer.postgres.isAvailable, TestServer.postgres.absence))
struct PostgresCommitTests {
    /// A deferred constraint trigger that refuses, at commit, any row whose key starts with
    /// `refused`: the server answers the statement, then fails its commit.
    func refuseAtCommit(_ store: PostgresStore) async throws {
        let function = store.sql.table.replacingOccurrences(of: ".", with: "_").replacingOccurrences(of: "\"", with: "") + "_refuse"
        try await execute("""
            CREATE FUNCTION \(function)() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF (TG_OP = 'DELETE' AND OLD.key LIKE 'refused%') OR (TG_OP <> 'DELETE' AND NEW.key LIKE 'refused%') THEN
                    RAISE EXCEPTION 'refused at commit' USING ERRCODE = 'check_violation';
                END IF;
                RETURN NULL;
            END $$
            """)
        try await execute("""
            CREATE CONSTRAINT TRIGGER refuse AFTER INSERT OR UPDATE OR DELETE ON \(store.sql.table)
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION \(function)()
            """)
    }

    /// Writes and deletes that the server answers and then rolls back at their commit fail,
    /// and leave the table as it was; the store goes on working.
    @Test func aChangeRolledBackAtItsCommitFails() async throws {
        try await withFreshTable { store in
            try await store.set(Data("kept".utf8), for: "refused/kept")
            try await refuseAtCommit(store)
            let calls: [(String, @Sendable () async throws -> Void)] = [
                ("set", { try await store.set(Data("new".utf8), for: "refused/new") }),
                ("set of an existing key", { try await store.set(Data("changed".utf8), for: "refused/kept") }),
                ("write if absent", { try await store.set(Data("new".utf8), for: "refused/absent", condition: .ifAbsent) }),
                ("delete", { _ = try await store.delete("refused/kept") }),
            ]
            for (name, call) in calls {
                let error = try await expectStoreError(.io) { try await call() }
                #expect(error.message.contains("refused at commit"), "\(name): \(error)")
                #expect(error.message.contains("rolled it back"), "\(name): \(error)")
            }
            #expect(try await store.value(for: "refused/new") == nil)
            #expect(try await store.value(for: "refused/absent") == nil)
            #expect(try await store.value(for: "refused/kept") == Data("kept".utf8))
            try await store.set(Data("fine".utf8), for: "other")
            #expect(try await store.value(for: "other") == Data("fine".utf8))
        }
    }

    /// The server answers a write, and the connection closes before the answer to its Sync
    /// comes: the write fails as undecided (unavailable, retryable), where it took effect on
    /// the server; the pool then reconnects.
    @Test func anAnswerWithoutItsCommitIsUndecided() async throws {
        let proxy = try await CuttingProxy(to: try postgresSettings().port)
        do {
            var settings = try postgresSettings("sslmode=disable")
            settings.port = proxy.port
            var configuration = settings.clientConfiguration()
            configuration.options.maximumConnections = 1
            configuration.options.minimumConnections = 1
            let client = PostgresClient(configuration: configuration)
            let running = Task { await client.run() }
            defer { running.cancel() }
            let table = freshName("t_")
            let store = try await PostgresStore(client: client, table: table, location: "test")
            try await store.set(Data("before".utf8), for: "k")
            proxy.cutAfterNextChange()
            let error = try await expectStoreError(.unavailable) { try await store.set(Data("cut".utf8), for: "k") }
            #expect(error.isRetryable == true, "\(error)")
            #expect(error.message.contains("may or may not"), "\(error)")
            #expect(proxy.cuts == 1)
            // The server did commit it: only its confirmation was lost.
            let rows = try await execute("SELECT value FROM \(store.sql.table) WHERE key = 'k'")
            #expect(try rows.first?.decode(Data.self) == Data("cut".utf8))
            try await store.set(Data("after".utf8), for: "k")
            #expect(try await store.value(for: "k") == Data("after".utf8))
            try await execute("DROP TABLE \(store.sql.table)")
        } catch {
            await proxy.stop()
            throw error
        }
        await proxy.stop()
    }

    /// The frame reader finds the same frames in a stream split at every byte.
    @Test func framesAreFoundAcrossAnySplit() throws {
        var stream = ByteBuffer()
        func frame(_ type: Character, _ body: [UInt8]) {
            stream.writeInteger(type.asciiValue!)
            stream.writeInteger(UInt32(body.count + 4))
            stream.writeBytes(body)
        }
        frame("C", Array("INSERT 0 1".utf8) + [0])
        frame("E", [UInt8(ascii: "S")] + Array("ERROR".utf8) + [0, UInt8(ascii: "C")] + Array("23514".utf8) + [0,
                   UInt8(ascii: "M")] + Array("refused".utf8) + [0, 0])
        frame("Z", [UInt8(ascii: "I")])
        frame("D", Array(repeating: 7, count: 300))
        let expected: [Character] = ["C", "E", "Z", "D"]
        for split in 0...stream.readableBytes {
            var reader = FrameReader()
            var types: [Character] = []
            var failure: StatementEndWatch.ServerFailure?
            for part in [stream.getSlice(at: 0, length: split)!, stream.getSlice(at: split, length: stream.readableBytes - split)!] {
                var part = part
                let framed = reader.read(&part) { type, body in
                    types.append(Character(UnicodeScalar(type)))
                    if let body { failure = StatementEndWatch.failure(in: body) }
                }
                #expect(framed)
            }
            #expect(types == expected, "split at \(split)")
            #expect(failure == .init(state: "23514", message: "refused"), "split at \(split)")
        }
        var nonsense = ByteBuffer(bytes: [UInt8(ascii: "Z"), 0, 0, 0, 2])
        #expect(!FrameReader().readingAll(&nonsense))
    }
}

extension FrameReader {
    /// Whether `bytes` reads as frames.
    func readingAll(_ bytes: inout ByteBuffer) -> Bool {
        var reader = self
        return reader.read(&bytes) { _, _ in }
    }
}

/// A TCP proxy on 127.0.0.1 in front of a PostgreSQL server (without TLS), which, when told,
/// passes the server's messages up to the answer of the next change (a CommandComplete of an
/// INSERT, UPDATE or DELETE), then holds back the rest and, 200 ms later, closes both sides:
/// a server that went away after answering a statement and before answering its Sync.
final class CuttingProxy: Sendable {
    let port: Int
    private let group: MultiThreadedEventLoopGroup
    private let listener: any Channel
    private let state: CutState

    /// How many connections the proxy has cut.
    var cuts: Int { state.mutex.withLock { $0.cuts } }

    init(to serverPort: Int) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let state = CutState()
        self.group = group
        self.state = state
        listener = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { inbound in
                ClientBootstrap(group: inbound.eventLoop)
                    .connect(host: "127.0.0.1", port: serverPort)
                    .flatMapThrowing { outbound in
                        let toServer = ProxyRelay(), toClient = ProxyRelay()
                        toServer.partner = outbound
                        toClient.partner = inbound
                        try inbound.pipeline.syncOperations.addHandler(toServer)
                        try outbound.pipeline.syncOperations.addHandler(ProxyCutter(state: state, client: inbound))
                        try outbound.pipeline.syncOperations.addHandler(toClient)
                    }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = listener.localAddress?.port ?? 0
    }

    /// Cuts the next connection that answers a change.
    func cutAfterNextChange() {
        state.mutex.withLock { $0.armed = true }
    }

    func stop() async {
        try? await listener.close()
        try? await group.shutdownGracefully()
    }
}

/// Whether the proxy cuts the next change, and how many it has cut.
final class CutState: Sendable {
    let mutex = Mutex((armed: false, cuts: 0))
}

/// Writes what it reads to its partner channel, and closes the partner when its own channel closes.
private final class ProxyRelay: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    var partner: (any Channel)?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        partner?.writeAndFlush(unwrapInboundIn(data), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner?.close(promise: nil)
    }
}

/// On the server's side of a proxied connection: passes the server's frames on, and once armed,
/// stops after the answer of a change and closes both sides 200 ms later.
private final class ProxyCutter: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    let state: CutState
    let client: any Channel
    private var pending = ByteBuffer()
    private var cut = false

    init(state: CutState, client: any Channel) {
        self.state = state
        self.client = client
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !cut else { return }
        var bytes = unwrapInboundIn(data)
        pending.writeBuffer(&bytes)
        var passed = 0
        // Whole frames only: a type byte and a length that counts itself.
        while let length = pending.getInteger(at: pending.readerIndex + passed + 1, as: UInt32.self),
              pending.readableBytes - passed >= 1 + Int(length) {
            let type = pending.getInteger(at: pending.readerIndex + passed, as: UInt8.self)
            let tag = pending.getString(at: pending.readerIndex + passed + 5, length: min(6, Int(length) - 4)) ?? ""
            passed += 1 + Int(length)
            let isChange = type == UInt8(ascii: "C") && ["INSERT", "UPDATE", "DELETE"].contains(where: tag.hasPrefix)
            if isChange && state.mutex.withLock({ armed in
                defer { if armed.armed { armed.armed = false; armed.cuts += 1 } }
                return armed.armed
            }) {
                cut = true
                context.fireChannelRead(wrapInboundOut(pending.readSlice(length: passed)!))
                let client = self.client, server = context.channel
                context.eventLoop.scheduleTask(in: .milliseconds(200)) {
                    client.close(promise: nil)
                    server.close(promise: nil)
                }
                return
            }
        }
        if passed > 0 { context.fireChannelRead(wrapInboundOut(pending.readSlice(length: passed)!)) }
        pending.discardReadBytes()
    }
}
