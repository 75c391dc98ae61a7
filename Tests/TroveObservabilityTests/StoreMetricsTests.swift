import Foundation
import MetricsTestKit
import Testing
import Trove
import TroveObservability
import TroveTestSupport

@Suite("StoreMetrics")
struct StoreMetricsTests {
    let metrics = TestMetrics()
    let dimensions = [("system", "memory"), ("store", "sessions")]

    func operations(_ operation: String, _ outcome: String) throws -> Int64 {
        try metrics.expectCounter("trove_operations_total", dimensions + [("operation", operation), ("outcome", outcome)]).totalValue
    }

    @Test("counts calls by operation and outcome, and the bytes they move")
    func countsCallsAndBytes() async throws {
        let store = MemoryStore().recordingMetrics(system: "memory", name: "sessions", factory: metrics)
        try await store.set(Data("hello".utf8), for: "a")
        try await store.set(Data("hi".utf8), for: "b")
        _ = try await store.read("a")
        _ = try await store.read("missing")
        _ = try await store.metadata(for: "missing")
        #expect(try await store.delete("b"))

        #expect(try operations("write", "ok") == 2)
        #expect(try operations("read", "ok") == 1)
        #expect(try operations("read", "notFound") == 1)
        #expect(try operations("metadata", "notFound") == 1)
        #expect(try operations("delete", "ok") == 1)
        #expect(try metrics.expectCounter("trove_written_bytes_total", dimensions).totalValue == 7)
        #expect(try metrics.expectCounter("trove_read_bytes_total", dimensions).totalValue == 5)
        let timer = try metrics.expectTimer("trove_operation_duration_seconds", dimensions + [("operation", "read")])
        #expect(timer.values.count == 2)
        #expect(timer.values.allSatisfy { $0 >= 0 })
    }

    @Test("a failure is counted under its error code, and no key reaches a label")
    func failuresByCode() async throws {
        let faulty = FaultInjectingStore(base: MemoryStore())
        faulty.inject(.fail(FaultInjectingStore<MemoryStore>.connectionLost()), on: .read)
        let store = faulty.recordingMetrics(system: "memory", name: "sessions", factory: metrics)
        await #expect(throws: StoreError.self) { _ = try await store.read("secret-key") }
        try await store.set(Data("v".utf8), for: "k")
        await #expect(throws: StoreError.self) {
            _ = try await store.write(Data("w".utf8), for: "k", options: WriteOptions(condition: .ifAbsent))
        }

        #expect(try operations("read", "unavailable") == 1)
        #expect(try operations("write", "conditionFailed") == 1)
        #expect(try operations("write", "ok") == 1)
        let labels = metrics.counters.flatMap { $0.dimensions.map(\.1) } + metrics.timers.flatMap { $0.dimensions.map(\.1) }
        #expect(!labels.contains("secret-key") && !labels.contains("k"))
    }

    @Test("a stream's bytes are counted as its chunks are read, and batches count failed entries")
    func streamsAndBatches() async throws {
        let store = MemoryStore().recordingMetrics(system: "memory", name: "sessions", factory: metrics)
        try await store.set(Data(repeating: 7, count: 10_000), for: "big")
        let entry = try #require(try await store.readStream("big", chunkSize: 1024))
        #expect(try metrics.expectCounter("trove_read_bytes_total", dimensions).totalValue == 0)
        var read = 0
        for try await chunk in entry.chunks { read += chunk.count }
        #expect(read == 10_000)
        #expect(try metrics.expectCounter("trove_read_bytes_total", dimensions).totalValue == 10_000)

        let results = try await store.writeBatch([
            BatchWrite("big", Data("x".utf8), options: WriteOptions(condition: .ifAbsent)),
            BatchWrite("new", Data("yz".utf8)),
        ])
        // The first entry's condition fails; in a store with atomic batches, so does the second.
        let failed = results.filter { if case .failure = $0 { true } else { false } }.count
        #expect(failed == (store.capabilities.contains(.atomicBatches) ? 2 : 1))
        #expect(try operations("writeBatch", "ok") == 1)
        #expect(try metrics.expectCounter("trove_batch_entry_failures_total", dimensions + [("operation", "writeBatch")]).totalValue == Int64(failed))
        #expect(try metrics.expectCounter("trove_written_bytes_total", dimensions).totalValue == 10_000 + (failed == 1 ? 2 : 0))
    }

    @Test("the in-flight meter goes up while a call runs and back down after, even when it is cancelled")
    func inFlight() async throws {
        let faulty = FaultInjectingStore(base: MemoryStore())
        faulty.inject(.stall, on: .read)
        let store = faulty.recordingMetrics(system: "memory", name: "sessions", factory: metrics)
        let stalled = Task { try await store.read("k") }
        while faulty.callsInFlight == 0 { try await Task.sleep(for: .milliseconds(5)) }
        let meter = try metrics.expectMeter("trove_operations_in_flight", dimensions)
        #expect(meter.lastValue == 1)
        stalled.cancel()
        _ = await stalled.result
        #expect(meter.lastValue == 0)
        #expect(try operations("read", "cancelled") == 1)
    }
}
