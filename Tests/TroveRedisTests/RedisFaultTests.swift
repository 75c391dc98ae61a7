import Foundation
import NIOCore
import NIOPosix
import Synchronization
import Testing
import Trove
import TroveRedis
import TroveRedisClient
import TroveTestSupport

extension TestServer {
    /// The redis-server binary, for tests that run a server of their own to kill it.
    static let redisBinary = TestServer(name: "redis", variable: "TROVE_TEST_REDIS_SERVER")
}

/// A redis-server process of the test's own on 127.0.0.1, with every write on disk before it
/// is acknowledged (`appendfsync always`), which the test can kill and start again.
final class OwnRedisServer: @unchecked Sendable {
    let binary: String
    let directory: URL
    let port: Int
    private var process: SpawnedProcess?

    init(binary: String) async throws {
        self.binary = binary
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("trove-redis-fault-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let probe = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        port = probe.localAddress!.port!
        try await probe.close()
        try await start()
    }

    func start() async throws {
        let process = SpawnedProcess()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["--bind", "127.0.0.1", "--port", String(port), "--dir", directory.path, "--save", "",
                             "--appendonly", "yes", "--appendfsync", "always", "--daemonize", "no",
                             "--logfile", directory.appendingPathComponent("redis.log").path]
        try process.run()
        self.process = process
        for _ in 0..<300 {
            if (try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port).get().close()) != nil {
                // Accepting connections; it may still be loading the append-only file, which
                // it answers with LOADING (retryable) meanwhile.
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ServerFailure(description: "redis-server did not accept connections on 127.0.0.1:\(port)")
    }

    /// SIGKILL, and waits (up to 10 s) for the process to end.
    func kill() async throws {
        guard let process else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        try await waitForExit(process)
        self.process = nil
    }

    /// Stops the server (SIGKILL: nothing is left to save) and removes its files.
    func stop() {
        if let process, process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        process = nil
        try? FileManager.default.removeItem(at: directory)
    }

    private func waitForExit(_ process: SpawnedProcess) async throws {
        for _ in 0..<1000 where process.isRunning { try await Task.sleep(for: .milliseconds(10)) }
        if process.isRunning { throw ServerFailure(description: "redis-server \(process.processIdentifier) did not end after SIGKILL") }
    }

    struct ServerFailure: Error, CustomStringConvertible { let description: String }
}

/// What the tasks of the fault test share.
final class FaultRun: Sendable {
    let acknowledged = Mutex<[StoreKey]>([])
    let failures = Mutex<[StoreError]>([])
    /// 0 before the kill, 1 killed, 2 restarted, 3 stop.
    let phase = Atomic<Int>(0)
    let successesAfterRestart = Atomic<Int>(0)
}

@Suite("RedisStore: a server killed under load", .enabled(if: TestServer.redisBinary.isAvailable, TestServer.redisBinary.absence))
struct RedisFaultTests {
    /// 16 tasks write in a loop while the server is SIGKILLed and started again: calls in
    /// flight fail with retryable `unavailable` or `timedOut` errors, later calls succeed once
    /// the client has reconnected, and no acknowledged write is lost.
    @Test(.timeLimit(.minutes(5)))
    func killedAndRestartedUnderPipelinedLoad() async throws {
        let server = try await OwnRedisServer(binary: try TestServer.redisBinary.require())
        defer { server.stop() }
        var configuration = RedisClient.Configuration(host: "127.0.0.1", port: server.port)
        configuration.connectionCount = 2
        configuration.commandTimeout = .seconds(5)
        configuration.reconnectBackoffMinimum = .milliseconds(5)
        configuration.reconnectBackoffMaximum = .milliseconds(100)
        let client = RedisClient(configuration: configuration)
        let store = RedisStore(client: client, prefix: "fault:")

        let run = FaultRun()

        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<16 {
                group.addTask {
                    var count = 0
                    while run.phase.load(ordering: .acquiring) < 3 {
                        let key = StoreKey(stringLiteral: "w\(worker)/\(count)")
                        count += 1
                        let during = run.phase.load(ordering: .acquiring)
                        do {
                            try await store.set(Data(repeating: UInt8(worker), count: 100), for: key)
                            run.acknowledged.withLock { $0.append(key) }
                            if during == 2 { run.successesAfterRestart.add(1, ordering: .relaxed) }
                        } catch let error as StoreError {
                            run.failures.withLock { $0.append(error) }
                            try await Task.sleep(for: .milliseconds(5))
                        }
                    }
                }
            }
            group.addTask {
                /// Waits up to 60 s for `condition`; on a timeout, stops the workers and says
                /// which step did not happen.
                func wait(_ what: String, _ condition: () -> Bool) async throws -> Bool {
                    for _ in 0..<6000 {
                        if condition() { return true }
                        try await Task.sleep(for: .milliseconds(10))
                    }
                    let acknowledged = run.acknowledged.withLock { $0.count }, failures = run.failures.withLock { $0.count }
                    let successes = run.successesAfterRestart.load(ordering: .relaxed)
                    let message: String = "\(what) did not happen within 60 s: \(acknowledged) writes acknowledged, "
                        + "\(failures) failures, \(successes) successes after the restart"
                    Issue.record(Comment(rawValue: message))
                    run.phase.store(3, ordering: .releasing)
                    return false
                }
                guard try await wait("400 acknowledged writes", { run.acknowledged.withLock { $0.count } >= 400 }) else { return }
                try await server.kill()
                run.phase.store(1, ordering: .releasing)
                guard try await wait("16 failures after the kill", { run.failures.withLock { $0.count } >= 16 }) else { return }
                try await server.start()
                run.phase.store(2, ordering: .releasing)
                guard try await wait("200 writes after the restart", { run.successesAfterRestart.load(ordering: .relaxed) >= 200 }) else { return }
                run.phase.store(3, ordering: .releasing)
            }
            try await group.waitForAll()
        }

        let errors = run.failures.withLock { $0 }
        #expect(errors.count >= 16)
        for error in errors {
            #expect([.unavailable, .timedOut].contains(error.code), "\(error)")
            #expect(error.isRetryable, "\(error)")
        }
        // appendfsync always: every acknowledged write survived the kill.
        let keys = run.acknowledged.withLock { $0 }
        let entries = try await store.readBatch(keys)
        let lost = zip(keys, entries).filter { $0.1 == nil }.map(\.0)
        #expect(lost.isEmpty, "\(lost.count) of \(keys.count) acknowledged writes lost, such as \(lost.prefix(3))")
        await client.shutdown()
    }
}
