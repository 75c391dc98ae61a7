import Foundation
import InMemoryTracing
import Testing
import Tracing
import Trove
import TroveObservability
import TroveTestSupport

@Suite("StoreTracing")
struct StoreTracingTests {
    @Test("a client span per call, with the database attributes and no key")
    func spansPerCall() async throws {
        let tracer = InMemoryTracer()
        let store = MemoryStore().tracing(system: "memory", name: "sessions", tracer: tracer)
        try await store.set(Data("hello".utf8), for: "user/42")
        _ = try await store.read("user/42")
        _ = try await store.read("missing")

        let spans = tracer.finishedSpans
        #expect(spans.map(\.operationName) == ["write sessions", "read sessions", "read sessions"])
        #expect(spans.allSatisfy { $0.kind == .client })
        let read = spans[1]
        #expect(read.attributes["db.system.name"]?.toSpanAttribute() == .string("memory"))
        #expect(read.attributes["db.namespace"]?.toSpanAttribute() == .string("sessions"))
        #expect(read.attributes["db.operation.name"]?.toSpanAttribute() == .string("read"))
        #expect(read.attributes["trove.found"]?.toSpanAttribute() == .bool(true))
        #expect(read.attributes["trove.bytes_read"]?.toSpanAttribute() == .int64(5))
        #expect(spans[2].attributes["trove.found"]?.toSpanAttribute() == .bool(false))
        #expect(spans[2].status == nil && spans[2].errors.isEmpty)
        #expect(spans[0].attributes["trove.bytes_written"]?.toSpanAttribute() == .int64(5))
        for span in spans {
            #expect(span.attributes["trove.key"] == nil)
            var values: [String] = []
            span.attributes.forEach { _, value in values.append("\(value)") }
            #expect(!values.contains { $0.contains("user/42") })
        }
    }

    @Test("keys are recorded when asked; batches carry their size")
    func keysAndBatches() async throws {
        let tracer = InMemoryTracer()
        let store = MemoryStore().tracing(system: "memory", name: "cache", recordingKeys: true, tracer: tracer)
        _ = try await store.read("user/42")
        _ = try await store.readBatch(["a", "b", "c"])
        let spans = tracer.finishedSpans
        #expect(spans[0].attributes["trove.key"]?.toSpanAttribute() == .string("user/42"))
        #expect(spans[1].operationName == "readBatch cache")
        #expect(spans[1].attributes["db.operation.batch.size"]?.toSpanAttribute() == .int64(3))
    }

    @Test("a failure is recorded on the span, with its code as error.type")
    func failures() async throws {
        let tracer = InMemoryTracer()
        let faulty = FaultInjectingStore(base: MemoryStore())
        faulty.inject(.fail(FaultInjectingStore<MemoryStore>.connectionLost()), on: .read)
        let store = faulty.tracing(system: "memory", name: "sessions", tracer: tracer)
        await #expect(throws: StoreError.self) { _ = try await store.read("k") }
        let span = try #require(tracer.finishedSpans.first)
        #expect(span.status?.code == .error)
        #expect(span.errors.count == 1)
        #expect((span.errors.first?.error as? StoreError)?.code == .unavailable)
        #expect(span.attributes["error.type"]?.toSpanAttribute() == .string("unavailable"))
    }

    @Test("spans are children of the caller's span, and stores below see the store's span as current")
    func nesting() async throws {
        let tracer = InMemoryTracer()
        // Two traced layers: the inner span must be a child of the outer one.
        let store = MemoryStore().tracing(system: "memory", name: "inner", tracer: tracer)
            .tracing(system: "memory", name: "outer", tracer: tracer)
        try await tracer.withSpan("request") { _ in
            _ = try await store.read("k")
        }
        let spans = tracer.finishedSpans
        let request = try #require(spans.first { $0.operationName == "request" })
        let outer = try #require(spans.first { $0.operationName == "read outer" })
        let inner = try #require(spans.first { $0.operationName == "read inner" })
        #expect(outer.parentSpanID == request.spanID)
        #expect(inner.parentSpanID == outer.spanID)
        #expect(Set(spans.map(\.traceID)).count == 1)
    }

    @Test("the caller's span is the parent through the time limit and the retries, whose calls run in tasks of their own")
    func nestingThroughTimeouts() async throws {
        let tracer = InMemoryTracer()
        let faulty = FaultInjectingStore(base: MemoryStore())
        faulty.inject(.stall, on: .read)
        let store = faulty.tracing(system: "memory", name: "inner", tracer: tracer)
            .withTimeouts(call: .milliseconds(200))
            .retrying(RetryPolicy(attempts: 3, within: .seconds(600)))
        try await tracer.withSpan("request") { _ in
            _ = try await store.read("k")
        }
        let spans = tracer.finishedSpans
        let request = try #require(spans.first { $0.operationName == "request" })
        let reads = spans.filter { $0.operationName == "read inner" }
        #expect(reads.count == 2, "the stalled attempt and the one after it")
        #expect(reads.allSatisfy { $0.parentSpanID == request.spanID })
        #expect(reads.contains { $0.errors.contains { $0.error is CancellationError } }, "the stalled attempt was cancelled")
    }

    @Test("with no tracer given, the one bound to the task is used, and none outside its scope")
    func taskBoundTracer() async throws {
        let tracer = InMemoryTracer()
        let store = MemoryStore().tracing(system: "memory", name: "sessions")
        try await withTracer(tracer) {
            try await store.set(Data("v".utf8), for: "k")
            _ = try await store.read("k")
        }
        _ = try await store.read("k")
        #expect(tracer.finishedSpans.map(\.operationName) == ["write sessions", "read sessions"])
    }

    @Test("with no tracer bootstrapped, calls pass through without spans")
    func noOpTracer() async throws {
        let store = MemoryStore().tracing(system: "memory", name: "sessions")
        try await store.set(Data("v".utf8), for: "k")
        #expect(try await store.read("k")?.value == Data("v".utf8))
    }
}
