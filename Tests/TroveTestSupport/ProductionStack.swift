public import Trove
import InMemoryTracing
import Logging
import MetricsTestKit
import TroveObservability

/// Every production layer over `store`, as a program would stack them, innermost first:
/// tracing and metrics (with live in-memory backends, so that their active paths run), logging,
/// a concurrency limit, timeouts, retries.
///
/// - Parameters:
///   - store: The store beneath.
///   - system: Its kind, for the metrics' and spans' labels.
///   - concurrency: The most calls at once. Defaults to 16.
/// - Returns: The stack.
public func productionStack<Store: KeyValueStore>(over store: Store, system: String, concurrency: Int = 16) -> some KeyValueStore {
    store
        .tracing(system: system, name: "conformance", recordingKeys: true, tracer: InMemoryTracer())
        .recordingMetrics(system: system, name: "conformance", factory: TestMetrics())
        .logging(to: Logger(label: "conformance"))
        .limitingConcurrency(to: concurrency)
        .withTimeouts(call: .seconds(60))
        .retrying()
}
