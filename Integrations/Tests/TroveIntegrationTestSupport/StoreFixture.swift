public import Foundation
public import Testing
public import Trove
import TroveSQLite

/// A kind of store the adapters' tests run on, made fresh for each test in its own scratch
/// directory, with a clock the test moves by hand.
public struct StoreFixture: Sendable, CustomTestStringConvertible {
    /// The fixture's name in test results.
    public let name: String
    /// Makes the store in `directory`, deciding expiry by `clock`.
    public let make: @Sendable (_ directory: URL, _ clock: WallClock) async throws -> any KeyValueStore

    public var testDescription: String { name }

    /// A ``MemoryStore``.
    public static let memory = StoreFixture(name: "memory") { _, clock in MemoryStore(clock: clock) }
    /// A ``FileSystemStore`` rooted at `store` in the scratch directory.
    public static let file = StoreFixture(name: "file") { directory, clock in
        try FileSystemStore(root: directory.appendingPathComponent("store"), clock: clock)
    }
    /// An ``SQLiteStore`` in `store.db` in the scratch directory.
    public static let sqlite = StoreFixture(name: "sqlite") { directory, clock in
        try await SQLiteStore(path: directory.appendingPathComponent("store.db"), clock: clock)
    }
    /// A namespace of a ``FileSystemStore``, as apps sharing a store use.
    public static let prefixedFile = StoreFixture(name: "file, prefixed") { directory, clock in
        try FileSystemStore(root: directory.appendingPathComponent("store"), clock: clock).prefixed("apps/web")
    }

    /// Every fixture.
    public static let all: [StoreFixture] = [.memory, .file, .sqlite, .prefixedFile]
}

/// Runs `body` with a fresh scratch directory, removed afterwards.
public func withScratchDirectory<T>(_ body: (URL) async throws -> T) async throws -> T {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("trove-integrations-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try await body(directory)
}

/// The names in `directory`, without hidden ones (a ``FileSystemStore``'s own `.trove`), sorted;
/// none when the directory does not exist (a ``FileSystemStore`` removes a namespace's directory
/// with its last entry).
public func visibleFiles(in directory: URL) throws -> [String] {
    guard FileManager.default.fileExists(atPath: directory.path) else { return [] }
    return try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { !$0.hasPrefix(".") }.sorted()
}

/// Whether `duration` is within a millisecond of `expected` seconds: expiry dates go through
/// floating-point seconds or nanoseconds on their way to the medium and back.
public func isAbout(_ duration: Duration?, seconds expected: Double) -> Bool {
    guard let duration else { return false }
    let (seconds, attoseconds) = duration.components
    return abs(Double(seconds) + Double(attoseconds) / 1e18 - expected) < 0.001
}
