import Foundation
import Synchronization
import Testing
import Trove
import TroveConformance
import TroveTestSupport

/// TimeoutStore and ConcurrencyLimitedStore over a store that stalls on cue. A stalled call
/// never ends by itself, so a call that returns at all was cut short by the layer.
@Suite("TimeoutStore and ConcurrencyLimitedStore")
struct TimeoutAndConcurrencyTests {
    typealias Faulty = FaultInjectingStore<MemoryStore>

    @Test("a call that does not answer in time fails with a retryable timedOut, and the call beneath is cancelled")
    func stalledCallTimesOut() async throws {
        let faulty = Faulty(base: MemoryStore())
        faulty.inject(.stall, on: .read)
        let store = faulty.withTimeouts(call: .milliseconds(100))
        let error = try await expectStoreError(.timedOut) { try await store.read("k") }
        #expect(error.isRetryable && error.key == "k")
        #expect(error.message.contains("no answer within"), "\(error.message)")
        try await waitUntil { faulty.cancellationsSeen == 1 }

        faulty.inject(.stall, on: .writeBatch)
        _ = try await expectStoreError(.timedOut) { try await store.writeBatch([BatchWrite("a", Data())]) }
        // Calls that answer pass through.
        try await store.set(Data("v".utf8), for: "k")
        #expect(try await store.read("k")?.value == Data("v".utf8))
    }

    @Test("a call that ignores cancellation still gives its caller the timeout at the limit; its late answer is dropped")
    func callIgnoringCancellationTimesOut() async throws {
        let faulty = Faulty(base: MemoryStore())
        let gate = Gate()
        faulty.inject(.act({ await gate.waitIgnoringCancellation() }, then: StoreError(.io, operation: .read, message: "late")), on: .read)
        let store = faulty.withTimeouts(call: .milliseconds(100))
        let error = try await expectStoreError(.timedOut) { try await store.read("k") }
        #expect(error.isRetryable)
        #expect(gate.isWaiting, "the caller got its error while the call beneath still ran")
        gate.open()
        try await waitUntil { faulty.calls(of: .read) == 1 && !gate.isWaiting }
        try await store.set(Data("v".utf8), for: "k")
        #expect(try await store.read("k")?.value == Data("v".utf8))
    }

    @Test("many calls waiting at once each time out on the one watch, and the store serves calls afterwards")
    func manyWaitingCallsTimeOut() async throws {
        let faulty = Faulty(base: MemoryStore())
        for _ in 0..<50 { faulty.inject(.stall, on: .read) }
        let store = faulty.withTimeouts(call: .milliseconds(200))
        let codes = try await withThrowingTaskGroup(of: StoreError.Code?.self) { group in
            for index in 0..<50 {
                group.addTask {
                    do {
                        _ = try await store.read(try StoreKey(validating: "k\(index)"))
                        return nil
                    } catch let error as StoreError {
                        return error.code
                    }
                }
            }
            return try await group.reduce(into: [StoreError.Code?]()) { $0.append($1) }
        }
        #expect(codes.count == 50 && codes.allSatisfy { $0 == StoreError.Code.timedOut }, "\(codes)")
        try await waitUntil { faulty.cancellationsSeen == 50 }
        try await store.set(Data("v".utf8), for: "k")
        #expect(try await store.read("k")?.value == Data("v".utf8))
    }

    @Test("cancelling the caller of a waiting call cancels the call beneath, and the caller gets no timeout")
    func cancelledCallerCancelsTheCall() async throws {
        let faulty = Faulty(base: MemoryStore())
        faulty.inject(.stall, on: .read)
        let store = faulty.withTimeouts(call: .seconds(600))
        let caller = Task { try await store.read("k") }
        try await waitUntil { faulty.calls(of: .read) == 1 }
        caller.cancel()
        await #expect(throws: CancellationError.self) { _ = try await caller.value }
        #expect(faulty.cancellationsSeen == 1)
    }

    @Test("a stream that stops delivering chunks fails at the idle limit, after the chunks it delivered")
    func stalledStreamTimesOut() async throws {
        let faulty = Faulty(base: MemoryStore())
        try await faulty.base.set(patternedBytes(10_000, seed: 3), for: "big")
        faulty.inject(.stallStream(afterChunks: 2), on: .readStream)
        let store = faulty.withTimeouts(call: .seconds(30), idle: .milliseconds(100))
        let entry = try #require(try await store.readStream("big", chunkSize: 1000))
        var received = 0
        let error = await #expect(throws: StoreError.self) {
            for try await chunk in entry.chunks { received += chunk.count }
        }
        #expect(error?.code == .timedOut && error?.isRetryable == true, "\(String(describing: error))")
        #expect(received == 2000)
    }

    @Test("a slow stream that keeps delivering is not cut, however long it takes in all")
    func progressingStreamIsNotCut() async throws {
        let slow = SlowChunksStore(base: MemoryStore(), pause: .milliseconds(100))
        let value = patternedBytes(30_000, seed: 4)
        try await slow.base.set(value, for: "big")
        // An idle limit 20 times the pause, so that a loaded machine's late wake-ups do not
        // reach it.
        let store = slow.withTimeouts(call: .seconds(30), idle: .seconds(2))
        // 30 chunks, 100 ms apart: 3 s in all, more than the idle limit.
        let entry = try #require(try await store.readStream("big", chunkSize: 1000))
        #expect(try await entry.chunks.collect() == value)
    }

    @Test("a streamed write whose store stops taking chunks fails at the idle limit")
    func stalledStreamedWriteTimesOut() async throws {
        let faulty = Faulty(base: MemoryStore())
        faulty.inject(.stall, on: .streamedWrite)
        let store = faulty.withTimeouts(call: .seconds(30), idle: .milliseconds(100))
        let error = try await expectStoreError(.timedOut) {
            try await store.set(contentsOf: ValueChunks(chunksOf: Data(count: 100), chunkSize: 10), for: "k")
        }
        #expect(error.message.contains("took no chunk"), "\(error.message)")
        #expect(try await faulty.base.read("k") == nil)
    }

    @Test("retries around timeouts: a stalled attempt is cut short and the next one answers")
    func retriesAroundTimeouts() async throws {
        let faulty = Faulty(base: MemoryStore())
        try await faulty.base.set(Data("v".utf8), for: "k")
        faulty.inject(.stall, on: .read)
        // Written in the wrong order, and put right by the sugar.
        let store: RetryingStore<TimeoutStore<Faulty>> = faulty.retrying(RetryPolicy(attempts: 4, within: .seconds(600))).withTimeouts(call: .seconds(1))
        #expect(try await store.read("k")?.value == Data("v".utf8))
        #expect(faulty.calls(of: .read) == 2)
    }

    @Test("at most N calls reach the store at once, and every caller is served")
    func limitsCallsInFlight() async throws {
        let faulty = Faulty(base: MemoryStore())
        try await faulty.base.set(Data("v".utf8), for: "k")
        faulty.inject(.delay(.milliseconds(20)), on: .read, count: 24)
        let store = faulty.limitingConcurrency(to: 3)
        try await withThrowingTaskGroup(of: Data?.self) { group in
            for _ in 0..<24 { group.addTask { try await store.read("k")?.value } }
            for try await value in group { #expect(value == Data("v".utf8)) }
        }
        #expect(faulty.calls(of: .read) == 24)
        #expect(faulty.mostCallsInFlight <= 3, "\(faulty.mostCallsInFlight) at once")
        #expect(store.limiter.permitsInUse == 0)
    }

    @Test("a stream holds its permit until its end; a dropped stream gives it back; a cancelled waiter leaves the queue")
    func streamsHoldTheirPermit() async throws {
        let memory = MemoryStore()
        try await memory.set(patternedBytes(3000, seed: 5), for: "big")
        let store = memory.limitingConcurrency(to: 1)
        var entry = try await store.readStream("big", chunkSize: 1000)
        #expect(store.limiter.permitsInUse == 1)

        let waiter = Task { try await store.read("big")?.value.count }
        try await waitUntil { store.limiter.waitingCount == 1 }
        let cancelled = Task { try await store.metadata(for: "big") }
        try await waitUntil { store.limiter.waitingCount == 2 }
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        #expect(store.limiter.waitingCount == 1)

        #expect(try await entry?.chunks.collect().count == 3000)
        #expect(try await waiter.value == 3000, "the read got the permit once the stream ended")

        entry = try await store.readStream("big", chunkSize: 1000)
        #expect(store.limiter.permitsInUse == 1)
        entry = nil
        #expect(store.limiter.permitsInUse == 0, "dropping the stream returned the permit")
        _ = entry
    }

    @Test("stores given one limiter share its permits")
    func sharedLimiter() async throws {
        let limiter = ConcurrencyLimiter(maximum: 2)
        let first = Faulty(base: MemoryStore()), second = Faulty(base: MemoryStore())
        first.inject(.stall, on: .read)
        second.inject(.stall, on: .read)
        let a = first.limitingConcurrency(to: limiter), b = second.limitingConcurrency(to: limiter)
        let stalledA = Task { try await a.read("k") }
        let stalledB = Task { try await b.read("k") }
        try await waitUntil { limiter.permitsInUse == 2 }
        let third = Task { try await a.read("k") }
        try await waitUntil { limiter.waitingCount == 1 }
        stalledB.cancel()
        _ = try? await stalledB.value
        #expect(try await third.value == nil, "the third call got B's permit")
        stalledA.cancel()
        _ = try? await stalledA.value
        #expect(limiter.permitsInUse == 0)
    }

    /// Polls `condition` every few milliseconds, for up to 10 seconds.
    private func waitUntil(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition() {
            guard ContinuousClock.now < deadline else { throw TestFailure("the condition did not come true within 10 s") }
            try await Task.sleep(for: .milliseconds(2))
        }
    }
}

/// A store whose streams pause before each chunk.
private struct SlowChunksStore: KeyValueStore {
    let base: MemoryStore
    let pause: Duration

    var description: String { "slow \(base.description)" }
    var capabilities: StoreCapabilities { base.capabilities }

    func read(_ key: StoreKey) async throws -> StoreEntry? { try await base.read(key) }
    func readStream(_ key: StoreKey, chunkSize: Int) async throws -> StreamedEntry? {
        guard let entry = try await base.readStream(key, chunkSize: chunkSize) else { return nil }
        let chunks = entry.chunks, pause = pause
        return entry.withChunks(ValueChunks {
            var iterator = chunks.makeAsyncIterator()
            return ValueChunks.ChunkSource {
                try await Task.sleep(for: pause)
                return try await iterator.next()
            }
        })
    }
    func metadata(for key: StoreKey) async throws -> EntryMetadata? { try await base.metadata(for: key) }
    func write(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        try await base.write(value, for: key, options: options)
    }
    func delete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool { try await base.delete(key, condition: condition) }
    func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
        try await base.listPage(query, after: cursor, limit: limit)
    }
    func reclaimExpired() async throws -> Int { try await base.reclaimExpired() }
}

/// The whole contract through the stack of production layers, over a file store and a
/// memory store.
@Suite("Production layers: contract conformance")
struct ProductionLayerConformanceTests {
    static let file = ConformanceFixture(name: "file.limitingConcurrency(8).withTimeouts().retrying()", usesDirectory: true,
                                         largeValueSize: 16 << 20) { clock, root in
        try FileSystemStore(root: try ConformanceFixture.require(root), clock: clock.wallClock)
            .limitingConcurrency(to: 8).withTimeouts(call: .seconds(60)).retrying()
    }

    static let memory = ConformanceFixture(name: "memory.limitingConcurrency(4).retrying().withTimeouts()", usesDirectory: false,
                                           largeValueSize: 16 << 20) { clock, _ in
        MemoryStore(clock: clock.wallClock).limitingConcurrency(to: 4).retrying().withTimeouts(call: .seconds(60))
    }

    @Test("contract", .timeLimit(.minutes(15)), arguments: [file, memory], ContractCheck.allCases)
    func contract(_ fixture: ConformanceFixture, _ check: ContractCheck) async throws {
        try await fixture.expectConformance(to: check)
    }
}

/// A gate that a task waits at, whether or not it is cancelled, until the test opens it.
private final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiter: CheckedContinuation<Void, Never>?, waiting: Bool)>((false, nil, false))

    /// Whether a task waits at the gate now.
    var isWaiting: Bool { state.withLock { $0.waiting } }

    func waitIgnoringCancellation() async {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state -> Bool in
                if state.open { return true }
                state.waiter = continuation
                state.waiting = true
                return false
            }
            if resumeNow { continuation.resume() }
        }
        state.withLock { $0.waiting = false }
    }

    func open() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.open = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }
}
