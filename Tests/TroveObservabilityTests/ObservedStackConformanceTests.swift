import Foundation
import InMemoryTracing
import Logging
import MetricsTestKit
import Testing
import Trove
import TroveConformance
import TroveObservability
import TroveTestSupport

@Suite("Production layer stack: contract conformance")
struct ObservedStackConformanceTests {
    /// Every production layer over a file store, with live metrics and tracing backends, so
    /// that their active paths run, not only the no-op ones.
    static let file = ConformanceFixture(
        name: "file under every production layer", usesDirectory: true, largeValueSize: 16 << 20
    ) { clock, root in
        productionStack(over: try FileSystemStore(root: try ConformanceFixture.require(root), clock: clock.wallClock), system: "file")
    }

    /// The same stack over a memory store, with no backends (the no-op paths).
    static let memory = ConformanceFixture(
        name: "memory.tracing().recordingMetrics().limitingConcurrency(4).retrying().withTimeouts()",
        usesDirectory: false, largeValueSize: 16 << 20
    ) { clock, _ in
        MemoryStore(clock: clock.wallClock)
            .tracing(system: "memory", name: "conformance")
            .recordingMetrics(system: "memory", name: "conformance")
            .limitingConcurrency(to: 4)
            .retrying()
            .withTimeouts(call: .seconds(60))
    }

    @Test("contract", .timeLimit(.minutes(15)), arguments: [file, memory], ContractCheck.allCases)
    func contract(_ fixture: ConformanceFixture, _ check: ContractCheck) async throws {
        try await fixture.expectConformance(to: check)
    }
}
