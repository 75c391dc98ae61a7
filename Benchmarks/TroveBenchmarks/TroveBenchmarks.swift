import Benchmark
import Foundation
import Trove
import WorkloadKit

// Trove's stores beside the raw system-call loop they stand on, in one run.
//
// W1 = 10,000 keys x 100 B (put, get, list, delete) and W2 = 1,000 keys x 100 KiB (put, get),
// each for the raw loop, FileSystemStore and MemoryStore. One iteration is one whole phase
// over every key of the workload. Pre-populated data comes from the `setup:` hook; the
// phases that need an empty (put) or full (delete) store each time prepare it inside the
// iteration, before `startMeasurement()`, and clean up after `stopMeasurement()`.
//
// Directories: `$TROVE_BENCH_DIR`, else /dev/shm, else the temporary directory; each benchmark
// makes its own `trove-*` directory there and removes it in its teardown.
// Sizes: TROVE_W1_KEYS, TROVE_W1_VALUE_BYTES, TROVE_W2_KEYS, TROVE_W2_VALUE_BYTES.
//
// Also registered: the durable queue (QueueBenchmarks.swift, "Queue ..."), the layer stacks
// (LayerBenchmarks.swift, "Layers ...") and SQLiteStore beside
// a raw loop over SQLite's C API (SQLiteBenchmarks.swift, "SQLite ...").

extension BenchmarkMetric {
    /// Key operations per second within the measured phase (the phase's keys / its wall clock).
    static var operationsPerSecond: BenchmarkMetric {
        .custom("Operations (#/s)", polarity: .prefersLarger, useScalingFactor: false)
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .operationsPerSecond, .mallocCountTotal],
        timeUnits: .microseconds,
        warmupIterations: 1,
        maxDuration: .seconds(3),
        maxIterations: 30
    )

    let workloads: [Workload]
    do {
        workloads = [try .w1(), try .w2()]
    } catch {
        Benchmark("Workload configuration") { benchmark in benchmark.error("\(error)") }
        return
    }

    let base = ScratchDirectory.base()
    for workload in workloads {
        for phase in workload.phases {
            registerRaw(workload, phase, base: base)
            registerStore(workload, phase, name: "FileSystemStore", base: base) { root in
                try FileSystemStore(root: root, configuration: .init(durability: .buffered), clock: .system)
            }
            registerStore(workload, phase, name: "MemoryStore", base: base) { _ in MemoryStore() }
        }
    }
    registerLayers(workloads[0], base: base)
    registerProductionLayers(workloads[0], base: base)
    registerSQLite(workloads, base: base)
    registerQueues(base: base)
}
