import Foundation
import Trove
import TroveSQLite
import WorkloadKit
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `TroveWorkloads sqlite-pair DIRECTORY`: every phase of W1 and W2, and W1's batch put, on the
/// raw SQLite loop and on `SQLiteStore` in alternating rounds in one process (raw, store, raw,
/// store, ...), so that a slow moment of a shared machine lands on both. Each round of put,
/// batch put and delete works on a database of its own, made (and for delete filled) before the
/// round is timed and removed after it; get and list read one database per subject, filled once.
///
/// Prints, per phase, the CPU time of the process and the wall clock per key operation (median
/// and minimum over the rounds) and the store's speed as a fraction of the raw loop's.
enum SQLitePairs {
    /// One measured round: wall clock and CPU time of the process, in seconds.
    struct Sample {
        var wall: Double
        var cpu: Double
    }

    static func run(in directory: String, rounds: Int) async throws {
        let w1 = try Workload.w1(), w2 = try Workload.w2()
        let scratch = try ScratchDirectory.make(in: directory, label: "workloads-sqlite-pair")
        defer { try? scratch.remove() }
        var counter = 0
        /// A new, empty directory inside the scratch directory.
        func fresh() throws -> String {
            counter += 1
            let path = scratch.appending("d\(counter)")
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            return path
        }
        func raw(_ workload: Workload, _ path: String) throws -> RawSQLite {
            try RawSQLite(path: path + "/" + SQLitePhases.databaseName, layout: RawPhases.sqliteLayout(for: workload))
        }
        func store(_ path: String) async throws -> SQLiteStore {
            try await SQLitePhases.openStore(in: URL(fileURLWithPath: path, isDirectory: true))
        }

        print("SQLiteStore against the raw SQLite loop, \(rounds) alternating rounds per phase (\(w1.summary); \(w2.summary))")
        print("")
        print("| phase | raw CPU µs/op (median, min) | store CPU µs/op (median, min) | store/raw by median CPU | by min CPU | by median wall |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        for workload in [w1, w2] {
            for phase in workload.phases {
                var rawSamples: [Sample] = [], storeSamples: [Sample] = []
                switch phase {
                case .put, .delete:
                    for _ in 0..<rounds {
                        let rawPath = try fresh(), storePath = try fresh()
                        do {
                            let database = try raw(workload, rawPath)
                            if phase == .delete { try RawPhases.put(workload, into: database) }
                            rawSamples.append(try measure {
                                if phase == .put { try RawPhases.put(workload, into: database) }
                                else { try RawPhases.delete(workload, from: database) }
                            })
                        }
                        do {
                            let opened = try await store(storePath)
                            if phase == .delete { try await StorePhases.put(workload, into: opened) }
                            storeSamples.append(try await measure {
                                if phase == .put { try await StorePhases.put(workload, into: opened) }
                                else { try await StorePhases.delete(workload, from: opened) }
                            })
                        }
                        try FileManager.default.removeItem(atPath: rawPath)
                        try FileManager.default.removeItem(atPath: storePath)
                    }
                case .get, .list:
                    let rawPath = try fresh(), storePath = try fresh()
                    let database = try raw(workload, rawPath)
                    try RawPhases.put(workload, into: database)
                    let opened = try await store(storePath)
                    try await StorePhases.put(workload, into: opened)
                    for _ in 0..<rounds {
                        rawSamples.append(try measure {
                            if phase == .get { _ = try RawPhases.get(workload, from: database) }
                            else { _ = try RawPhases.list(workload, in: database) }
                        })
                        storeSamples.append(try await measure {
                            if phase == .get { _ = try await StorePhases.get(workload, from: opened) }
                            else { _ = try await StorePhases.list(workload, in: opened) }
                        })
                    }
                }
                report("\(workload.name) \(phase.rawValue)", workload.keyCount, rawSamples, storeSamples)
            }
        }
        var rawSamples: [Sample] = [], storeSamples: [Sample] = []
        let entries = SQLitePhases.entries(w1)
        for _ in 0..<rounds {
            let rawPath = try fresh(), storePath = try fresh()
            do {
                let database = try raw(w1, rawPath)
                rawSamples.append(try measure { try RawPhases.batchPut(w1, into: database) })
            }
            do {
                let opened = try await store(storePath)
                storeSamples.append(try await measure { try await SQLitePhases.batchPut(entries, into: opened) })
            }
            try FileManager.default.removeItem(atPath: rawPath)
            try FileManager.default.removeItem(atPath: storePath)
        }
        report("W1 batch put", w1.keyCount, rawSamples, storeSamples)
    }

    /// Seconds of CPU time used by the whole process so far.
    static func processCPUTime() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    static func measure(_ body: () throws -> Void) throws -> Sample {
        let clock = ContinuousClock()
        let cpu = processCPUTime()
        let start = clock.now
        try body()
        return Sample(wall: start.duration(to: clock.now).seconds, cpu: processCPUTime() - cpu)
    }

    static func measure(_ body: () async throws -> Void) async throws -> Sample {
        let clock = ContinuousClock()
        let cpu = processCPUTime()
        let start = clock.now
        try await body()
        return Sample(wall: start.duration(to: clock.now).seconds, cpu: processCPUTime() - cpu)
    }

    static func report(_ name: String, _ operations: Int, _ raw: [Sample], _ store: [Sample]) {
        func median(_ values: [Double]) -> Double {
            let sorted = values.sorted()
            return sorted.count % 2 == 1 ? sorted[sorted.count / 2]
                : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        }
        let perOperation = 1e6 / Double(operations)
        let rawCPU = (median(raw.map(\.cpu)), raw.map(\.cpu).min()!)
        let storeCPU = (median(store.map(\.cpu)), store.map(\.cpu).min()!)
        let wallRatio = median(raw.map(\.wall)) / median(store.map(\.wall))
        print("| \(name) " + String(format: "| %.2f, %.2f | %.2f, %.2f | %.2f | %.2f | %.2f |",
                     rawCPU.0 * perOperation, rawCPU.1 * perOperation,
                     storeCPU.0 * perOperation, storeCPU.1 * perOperation,
                     rawCPU.0 / storeCPU.0, rawCPU.1 / storeCPU.1, wallRatio))
    }
}
