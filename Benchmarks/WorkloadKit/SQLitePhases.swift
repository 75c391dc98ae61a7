public import Foundation
public import Trove
public import TroveSQLite

/// The phases that only `SQLiteStore` has.
public enum SQLitePhases {
    /// The workload's keys and value as `SQLiteStore.writeAll` takes them.
    public static func entries(_ workload: Workload) -> [(key: StoreKey, value: Data)] {
        workload.keys.map { ($0, workload.valueData) }
    }

    /// Writes every entry in one call of `writeAll(_:)`: one transaction.
    public static func batchPut(_ entries: [(key: StoreKey, value: Data)], into store: SQLiteStore) async throws {
        let written = try await store.writeAll(entries)
        try check(written.count, equals: entries.count, "\(store) batch put: entries written")
    }

    /// Opens an `SQLiteStore` in the default table of `store.sqlite` inside `directory`,
    /// creating the directory.
    public static func openStore(in directory: URL) async throws -> SQLiteStore {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return try await SQLiteStore(path: directory.appendingPathComponent(databaseName))
    }

    /// The database file's name inside an engine's directory.
    public static let databaseName = "store.sqlite"
}
