import Benchmark
import Foundation
import Trove
import TroveSQLite
import WorkloadKit

// SQLiteStore beside a raw loop over SQLite's C API that runs the same statements, in one run:
// `swift package benchmark --filter "SQLite.*" --grouping metric`. W1 and W2 with the file
// store's phases, and a batch put of W1: `writeAll` of every key against the raw loop's
// inserts in one transaction. Every database is a file `store.sqlite` in the benchmark's own
// directory (see ScratchDirectory.base()).

/// The prefix of every SQLite benchmark's name.
let sqlitePrefix = "SQLite "

/// Registers W1 and W2 for `SQLiteStore` and the raw SQLite loop, and W1's batch put.
func registerSQLite(_ workloads: [Workload], base: String) {
    for workload in workloads {
        for phase in workload.phases {
            registerRawSQLite(workload, phase, base: base)
            registerStore(workload, phase, name: "SQLiteStore", base: base, prefix: sqlitePrefix) { root in
                try await SQLitePhases.openStore(in: root)
            }
        }
    }
    if let w1 = workloads.first(where: { $0.name == "W1" }) {
        registerBatchPut(w1, base: base)
    }
}

/// Opens the raw loop's database in `directory`, creating the directory.
private func openRaw(_ workload: Workload, in scratch: ScratchDirectory) throws -> RawSQLite {
    try FileManager.default.createDirectory(atPath: scratch.appending(dataDirectory), withIntermediateDirectories: true)
    return try RawSQLite(path: scratch.appending(dataDirectory) + "/" + SQLitePhases.databaseName,
                         layout: RawPhases.sqliteLayout(for: workload))
}

/// Registers `phase` of `workload` on the raw SQLite loop.
private func registerRawSQLite(_ workload: Workload, _ phase: Workload.Phase, base: String) {
    let fixture = Fixture<RawSQLite>()
    let name = sqlitePrefix + benchmarkName(workload, phase, "raw")
    let label = "sqlite-raw-\(workload.name)-\(phase.rawValue)"
    switch phase {
    case .put, .delete:
        Benchmark(name) { benchmark in
            let scratch = try fixture.directory()
            do {
                let database = try openRaw(workload, in: scratch)
                if phase == .put {
                    try measure(benchmark, operations: workload.keyCount) { try RawPhases.put(workload, into: database) }
                } else {
                    try RawPhases.put(workload, into: database)
                    try measure(benchmark, operations: workload.keyCount) { try RawPhases.delete(workload, from: database) }
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
            let database = try fixture.populated()
            try measure(benchmark, operations: workload.keyCount) {
                if phase == .get {
                    blackHole(try RawPhases.get(workload, from: database))
                } else {
                    blackHole(try RawPhases.list(workload, in: database))
                }
            }
        } setup: {
            try await fixture.setUp(in: base, label: label) { scratch in
                let database = try openRaw(workload, in: scratch)
                try RawPhases.put(workload, into: database)
                return database
            }
        } teardown: {
            try fixture.tearDown()
        }
    }
}

/// Registers the batch put of `workload`: `SQLiteStore.writeAll` against the raw loop's
/// inserts between `BEGIN IMMEDIATE` and `COMMIT`, each into an empty database.
private func registerBatchPut(_ workload: Workload, base: String) {
    let rawFixture = Fixture<RawSQLite>()
    Benchmark(sqlitePrefix + "\(workload.name) batch put (raw)") { benchmark in
        let scratch = try rawFixture.directory()
        do {
            let database = try openRaw(workload, in: scratch)
            try measure(benchmark, operations: workload.keyCount) { try RawPhases.batchPut(workload, into: database) }
        }
        try scratch.removeItem(dataDirectory)
    } setup: {
        try await rawFixture.setUp(in: base, label: "sqlite-raw-\(workload.name)-batch-put")
    } teardown: {
        try rawFixture.tearDown()
    }

    let storeFixture = Fixture<SQLiteStore>()
    let entries = SQLitePhases.entries(workload)
    Benchmark(sqlitePrefix + "\(workload.name) batch put (SQLiteStore)") { benchmark in
        let scratch = try storeFixture.directory()
        do {
            let store = try await SQLitePhases.openStore(in: scratch.url.appendingPathComponent(dataDirectory, isDirectory: true))
            try await measure(benchmark, operations: workload.keyCount) {
                try await SQLitePhases.batchPut(entries, into: store)
            }
        }
        try scratch.removeItem(dataDirectory)
    } setup: {
        try await storeFixture.setUp(in: base, label: "sqlite-store-\(workload.name)-batch-put")
    } teardown: {
        try storeFixture.tearDown()
    }
}
