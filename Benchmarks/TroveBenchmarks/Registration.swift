import Benchmark
import Foundation
import Trove
import WorkloadKit

/// The name of the subdirectory that holds an engine's data inside a benchmark's scratch directory.
let dataDirectory = "data"

func benchmarkName(_ workload: Workload, _ phase: Workload.Phase, _ subject: String) -> String {
    "\(workload.name) \(phase.rawValue) (\(subject))"
}

/// Registers `phase` of `workload` on the raw system-call loop.
func registerRaw(_ workload: Workload, _ phase: Workload.Phase, base: String) {
    let fixture = Fixture<RawDirectory>()
    let name = benchmarkName(workload, phase, "raw")
    let label = "raw-\(workload.name)-\(phase.rawValue)"
    switch phase {
    case .put:
        Benchmark(name) { benchmark in
            let scratch = try fixture.directory()
            let directory = try RawDirectory(path: scratch.appending(dataDirectory))
            try measure(benchmark, operations: workload.keyCount) { try RawPhases.put(workload, into: directory) }
            try scratch.removeItem(dataDirectory)
        } setup: {
            try await fixture.setUp(in: base, label: label)
        } teardown: {
            try fixture.tearDown()
        }
    case .delete:
        Benchmark(name) { benchmark in
            let scratch = try fixture.directory()
            let directory = try RawDirectory(path: scratch.appending(dataDirectory))
            try RawPhases.put(workload, into: directory)
            try measure(benchmark, operations: workload.keyCount) { try RawPhases.delete(workload, from: directory) }
            try scratch.removeItem(dataDirectory)
        } setup: {
            try await fixture.setUp(in: base, label: label)
        } teardown: {
            try fixture.tearDown()
        }
    case .get, .list:
        Benchmark(name) { benchmark in
            let directory = try fixture.populated()
            try measure(benchmark, operations: workload.keyCount) {
                if phase == .get {
                    blackHole(try RawPhases.get(workload, from: directory))
                } else {
                    blackHole(try RawPhases.list(workload, in: directory))
                }
            }
        } setup: {
            try await fixture.setUp(in: base, label: label) { scratch in
                let directory = try RawDirectory(path: scratch.appending(dataDirectory))
                try RawPhases.put(workload, into: directory)
                return directory
            }
        } teardown: {
            try fixture.tearDown()
        }
    }
}

/// Registers `phase` of `workload` on a Trove store that `open` creates at a root directory.
func registerStore<Store: KeyValueStore>(
    _ workload: Workload, _ phase: Workload.Phase, name subject: String, base: String, prefix: String = "",
    open: @escaping (URL) async throws -> Store
) {
    let fixture = Fixture<Store>()
    let name = prefix + benchmarkName(workload, phase, subject)
    let label = String("\(prefix)\(subject)-\(workload.name)-\(phase.rawValue)"
        .map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" })
    switch phase {
    case .put:
        Benchmark(name) { benchmark in
            let scratch = try fixture.directory()
            do { // the store is closed before its files are removed
                let store = try await open(scratch.url.appendingPathComponent(dataDirectory, isDirectory: true))
                try await measure(benchmark, operations: workload.keyCount) {
                    try await StorePhases.put(workload, into: store)
                }
            }
            try scratch.removeItem(dataDirectory)
        } setup: {
            try await fixture.setUp(in: base, label: label)
        } teardown: {
            try fixture.tearDown()
        }
    case .delete:
        Benchmark(name) { benchmark in
            let scratch = try fixture.directory()
            do { // the store is closed before its files are removed
                let store = try await open(scratch.url.appendingPathComponent(dataDirectory, isDirectory: true))
                try await StorePhases.put(workload, into: store)
                try await measure(benchmark, operations: workload.keyCount) {
                    try await StorePhases.delete(workload, from: store)
                }
            }
            try scratch.removeItem(dataDirectory)
        } setup: {
            try await fixture.setUp(in: base, label: label)
        } teardown: {
            try fixture.tearDown()
        }
    case .get, .list:
        Benchmark(name) { benchmark in
            let store = try fixture.populated()
            try await measure(benchmark, operations: workload.keyCount) {
                if phase == .get {
                    blackHole(try await StorePhases.get(workload, from: store))
                } else {
                    blackHole(try await StorePhases.list(workload, in: store))
                }
            }
        } setup: {
            try await fixture.setUp(in: base, label: label) { scratch in
                let store = try await open(scratch.url.appendingPathComponent(dataDirectory, isDirectory: true))
                try await StorePhases.put(workload, into: store)
                return store
            }
        } teardown: {
            try fixture.tearDown()
        }
    }
}

/// Measures `body` alone, and records its key operations per second.
func measure(_ benchmark: Benchmark, operations: Int, _ body: () throws -> Void) throws {
    benchmark.startMeasurement()
    let start = ContinuousClock.now
    try body()
    let elapsed = start.duration(to: .now)
    benchmark.stopMeasurement()
    record(benchmark, operations: operations, elapsed: elapsed)
}

/// Measures `body` alone, and records its key operations per second.
func measure(_ benchmark: Benchmark, operations: Int, _ body: () async throws -> Void) async throws {
    benchmark.startMeasurement()
    let start = ContinuousClock.now
    try await body()
    let elapsed = start.duration(to: .now)
    benchmark.stopMeasurement()
    record(benchmark, operations: operations, elapsed: elapsed)
}

private func record(_ benchmark: Benchmark, operations: Int, elapsed: Duration) {
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    guard seconds > 0 else { return }
    benchmark.measurement(.operationsPerSecond, Int((Double(operations) / seconds).rounded()))
}
