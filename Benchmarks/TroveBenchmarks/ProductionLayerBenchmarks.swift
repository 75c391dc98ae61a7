import Benchmark
import Foundation
import Trove
import TroveObservability
import WorkloadKit

// The cost of the production layers (retries, timeouts, a concurrency limit, metrics, tracing)
// with no metrics or tracing backend bootstrapped, on W1 get (10,000 keys x 100 B), each
// stack beside its bare store in the same run:
// `swift package benchmark --filter "Production.*" --grouping metric`.

/// Every production layer over `store`, innermost first, as a program would stack them.
func productionStack<Store: KeyValueStore>(_ store: Store, system: String) -> some KeyValueStore {
    store
        .tracing(system: system, name: "bench")
        .recordingMetrics(system: system, name: "bench")
        .limitingConcurrency(to: 64)
        .withTimeouts(call: .seconds(30))
        .retrying()
}

/// Registers W1 get on the bare memory and file stores, on each production layer alone over
/// memory, and on the whole stack over each.
func registerProductionLayers(_ workload: Workload, base: String) {
    func stack<Store: KeyValueStore>(_ name: String, _ open: @escaping (URL) async throws -> Store) {
        registerStore(workload, .get, name: name, base: base, prefix: "Production ", open: open)
    }
    stack("memory") { _ in MemoryStore() }
    stack("retrying(memory)") { _ in MemoryStore().retrying() }
    stack("withTimeouts(memory)") { _ in MemoryStore().withTimeouts() }
    stack("limitingConcurrency(memory)") { _ in MemoryStore().limitingConcurrency(to: 64) }
    stack("recordingMetrics(memory)") { _ in MemoryStore().recordingMetrics(system: "memory", name: "bench") }
    stack("tracing(memory)") { _ in MemoryStore().tracing(system: "memory", name: "bench") }
    stack("all(memory)") { _ in productionStack(MemoryStore(), system: "memory") }
    stack("file") { root in try FileSystemStore(root: root) }
    stack("all(file)") { root in productionStack(try FileSystemStore(root: root), system: "file") }
}
