import Foundation
import PostgresNIO
import Synchronization
import Testing
import Trove
@testable import TrovePostgres
import TroveTestSupport

/// Runs `body` in a task of its own and waits at most 30 s for it: `true` when it returned,
/// `false` when it did not (the task is left running), so that a call that never returns
/// fails the test instead of holding it.
func returnsInTime(_ body: @escaping @Sendable () async throws -> Void) async throws -> Bool {
    let call = Task { try await body() }
    let outcome = Mutex<Result<Void, any Error>?>(nil)
    let watcher = Task {
        do { try await call.value; outcome.withLock { $0 = .success(()) } }
        catch { outcome.withLock { $0 = .failure(error) } }
    }
    for _ in 0..<3000 {
        if let result = outcome.withLock({ $0 }) {
            try result.get()
            return true
        }
        try await Task.sleep(for: .milliseconds(10))
    }
    watcher.cancel()
    return false
}

/// What the tasks of the restart test share.
final class RestartRun: Sendable {
    let acknowledged = Mutex<[(StoreKey, Data)]>([])
    let failures = Mutex<[any Error]>([])
    /// 0 before the restart, 1 restarting, 2 restarted, 3 stop.
    let phase = Atomic<Int>(0)
    let successesAfterRestart = Atomic<Int>(0)
}

@Suite("PostgresStore: a server restarted under load", .enabled(if: TestServer.postgres.isAvailable, TestServer.postgres.absence))
struct PostgresRestartTests {
    /// 16 tasks write in a loop while the server restarts with `-m immediate`: calls in flight
    /// fail with retryable `unavailable` or `timedOut` errors, later calls succeed once the pool
    /// has reconnected, and every acknowledged write is there afterwards.
    @Test(.timeLimit(.minutes(5)))
    func restartedImmediatelyUnderLoad() async throws {
        let server = try await OwnPostgresServer()
        do {
            try await exercise(server)
        } catch {
            Issue.record("the server's log:\n\(server.log.suffix(3000))")
            await server.stop()
            throw error
        }
        await server.stop()
    }

    private func exercise(_ server: OwnPostgresServer) async throws {
        let settings = try PostgresStore.URLConfiguration(StoreURL(parsing: server.url + "&connect-timeout=5s"))
        var configuration = settings.clientConfiguration()
        configuration.options.maximumConnections = 16
        let client = PostgresClient(configuration: configuration)
        let running = Task { await client.run() }
        defer { running.cancel() }
        let store = try await PostgresStore(client: client, table: "restarted", location: "test")
        let run = RestartRun()

        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<16 {
                group.addTask {
                    var count = 0
                    // Bounded: at most 5,000 writes each, however the steps below go.
                    while run.phase.load(ordering: .acquiring) < 3, count < 5000 {
                        let key = StoreKey(stringLiteral: "w\(worker)/\(count)")
                        let value = Data("\(worker) \(count)".utf8)
                        count += 1
                        let during = run.phase.load(ordering: .acquiring)
                        do {
                            guard try await returnsInTime({ try await store.set(value, for: key) }) else {
                                Issue.record("the write of \(key) did not return within 30 s (phase \(during))")
                                run.phase.store(3, ordering: .releasing)
                                return
                            }
                            run.acknowledged.withLock { $0.append((key, value)) }
                            if during == 2 { run.successesAfterRestart.add(1, ordering: .relaxed) }
                        } catch {
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
                    Issue.record(Comment(rawValue: "\(what) did not happen within 60 s: \(acknowledged) writes acknowledged, "
                                         + "\(failures) failures, \(successes) successes after the restart"))
                    run.phase.store(3, ordering: .releasing)
                    return false
                }
                guard try await wait("400 acknowledged writes", { run.acknowledged.withLock { $0.count } >= 400 }) else { return }
                // One call surely in flight when the server goes: a write that waits for a row
                // another session holds (a loaded machine may otherwise catch every worker
                // between two calls, and then no call fails at all).
                let held: StoreKey = "held"
                try await store.set(Data("before".utf8), for: held)
                let locker = try await PostgresConnection.connect(configuration: try settings.connectionConfiguration(), id: 1,
                                                                  logger: store.logger)
                _ = try await locker.query("BEGIN", logger: store.logger)
                _ = try await locker.query(PostgresQuery(unsafeSQL: "SELECT 1 FROM \(store.sql.table) WHERE key = 'held' FOR UPDATE"),
                                           logger: store.logger)
                let waiting = Task { try await store.set(Data("waited".utf8), for: held) }
                var waits = false
                for _ in 0..<600 where !waits {
                    // Inside the locker's transaction the server keeps its first snapshot of
                    // pg_stat_activity until told to take a new one.
                    _ = try await locker.query("SELECT pg_stat_clear_snapshot()", logger: store.logger)
                    let rows = try await locker.query("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'",
                                                      logger: store.logger).collect()
                    waits = try rows.first?.decode(Int64.self) ?? 0 > 0
                    if !waits { try await Task.sleep(for: .milliseconds(50)) }
                }
                guard waits else {
                    Issue.record("the write of the held row never waited for its lock")
                    waiting.cancel()
                    run.phase.store(3, ordering: .releasing)
                    return
                }
                run.phase.store(1, ordering: .releasing)
                do {
                    try await server.restartImmediately()
                } catch {
                    run.phase.store(3, ordering: .releasing)
                    throw error
                }
                try? await locker.close()
                do {
                    if try await returnsInTime({ try await waiting.value }) {
                        Issue.record("the write in flight across the restart succeeded")
                    } else {
                        Issue.record("the write in flight across the restart did not return within 30 s")
                    }
                } catch {
                    run.failures.withLock { $0.append(error) }
                }
                run.phase.store(2, ordering: .releasing)
                guard try await wait("200 writes after the restart", { run.successesAfterRestart.load(ordering: .relaxed) >= 200 }) else { return }
                run.phase.store(3, ordering: .releasing)
            }
            try await group.waitForAll()
        }

        let errors = run.failures.withLock { $0 }
        // At least the write that waited for the held row was in flight when the server went.
        #expect(errors.count >= 1, "no call failed across the restart")
        for error in errors {
            guard let error = error as? StoreError else {
                Issue.record("a call failed with an error that is not a StoreError: \(String(reflecting: error))")
                continue
            }
            #expect([.unavailable, .timedOut].contains(error.code), "\(error)")
            #expect(error.isRetryable, "\(error)")
        }
        // Every acknowledged write survived the restart (synchronous_commit on; see OwnPostgresServer).
        let written = run.acknowledged.withLock { $0 }
        var lost: [StoreKey] = []
        for start in stride(from: 0, to: written.count, by: 1000) {
            let slice = Array(written[start..<min(start + 1000, written.count)])
            let entries = try await store.readBatch(slice.map(\.0))
            for ((key, value), entry) in zip(slice, entries) where entry?.value != value { lost.append(key) }
        }
        #expect(lost.isEmpty, "\(lost.count) of \(written.count) acknowledged writes lost, such as \(lost.prefix(3))")
        #expect(run.successesAfterRestart.load(ordering: .relaxed) >= 200)
    }
}
