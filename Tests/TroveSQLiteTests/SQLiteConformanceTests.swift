import CTroveSQLite
import Foundation
import Testing
import Trove
import TroveConformance
import TroveSQLite
import TroveTestSupport

/// An SQLite store over a fresh database for one test.
struct SQLiteFixture: Sendable, CustomStringConvertible {
    let description: String
    let options: SQLiteStore.Options
    let table: String

    static let normal = SQLiteFixture(description: "sqlite", options: SQLiteStore.Options(), table: "kv")
    static let exclusive = SQLiteFixture(description: "sqlite(exclusive)", options: SQLiteStore.Options(isExclusive: true),
                                         table: "kv")
    static let full = SQLiteFixture(description: "sqlite(synchronous=full, table t2)",
                                    options: SQLiteStore.Options(synchronization: .full), table: "t2")
    static let all = [normal, exclusive, full]

    /// Runs `body` with a store over a new database file and the environment that goes with it.
    func withFreshStore(_ body: (SQLiteStore, ConformanceEnvironment) async throws -> Void) async throws {
        try await withScratchDirectory { directory in
            let clock = ManualWallClock()
            let file = directory.appendingPathComponent("store.db")
            let options = self.options, table = self.table
            let store = try await SQLiteStore(path: file, table: table, options: options, clock: clock.wallClock)
            let environment = ConformanceEnvironment(
                clock: clock,
                // A second store of an exclusive database cannot open while the first is open.
                reopen: options.isExclusive ? nil : { @Sendable in try await SQLiteStore(path: file, table: table, options: options, clock: clock.wallClock) },
                storageFootprint: { @Sendable in try pagesInUse(file) })
            try await body(store, environment)
        }
    }
}

/// The bytes of a database's pages that hold data (not on its free list), read through a
/// connection of its own.
func pagesInUse(_ file: URL) throws -> Int64 {
    var handle: OpaquePointer?
    guard sqlite3_open_v2(file.path, &handle, SQLITE_OPEN_READONLY, nil) == SQLITE_OK, let handle else {
        sqlite3_close(handle)
        throw TestFailure("cannot open \(file.path)")
    }
    defer { sqlite3_close(handle) }
    func pragma(_ name: String) throws -> Int64 {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, "PRAGMA \(name)", -1, &statement, nil) == SQLITE_OK,
              sqlite3_step(statement) == SQLITE_ROW else {
            sqlite3_finalize(statement)
            throw TestFailure("PRAGMA \(name) failed")
        }
        defer { sqlite3_finalize(statement) }
        return sqlite3_column_int64(statement, 0)
    }
    return (try pragma("page_count") - (try pragma("freelist_count"))) * (try pragma("page_size"))
}

/// The whole contract against SQLite stores: normal, exclusive, and synchronous=FULL in a
/// table of another name.
@Suite("SQLiteStore: contract conformance")
struct SQLiteConformanceTests {
    @Test("contract", .timeLimit(.minutes(15)), arguments: SQLiteFixture.all, ContractCheck.allCases)
    func contract(_ fixture: SQLiteFixture, _ check: ContractCheck) async throws {
        try await fixture.withFreshStore { store, environment in
            try await expectConformance(check, of: store, environment: environment)
        }
    }
}
