import ArgumentParser
import Dispatch
import Foundation
import Trove
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `trove bench`: a quick put, get, list and delete round on the chosen store.
struct BenchCommand: StoreCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time a put, get, list and delete round on the store.",
        discussion: """
            Writes --keys values of --value-size random bytes under a new prefix, reads each \
            back and checks its bytes, lists the prefix with metadata, and deletes each key, \
            one operation at a time; then prints the operations per second of each phase \
            (for list, one operation is one key listed).

            The prefix is new (trove-bench-<time>-<random>) unless --prefix names one; bench \
            refuses (exit 3) to run on a prefix that already holds keys. After an error or \
            Ctrl-C it deletes the keys it wrote before exiting (a second Ctrl-C exits at once).

            --json prints one object: {"store", "prefix", "keys", "valueSize", "phases": \
            [{"phase", "operations", "seconds", "operationsPerSecond"}]}.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("How many keys to write, read, list and delete.", valueName: "n"))
    var keys = 1000

    @Option(name: .customLong("value-size"), help: ArgumentHelp("Bytes per value.", valueName: "bytes"))
    var valueSize = 100

    @Option(help: ArgumentHelp("Work under this key prefix, which must hold no keys (default: a new one).",
                               valueName: "prefix"))
    var prefix: String?

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func validate() throws {
        guard (1...10_000_000).contains(keys) else {
            throw ValidationError("--keys must be from 1 to 10000000, not \(keys)")
        }
        guard (0...(1 << 30)).contains(valueSize) else {
            throw ValidationError("--value-size must be from 0 to 1073741824 bytes, not \(valueSize)")
        }
    }

    func run(on store: any KeyValueStore) async throws {
        let unique = "trove-bench-\(Int(Date().timeIntervalSince1970))-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        let base = try StoreKey(validating: prefix ?? unique)
        guard try await store.isEmpty(withPrefix: base.rawValue + "/") else {
            throw CommandFailure(.conditionFailed,
                                 "prefix '\(base)/' already holds keys in \(store); bench runs only on an empty prefix")
        }
        let width = String(keys - 1).count
        let keyList = try (0..<keys).map { index in
            try base.appending(StoreKey(validating: String(format: "%0*d", width, index)))
        }
        var generator = SystemRandomNumberGenerator()
        let value = Data((0..<valueSize).map { _ in UInt8.random(in: 0...255, using: &generator) })

        let work = Task { try await BenchRound(store: store, prefix: base, keys: keyList, value: value).run() }
        switch await Self.interruptible(work) {
        case .success(let phases):
            try report(phases, store: store, prefix: base)
        case .failure(let error):
            // Everything under the prefix is the bench's own: the prefix was empty when it began.
            if let cleanup = await Self.deleteEverything(under: base, from: store) {
                throw CommandFailure(.storageFailure,
                                     "\(Self.describe(error)); then deleting the keys bench wrote under '\(base)/' failed: \(Self.describe(cleanup))")
            }
            if error is CancellationError {
                throw CommandFailure(.interrupted, "bench interrupted; the keys it wrote under '\(base)/' are deleted")
            }
            throw error
        }
    }

    /// Waits for `work`, cancelling it on Ctrl-C; a second Ctrl-C ends the process at once.
    private static func interruptible<Value: Sendable>(_ work: Task<Value, any Error>) async -> Result<Value, any Error> {
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler {
            signal(SIGINT, SIG_DFL)
            work.cancel()
        }
        source.resume()
        let result = await work.result
        source.cancel()
        signal(SIGINT, SIG_DFL)
        return result
    }

    /// Deletes every key under `prefix/`, and returns the first failure, if any.
    private static func deleteEverything(under prefix: StoreKey, from store: any KeyValueStore) async -> (any Error)? {
        do {
            var written: [StoreKey] = []
            for try await key in try store.keys(withPrefix: prefix.rawValue + "/") { written.append(key) }
            for key in written { try await store.discard(key) }
            return nil
        } catch {
            return error
        }
    }

    private static func describe(_ error: any Error) -> String {
        if let failure = error as? CommandFailure { return failure.message }
        if let report = StoreErrorReport(error) { return report.message }
        if error is CancellationError { return "interrupted" }
        return String(describing: error)
    }

    private func report(_ phases: [BenchPhase], store: any KeyValueStore, prefix: StoreKey) throws {
        var output = StandardOutput()
        if json {
            var object = JSONObject()
            object.add("store", store.description)
            object.add("prefix", prefix.rawValue + "/")
            object.add("keys", Int64(keys))
            object.add("valueSize", Int64(valueSize))
            object.add("phases", json: "[" + phases.map(\.json.rendered).joined(separator: ",") + "]")
            try output.line(object.rendered)
        } else {
            try output.line("\(keys) keys of \(valueSize) bytes in \(store), under \(prefix)/ (deleted)")
            let header = ["phase", "operations", "seconds", "ops/s", "µs/op"]
            let rows = [header] + phases.map(\.columns)
            let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
            for row in rows {
                let cells = row.indices.map { column in
                    column == 0 ? Show.leftAligned(row[column], widths[column]) : Show.rightAligned(row[column], widths[column])
                }
                try output.line(cells.joined(separator: "  "))
            }
        }
        try output.flush()
    }
}

/// One timed phase of a bench round.
struct BenchPhase: Sendable {
    var name: String
    var operations: Int
    var elapsed: Duration

    var seconds: Double {
        let (whole, attoseconds) = elapsed.components
        return Double(whole) + Double(attoseconds) / 1e18
    }

    var operationsPerSecond: Double { seconds > 0 ? Double(operations) / seconds : .infinity }

    /// The row of the table: phase, operations, seconds, ops/s, µs/op.
    var columns: [String] {
        [name, String(operations), String(format: "%.3f", seconds),
         operationsPerSecond.isFinite ? String(format: "%.0f", operationsPerSecond) : "-",
         String(format: "%.1f", seconds * 1e6 / Double(max(1, operations)))]
    }

    var json: JSONObject {
        var object = JSONObject()
        object.add("phase", name)
        object.add("operations", Int64(operations))
        object.add("seconds", seconds)
        object.add("operationsPerSecond", operationsPerSecond)
        return object
    }
}

/// The four phases of `trove bench`, one operation at a time.
struct BenchRound: Sendable {
    let store: any KeyValueStore
    let prefix: StoreKey
    let keys: [StoreKey]
    let value: Data

    func run() async throws -> [BenchPhase] {
        let clock = ContinuousClock()
        var phases: [BenchPhase] = []
        let retains = store.capabilities.contains(.retention)

        var start = clock.now
        for key in keys {
            try Task.checkCancellation()
            try await store.set(value, for: key)
        }
        phases.append(BenchPhase(name: "put", operations: keys.count, elapsed: clock.now - start))

        start = clock.now
        for key in keys {
            try Task.checkCancellation()
            let read = try await store[key]
            guard retains else { continue }   // a store that keeps nothing reads nil
            guard let read else {
                throw CommandFailure(.storageFailure, "bench wrote '\(key)' but reading it back found no value in \(store)")
            }
            guard read == value else {
                throw CommandFailure(.storageFailure, "bench read back different bytes for '\(key)' in \(store)")
            }
        }
        phases.append(BenchPhase(name: "get", operations: keys.count, elapsed: clock.now - start))

        start = clock.now
        var listed = 0
        for try await element in store.list(try ListQuery(prefix: prefix.rawValue + "/", includesMetadata: true)) {
            if element.metadata != nil { listed += 1 }
        }
        phases.append(BenchPhase(name: "list", operations: listed, elapsed: clock.now - start))
        guard listed == keys.count || !retains else {
            throw CommandFailure(.storageFailure, "bench wrote \(keys.count) keys but listed \(listed) in \(store)")
        }

        start = clock.now
        for key in keys {
            try Task.checkCancellation()
            try await store.discard(key)
        }
        phases.append(BenchPhase(name: "delete", operations: keys.count, elapsed: clock.now - start))
        guard try await store.isEmpty(withPrefix: prefix.rawValue + "/") else {
            throw CommandFailure(.storageFailure, "keys remain under '\(prefix)/' in \(store) after bench deleted them all")
        }
        return phases
    }
}
