import Foundation
import Trove
import TroveSQLite

/// The store configurations the campaigns run against.
enum StoreConfiguration: String, CaseIterable, Sendable {
    case fileBuffered = "file-buffered"
    case fileFsync = "file-fsync"
    case sqliteNormal = "sqlite-normal"
    case sqliteFull = "sqlite-full"

    /// The case's name in the report.
    var title: String {
        switch self {
        case .fileBuffered: "file store, buffered"
        case .fileFsync: "file store, fsync"
        case .sqliteNormal: "SQLite, synchronous=normal"
        case .sqliteFull: "SQLite, synchronous=full"
        }
    }

    var isSQLite: Bool { self == .sqliteNormal || self == .sqliteFull }

    /// Where the store lives inside `folder`: the root directory of a file store, or the
    /// database file of an SQLite store.
    func location(in folder: URL) -> URL {
        isSQLite ? folder.appendingPathComponent("store.db") : folder.appendingPathComponent("store", isDirectory: true)
    }

    /// Opens the store at `location` (from `location(in:)`), with `clock` deciding expiry and
    /// the age of leftovers.
    func open(_ location: URL, clock: WallClock = .system) async throws -> any KeyValueStore {
        switch self {
        case .fileBuffered:
            return try FileSystemStore(root: location, configuration: .init(durability: .buffered), clock: clock)
        case .fileFsync:
            return try FileSystemStore(root: location, configuration: .init(durability: .fsync), clock: clock)
        case .sqliteNormal:
            return try await SQLiteStore(path: location, options: .init(synchronization: .normal), clock: clock)
        case .sqliteFull:
            return try await SQLiteStore(path: location, options: .init(synchronization: .full), clock: clock)
        }
    }
}

/// A wall clock `offset` ahead of the system's: a checker opens a store "a day later" so that
/// reclaiming takes what a killed writer left for abandoned (the file store waits 24 hours for a
/// scratch file, the SQLite store an hour for the parts of an unfinished streamed write).
func clockAhead(by offset: TimeInterval) -> WallClock {
    WallClock { Date().addingTimeInterval(offset) }
}

/// The scratch files in a file store's `.trove/tmp`, by name.
func scratchFiles(ofFileStoreAt root: URL) -> [String] {
    let folder = root.appendingPathComponent(".trove/tmp", isDirectory: true)
    return ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
}

/// The regular files of a file store's tree outside its `.trove` folder (the value files).
func valueFiles(ofFileStoreAt root: URL) -> [String] {
    guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) else { return [] }
    var files: [String] = []
    for case let url as URL in walker {
        if url.lastPathComponent == ".trove" { walker.skipDescendants(); continue }
        if (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
            files.append(String(url.path.dropFirst(root.path.count)))
        }
    }
    return files.sorted()
}
