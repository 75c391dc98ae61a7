import Foundation
import Synchronization
import Testing
@testable import Trove
import TroveTestSupport

/// Counts a loader's runs and can hold them until released.
private final class CountingLoader: Sendable {
    private let state = Mutex<(runs: Int, cancelled: Int)>((0, 0))
    let delay: Duration
    let value: Data

    init(delay: Duration = .milliseconds(100), value: Data = Data("loaded".utf8)) {
        self.delay = delay
        self.value = value
    }

    var runs: Int { state.withLock { $0.runs } }
    var cancelled: Int { state.withLock { $0.cancelled } }

    @Sendable func load() async throws -> Data {
        state.withLock { $0.runs += 1 }
        do {
            try await Task.sleep(for: delay)
        } catch {
            state.withLock { $0.cancelled += 1 }
            throw error
        }
        return value
    }
}

@Suite("CacheLoader")
struct CacheLoaderTests {
    @Test("concurrent misses of one key run the loader once, and the value is stored with its time to live")
    func singleFlight() async throws {
        let store = MemoryStore()
        let loader = store.loading(timeToLive: .seconds(60))
        let source = CountingLoader()
        let values = try await withThrowingTaskGroup(of: Data.self) { group in
            for _ in 0..<50 { group.addTask { try await loader.value(for: "profile/42", loadingWith: source.load) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(source.runs == 1)
        #expect(values.count == 50 && values.allSatisfy { $0 == Data("loaded".utf8) })
        let stored = try #require(try await store.read("profile/42"))
        #expect(stored.value == Data("loaded".utf8))
        let expires = try #require(stored.metadata.expirationDate)
        #expect(abs(expires.timeIntervalSinceNow - 60) < 5)

        // A hit does not load; another key loads on its own.
        _ = try await loader.value(for: "profile/42", loadingWith: source.load)
        _ = try await loader.value(for: "profile/43", loadingWith: source.load)
        #expect(source.runs == 2)
    }

    @Test("a loader's error reaches every waiter, stores nothing, and the next miss loads again")
    func failures() async throws {
        struct Unreachable: Error {}
        let store = MemoryStore()
        let loader = store.loading()
        let calls = Mutex(0)
        let failing: @Sendable () async throws -> Data = {
            calls.withLock { $0 += 1 }
            try await Task.sleep(for: .milliseconds(50))
            throw Unreachable()
        }
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<10 {
                group.addTask {
                    do {
                        _ = try await loader.value(for: "k", loadingWith: failing)
                        return false
                    } catch {
                        return error is Unreachable
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes == Array(repeating: true, count: 10))
        #expect(calls.withLock { $0 } == 1)
        #expect(try await store.read("k") == nil)
        #expect(try await loader.value(for: "k") { Data("ok".utf8) } == Data("ok".utf8))
    }

    @Test("a cancelled waiter stops waiting at once; the load goes on for the others, and stops when nobody waits")
    func cancellation() async throws {
        let store = MemoryStore()
        let loader = store.loading()
        let source = CountingLoader(delay: .milliseconds(300))
        let leaving = Task { try await loader.value(for: "k", loadingWith: source.load) }
        let staying = Task { try await loader.value(for: "k", loadingWith: source.load) }
        try await Task.sleep(for: .milliseconds(50))
        leaving.cancel()
        let left = await leaving.result
        #expect(throws: CancellationError.self) { try left.get() }
        #expect(try await staying.value == Data("loaded".utf8))
        #expect(source.runs == 1 && source.cancelled == 0)

        let alone = Task { try await loader.value(for: "other", loadingWith: source.load) }
        try await Task.sleep(for: .milliseconds(50))
        alone.cancel()
        _ = await alone.result
        try await Task.sleep(for: .milliseconds(50))
        #expect(source.cancelled == 1)
        #expect(try await store.read("other") == nil)
    }

    @Test("early reloading: certain when the rule says so, never with 0, and never for a value this process has not timed")
    func earlyReloading() async throws {
        let clock = ManualWallClock()
        let store = MemoryStore(clock: clock.wallClock)
        // random() near 0 makes -ln(random) about 690: with a 10 ms load and a factor of 1000,
        // the rule reaches 6,900 s ahead, past the expiry: it reloads.
        let eager = CacheLoader(store: store, timeToLive: .seconds(60), earlyReloading: 1000, crossProcess: nil,
                                clock: clock.wallClock, random: { 1e-300 })
        let source = CountingLoader(delay: .milliseconds(10))
        _ = try await eager.value(for: "k", loadingWith: source.load)
        _ = try await eager.value(for: "k", loadingWith: source.load)
        #expect(source.runs == 2)

        // random() near 1 makes -ln(random) near 0: no reload until the value expires.
        let calm = CacheLoader(store: store, timeToLive: .seconds(60), earlyReloading: 1, crossProcess: nil,
                               clock: clock.wallClock, random: { 1 - 1e-12 })
        _ = try await calm.value(for: "j", loadingWith: source.load)
        _ = try await calm.value(for: "j", loadingWith: source.load)
        #expect(source.runs == 3)

        let off = CacheLoader(store: store, timeToLive: .seconds(60), earlyReloading: 0, crossProcess: nil,
                              clock: clock.wallClock, random: { 1e-300 })
        _ = try await off.value(for: "i", loadingWith: source.load)
        _ = try await off.value(for: "i", loadingWith: source.load)
        #expect(source.runs == 4)
        // "k" was loaded by another loader: this one has not timed it, so it does not reload it.
        _ = try await off.value(for: "k", loadingWith: source.load)
        #expect(source.runs == 4)

        // Past the expiry, every loader loads again.
        clock.advance(by: .seconds(61))
        _ = try await calm.value(for: "j", loadingWith: source.load)
        #expect(source.runs == 5)
    }

    @Test("an early reload that fails returns the current value")
    func failedEarlyReload() async throws {
        struct Down: Error {}
        let store = MemoryStore()
        let loader = CacheLoader(store: store, timeToLive: .seconds(60), earlyReloading: 1e6, crossProcess: nil,
                                 clock: .system, random: { 1e-300 })
        _ = try await loader.value(for: "k") {
            try await Task.sleep(for: .milliseconds(10))
            return Data("first".utf8)
        }
        let tried = Mutex(false)
        let value = try await loader.value(for: "k") {
            tried.withLock { $0 = true }
            throw Down()
        }
        #expect(tried.withLock { $0 }, "the rule should have reloaded early")
        #expect(value == Data("first".utf8))
    }

    @Test("two loaders sharing a store across processes: one lease, one load, and a dead holder's lease lapses")
    func crossProcess() async throws {
        try await withScratchDirectory { directory in
            let sharing = CrossProcessLoading(leaseTime: .seconds(30), pollInterval: .milliseconds(20))
            // Two loaders over one directory stand for two processes: no single flight between them.
            let first = try FileSystemStore(root: directory).loading(timeToLive: .seconds(60), crossProcess: sharing)
            let second = try FileSystemStore(root: directory).loading(timeToLive: .seconds(60), crossProcess: sharing)
            let source = CountingLoader(delay: .milliseconds(300))
            async let a = first.value(for: "report", loadingWith: source.load)
            try await Task.sleep(for: .milliseconds(50))
            async let b = second.value(for: "report", loadingWith: source.load)
            #expect(try await a == Data("loaded".utf8))
            #expect(try await b == Data("loaded".utf8))
            #expect(source.runs == 1)

            // A lease left by a process that died: the next miss waits for it to lapse, then loads.
            let store = try FileSystemStore(root: directory)
            try await store.set(Data("dead".utf8), for: "orphan.loading", expiry: .after(.milliseconds(300)))
            let started = ContinuousClock.now
            #expect(try await second.value(for: "orphan") { Data("mine".utf8) } == Data("mine".utf8))
            #expect(ContinuousClock.now - started >= .milliseconds(250))
        }
    }
}
