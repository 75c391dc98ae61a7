import Foundation
import Testing
import Trove
import TroveTestSupport

/// RetryingStore over a store that fails on cue, with a clock that records its waits.
@Suite("RetryingStore")
struct RetryingStoreTests {
    static let policy = RetryPolicy(attempts: 4, within: .seconds(10), backoff: .exponential(initial: .milliseconds(50), maximum: .seconds(2)))

    static func stores() -> (FaultInjectingStore<MemoryStore>, RetryingStore<FaultInjectingStore<MemoryStore>>, SteppingClock) {
        let faulty = FaultInjectingStore(base: MemoryStore())
        let clock = SteppingClock()
        return (faulty, RetryingStore(base: faulty, policy: policy, clock: clock), clock)
    }

    @Test("a read that fails twice retryably succeeds on the third attempt, after waits within the backoff's ceilings")
    func retriesRetryableFailures() async throws {
        let (faulty, store, clock) = Self.stores()
        try await faulty.base.set(Data("v".utf8), for: "k")
        faulty.inject(.fail(FaultInjectingStore<MemoryStore>.connectionLost()), on: .read, count: 2)
        #expect(try await store.read("k")?.value == Data("v".utf8))
        #expect(faulty.calls(of: .read) == 3)
        let sleeps = clock.sleeps
        #expect(sleeps.count == 2)
        #expect(sleeps.count == 2 && sleeps[0] <= .milliseconds(50) && sleeps[1] <= .milliseconds(100), "\(sleeps)")
    }

    @Test("an error not marked retryable is thrown at once")
    func finalErrorsAreNotRetried() async throws {
        let (faulty, store, clock) = Self.stores()
        faulty.inject(.fail(StoreError(.permissionDenied, operation: .read, message: "no (injected)")), on: .read)
        let error = try await expectStoreError(.permissionDenied) { try await store.read("k") }
        #expect(error.message == "no (injected)")
        #expect(faulty.calls(of: .read) == 1)
        #expect(clock.sleeps.isEmpty)
    }

    @Test("after the last attempt the error keeps its code and says how many attempts were made")
    func exhaustedAttempts() async throws {
        let (faulty, store, clock) = Self.stores()
        faulty.inject(.fail(FaultInjectingStore<MemoryStore>.connectionLost(.write)), on: .write, count: 10)
        let error = try await expectStoreError(.unavailable) { try await store.set(Data("v".utf8), for: "k") }
        #expect(error.message.contains("gave up after 4 attempts"), "\(error.message)")
        #expect(error.isRetryable)
        #expect(faulty.calls(of: .write) == 4)
        #expect(clock.sleeps.count == 3)
        #expect(try await faulty.base.read("k") == nil)
    }

    @Test("a server's retry-after lengthens the waits, and the time limit ends the retries")
    func retryAfterAndTimeLimit() async throws {
        let faulty = FaultInjectingStore(base: MemoryStore())
        let clock = SteppingClock()
        let store = RetryingStore(base: faulty, policy: RetryPolicy(attempts: 10, within: .seconds(2)), clock: clock)
        let busy = StoreError(.unavailable, operation: .read, message: "slow down (injected)", isRetryable: true, retryAfter: .seconds(1))
        faulty.inject(.fail(busy), on: .read, count: 10)
        _ = try await expectStoreError(.unavailable) { try await store.read("k") }
        // Attempts at 0 s, 1 s and 2 s; a fourth would start at 3 s, past the limit.
        #expect(clock.sleeps == [.seconds(1), .seconds(1)])
        #expect(faulty.calls(of: .read) == 3)
    }

    @Test("a conditional write whose answer was lost is read back and recognised as done, not reported as a failed condition")
    func lostAnswerOfAConditionalWrite() async throws {
        let (faulty, store, _) = Self.stores()
        faulty.inject(.failAfterDoing(FaultInjectingStore<MemoryStore>.connectionLost(.write)), on: .write)
        let metadata = try await store.write(Data("mine".utf8), for: "lease", options: WriteOptions(condition: .ifAbsent))
        #expect(faulty.calls(of: .write) == 1, "not written twice")
        #expect(metadata.etag == (try await faulty.base.metadata(for: "lease"))?.etag)
        #expect(try await faulty.base.read("lease")?.value == Data("mine".utf8))

        // The same for ifMatches.
        faulty.inject(.failAfterDoing(FaultInjectingStore<MemoryStore>.connectionLost(.write)), on: .write)
        let replaced = try await store.write(Data("next".utf8), for: "lease", options: WriteOptions(condition: .ifMatches(metadata.etag)))
        #expect(replaced.etag != metadata.etag)
        #expect(try await faulty.base.read("lease")?.value == Data("next".utf8))
    }

    @Test("a conditional write that failed before doing anything is read back, found undone, and tried again")
    func conditionalWriteThatDidNothing() async throws {
        let (faulty, store, _) = Self.stores()
        faulty.inject(.fail(FaultInjectingStore<MemoryStore>.connectionLost(.write)), on: .write)
        _ = try await store.write(Data("mine".utf8), for: "lease", options: WriteOptions(condition: .ifAbsent))
        #expect(faulty.calls(of: .write) == 2)
        #expect(faulty.calls(of: .read) == 1, "read back once")
        #expect(try await faulty.base.read("lease")?.value == Data("mine".utf8))
    }

    @Test("a conditional write that failed while another value appeared: outcomeUnknown, the failure beneath it")
    func conditionalWriteWithUnknownOutcome() async throws {
        let (faulty, store, _) = Self.stores()
        let base = faulty.base
        faulty.inject(.act({ try await base.set(Data("theirs".utf8), for: "lease") },
                           then: FaultInjectingStore<MemoryStore>.connectionLost(.write)), on: .write)
        let error = try await expectStoreError(.outcomeUnknown) {
            try await store.write(Data("mine".utf8), for: "lease", options: WriteOptions(condition: .ifAbsent))
        }
        #expect(error.key == "lease")
        #expect((error.underlying as? StoreError)?.code == .unavailable)
        #expect(error.message.contains("another value"), "\(error.message)")
        #expect(try await base.read("lease")?.value == Data("theirs".utf8))

        // A condition that fails plainly is still a failed condition, not retried.
        let held = try await expectStoreError(.conditionFailed) {
            try await store.write(Data("mine".utf8), for: "lease", options: WriteOptions(condition: .ifAbsent))
        }
        #expect(held.key == "lease")
    }

    @Test("a conditional delete whose answer was lost is recognised as done")
    func lostAnswerOfAConditionalDelete() async throws {
        let (faulty, store, _) = Self.stores()
        let written = try await faulty.base.write(Data("v".utf8), for: "k", options: .default)
        faulty.inject(.failAfterDoing(FaultInjectingStore<MemoryStore>.connectionLost(.delete)), on: .delete)
        #expect(try await store.delete("k", condition: .ifMatches(written.etag)))
        #expect(faulty.calls(of: .delete) == 1)
        #expect(try await faulty.base.read("k") == nil)
    }

    @Test("a streamed write is sent once: its chunks cannot be read twice")
    func streamedWritesAreNotRetried() async throws {
        let (faulty, store, _) = Self.stores()
        faulty.inject(.fail(FaultInjectingStore<MemoryStore>.connectionLost(.write)), on: .streamedWrite)
        _ = try await expectStoreError(.unavailable) {
            try await store.set(contentsOf: ValueChunks(chunksOf: Data(count: 100), chunkSize: 10), for: "k")
        }
        #expect(faulty.calls(of: .streamedWrite) == 1)
    }

    @Test("an unconditional batch is retried whole; its entries that fail alone are retried alone")
    func batches() async throws {
        let (faulty, store, _) = Self.stores()
        faulty.inject(.fail(FaultInjectingStore<MemoryStore>.connectionLost(.write)), on: .writeBatch)
        let results = try await store.writeBatch([BatchWrite("a", Data("1".utf8)), BatchWrite("b", Data("2".utf8))])
        #expect(results.allSatisfy { if case .success = $0 { true } else { false } })
        #expect(faulty.calls(of: .writeBatch) == 2)
        #expect(try await faulty.base.count() == 2)

        // A batch with a conditional entry is sent once when the whole call fails.
        faulty.inject(.fail(FaultInjectingStore<MemoryStore>.connectionLost(.write)), on: .writeBatch)
        _ = try await expectStoreError(.unavailable) {
            try await store.writeBatch([BatchWrite("c", Data("3".utf8), options: WriteOptions(condition: .ifAbsent))])
        }
        #expect(faulty.calls(of: .writeBatch) == 3)

        faulty.inject(.fail(FaultInjectingStore<MemoryStore>.connectionLost(.read)), on: .readBatch)
        #expect(try await store.readBatch(["a", "b"]).map { $0?.value } == [Data("1".utf8), Data("2".utf8)])
        #expect(faulty.calls(of: .readBatch) == 2)
    }

    @Test("a listing retries the page that failed and yields every key once")
    func listingPagesAreRetried() async throws {
        let (faulty, store, _) = Self.stores()
        for index in 0..<25 { try await faulty.base.set(Data(), for: StoreKey(validating: String(format: "k%02d", index))) }
        faulty.inject(.fail(FaultInjectingStore<MemoryStore>.connectionLost(.list)), on: .listPage, count: 2)
        var keys: [String] = []
        for try await element in store.list(.all, pageSize: 10) { if let key = element.key { keys.append(key.rawValue) } }
        #expect(keys == (0..<25).map { String(format: "k%02d", $0) })
        #expect(faulty.calls(of: .listPage) == 5)
    }

    @Test("cancellation during a wait ends the retries with CancellationError")
    func cancellationStopsTheRetries() async throws {
        let faulty = FaultInjectingStore(base: MemoryStore())
        faulty.inject(.fail(FaultInjectingStore<MemoryStore>.connectionLost()), on: .read, count: 100)
        let store = faulty.retrying(RetryPolicy(attempts: 100, within: .seconds(600), backoff: .exponential(initial: .seconds(60), maximum: .seconds(60))))
        let task = Task { try await store.read("k") }
        while faulty.calls(of: .read) == 0 { try await Task.sleep(for: .milliseconds(5)) }
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(faulty.calls(of: .read) < 100)
    }
}
