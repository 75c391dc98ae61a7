import ArgumentParser
import Foundation
import Trove
import TroveSQLite
import WorkloadKit

/// Runs W1 and W2 once for one subject in one directory and prints one JSON object with the
/// key operations per second of each phase (`ops_per_second`, by the wall clock) and the
/// processor time of the whole process per key operation (`cpu_microseconds_per_op`, user and
/// system time of every thread: what a loaded machine inflates least, since waiting for a core
/// is not counted). `compare.sh` runs it beside Python's stores.
@main
struct RunWorkloads: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "TroveWorkloads",
        abstract: "Run the W1 and W2 workloads once and print ops/s per phase as JSON.",
        discussion: """
            W1: TROVE_W1_KEYS keys (10000) of TROVE_W1_VALUE_BYTES bytes (100): put, get in a \
            seeded random order, list, delete. W2: TROVE_W2_KEYS keys (1000) of \
            TROVE_W2_VALUE_BYTES bytes (102400): put, get. The work happens in a new trove-* \
            directory inside DIRECTORY, removed at the end.
            """
    )

    enum Subject: String, ExpressibleByArgument, CaseIterable {
        case raw, file, memory, sqlite
        case sqliteRaw = "sqlite-raw"
        case sqlitePair = "sqlite-pair"
        case sqliteScale = "sqlite-scale"
        case fileScale = "file-scale"
        case postgres
        case redis
    }

    @Argument(help: """
        What to run: raw (the system-call loop), file (FileSystemStore), memory (MemoryStore), \
        sqlite (SQLiteStore), sqlite-raw (the raw SQLite loop), sqlite-pair (both in \
        alternating rounds, printed as a table), sqlite-scale (SQLiteStore's count, get \
        latency, listing and memory at each of --scale-keys), or file-scale (FileSystemStore's \
        get latency, listing, memory and a listing page at each of --scale-keys), or postgres \
        (PostgresStore beside a raw postgres-nio loop on the server of TROVE_BENCH_POSTGRES_URL, in \
        alternating rounds, printed as a table; DIRECTORY is not used), or redis (RedisStore \
        one call at a time and in batches on the server of TROVE_BENCH_REDIS_URL; DIRECTORY is \
        not used).
        """)
    var subject: Subject

    @Argument(help: "An existing directory to work in, such as /dev/shm.")
    var directory: String

    @Option(help: "Rounds of every phase for sqlite-pair and postgres.")
    var rounds: Int = 15

    @Option(help: "Store sizes for sqlite-scale and file-scale, comma-separated.")
    var scaleKeys: String = "10000,100000,1000000"

    @Option(help: "SQLite's memory map for sqlite-scale, in MiB (the store's default when not given; 0 turns it off).")
    var memoryMapMib: Int?

    mutating func run() async throws {
        if subject == .redis {
            // Off the main actor, as a server's request handlers are: its calls would hop to the
            // main thread and back on every await.
            try await Task.detached { try await RedisPhases.run() }.value
            return
        }
        if subject == .postgres {
            try await PostgresPairs.run(rounds: max(1, rounds))
            return
        }
        if subject == .sqlitePair {
            try await SQLitePairs.run(in: directory, rounds: max(1, rounds))
            return
        }
        if subject == .sqliteScale || subject == .fileScale {
            let sizes = scaleKeys.split(separator: ",").compactMap { Int($0) }.filter { $0 > 0 }
            guard !sizes.isEmpty else { throw ValidationError("--scale-keys needs sizes such as 10000,100000") }
            if subject == .fileScale {
                try await FileScale.run(in: directory, sizes: sizes)
            } else {
                try await SQLiteScale.run(in: directory, sizes: sizes, memoryMapMiB: memoryMapMib)
            }
            return
        }
        let workloads = [try Workload.w1(), try Workload.w2()]
        let scratch = try ScratchDirectory.make(in: directory, label: "workloads-\(subject.rawValue)")
        var results: [(String, Double, Double)] = []
        do {
            for workload in workloads {
                let root = scratch.appending(workload.name)
                let timings = switch subject {
                case .raw: try Self.run(workload, on: try RawDirectory(path: root))
                case .file: try await Self.run(workload, on: try FileSystemStore(
                    root: URL(fileURLWithPath: root, isDirectory: true),
                    configuration: .init(durability: .buffered), clock: .system))
                case .memory: try await Self.run(workload, on: MemoryStore())
                case .sqlite: try await Self.run(workload, on: try await SQLitePhases.openStore(
                    in: URL(fileURLWithPath: root, isDirectory: true)))
                case .sqliteRaw: try Self.run(workload, on: try Self.openRawSQLite(workload, in: root))
                case .sqlitePair, .sqliteScale, .fileScale, .postgres, .redis: [(Workload.Phase, PhaseTime)]()
                }
                for (phase, time) in timings {
                    results.append(("\(workload.name) \(phase.rawValue)", Double(workload.keyCount) / time.wall.seconds,
                                    time.processorSeconds * 1e6 / Double(workload.keyCount)))
                }
            }
        } catch {
            try? scratch.remove() // best effort: the error below is what matters
            throw error
        }
        try scratch.remove()

        let phases = results.map { "\"\($0.0)\": \(String(format: "%.1f", $0.1))" }.joined(separator: ", ")
        let processor = results.map { "\"\($0.0)\": \(String(format: "%.3f", $0.2))" }.joined(separator: ", ")
        let sizes = workloads.map { "\"\($0.name)\": \"\($0.keyCount) x \($0.valueSizeDescription)\"" }
            .joined(separator: ", ")
        print("{\"subject\": \"\(subject.rawValue)\", \"workloads\": {\(sizes)}, \"ops_per_second\": {\(phases)}, \"cpu_microseconds_per_op\": {\(processor)}}")
    }

    static func run(_ workload: Workload, on directory: RawDirectory) throws -> [(Workload.Phase, PhaseTime)] {
        try workload.phases.map { phase in
            let elapsed = try PhaseTime.measure {
                switch phase {
                case .put: try RawPhases.put(workload, into: directory)
                case .get: _ = try RawPhases.get(workload, from: directory)
                case .list: _ = try RawPhases.list(workload, in: directory)
                case .delete: try RawPhases.delete(workload, from: directory)
                }
            }
            return (phase, elapsed)
        }
    }

    static func openRawSQLite(_ workload: Workload, in root: String) throws -> RawSQLite {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        return try RawSQLite(path: root + "/" + SQLitePhases.databaseName, layout: RawPhases.sqliteLayout(for: workload))
    }

    static func run(_ workload: Workload, on database: RawSQLite) throws -> [(Workload.Phase, PhaseTime)] {
        try workload.phases.map { phase in
            let elapsed = try PhaseTime.measure {
                switch phase {
                case .put: try RawPhases.put(workload, into: database)
                case .get: _ = try RawPhases.get(workload, from: database)
                case .list: _ = try RawPhases.list(workload, in: database)
                case .delete: try RawPhases.delete(workload, from: database)
                }
            }
            return (phase, elapsed)
        }
    }

    static func run(_ workload: Workload, on store: some KeyValueStore) async throws -> [(Workload.Phase, PhaseTime)] {
        var timings: [(Workload.Phase, PhaseTime)] = []
        for phase in workload.phases {
            let time = try await PhaseTime.measure {
                switch phase {
                case .put: try await StorePhases.put(workload, into: store)
                case .get: _ = try await StorePhases.get(workload, from: store)
                case .list: _ = try await StorePhases.list(workload, in: store)
                case .delete: try await StorePhases.delete(workload, from: store)
                }
            }
            timings.append((phase, time))
        }
        return timings
    }
}

/// The wall-clock time and the process's processor time of one phase.
struct PhaseTime {
    var wall: Duration
    var processorSeconds: Double

    /// Runs `body`, measuring both.
    static func measure(_ body: () async throws -> Void) async rethrows -> PhaseTime {
        let clock = ContinuousClock()
        let processorStart = processorNow()
        let start = clock.now
        try await body()
        let wall = start.duration(to: clock.now)
        return PhaseTime(wall: wall, processorSeconds: processorNow() - processorStart)
    }

    static func measure(_ body: () throws -> Void) rethrows -> PhaseTime {
        let clock = ContinuousClock()
        let processorStart = processorNow()
        let start = clock.now
        try body()
        let wall = start.duration(to: clock.now)
        return PhaseTime(wall: wall, processorSeconds: processorNow() - processorStart)
    }

    /// User and system time of every thread of the process so far, in seconds.
    static func processorNow() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
