import Foundation
import Synchronization
import Testing
import Trove
import TroveSQLite
import TroveTestSupport

/// Calls that wait for another connection's lock wait on the blocking pool, never on Swift's
/// cooperative threads: with the database locked by another connection, many more writes and
/// opens than there are cooperative threads start and wait, and this task still runs to release
/// the lock. Were one of them waiting in SQLite's busy handler on a cooperative thread, this
/// task could not run until their busy timeouts ran out, and they would fail with `timedOut`.
@Suite("SQLiteStore: waiting off the cooperative pool")
struct SQLiteWaitingTests {
    @Test(.timeLimit(.minutes(1)))
    func writesAndOpensWaitingForALockLeaveTheCooperativeThreadsFree() async throws {
        try await withScratchDirectory { directory in
            let file = directory.appendingPathComponent("store.db")
            let options = SQLiteStore.Options(busyTimeout: .seconds(20))
            let store = try await SQLiteStore(path: file, options: options)
            try await store.set(Data("before".utf8), for: "k")
            let width = 4 * max(2, ProcessInfo.processInfo.activeProcessorCount)
            // A store of its own for each writer: a store's writes share one connection, and
            // only one of them could be waiting on it at a time.
            var writers: [SQLiteStore] = []
            for _ in 0..<width / 2 { writers.append(try await SQLiteStore(path: file, options: options)) }
            let stores = writers
            let holder = try RawDatabase(file)
            try holder.execute("BEGIN IMMEDIATE")
            let started = StartCounter()

            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<width {
                    group.addTask {
                        started.count.add(1, ordering: .relaxed)
                        if index % 2 == 0 {
                            try await stores[index / 2].set(Data("\(index)".utf8), for: try key("w/\(index)"))
                        } else {
                            let opened = try await SQLiteStore(path: file, options: options)
                            #expect(try await opened["k"] == Data("before".utf8))
                        }
                    }
                }
                // Reads never wait for the writer's lock in WAL mode.
                #expect(try await store["k"] == Data("before".utf8))
                while started.count.load(ordering: .relaxed) < width { await Task.yield() }
                #expect(try await store.count(withPrefix: "w/") == 0, "a write went through a held lock")
                try holder.execute("COMMIT")
                try await group.waitForAll()
            }
            #expect(try await store.count(withPrefix: "w/") == (width + 1) / 2)
        }
    }

    @Test func aFastAttemptOnABusyDatabaseWaitsOnThePoolUpToTheBusyTimeout() async throws {
        try await withScratchDirectory { directory in
            let file = directory.appendingPathComponent("store.db")
            let store = try await SQLiteStore(path: file, options: .init(busyTimeout: .milliseconds(50)))
            let holder = try RawDatabase(file)
            try holder.execute("BEGIN IMMEDIATE")
            let error = try await expectStoreError(.timedOut) { try await store.set(Data("x".utf8), for: "k") }
            #expect(error.isRetryable == true)
            #expect(error.key == "k")
            try holder.execute("COMMIT")
            try await store.set(Data("x".utf8), for: "k")
            #expect(try await store["k"] == Data("x".utf8))
        }
    }

    @Test func theStoreCheckpointsItsLogAndSynchronousFullWritesLand() async throws {
        try await withScratchDirectory { directory in
            let file = directory.appendingPathComponent("store.db")
            let store = try await SQLiteStore(path: file)
            // About 16 MiB through the log, with SQLite's automatic checkpoint off: the store's
            // own checkpoints keep the log near 4 MiB.
            for index in 0..<2048 { try await store.set(patternedBytes(4000, seed: UInt64(index % 251)), for: try key("v/\(index % 64)")) }
            let log = try FileManager.default.attributesOfItem(atPath: file.path + "-wal")[.size] as? Int ?? 0
            #expect(log < 6 << 20, "the log grew to \(log) bytes: no checkpoint ran")
            #expect(try await store.count() == 64)

            let durable = try await SQLiteStore(path: file, table: "durable", options: .init(synchronization: .full))
            for index in 0..<8 { try await durable.set(Data("\(index)".utf8), for: try key("d/\(index)")) }
            try await durable.writeAll([("d/8", Data("8".utf8))])
            #expect(try await durable.count() == 9)
            #expect(try RawDatabase(file).integer("SELECT count(*) FROM durable") == 9)
        }
    }
}

/// How many tasks have started, shared with them.
private final class StartCounter: Sendable {
    let count = Atomic<Int>(0)
}
