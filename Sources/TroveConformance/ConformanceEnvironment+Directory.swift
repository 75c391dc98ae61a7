public import Foundation
public import Trove

extension ConformanceEnvironment {
    /// Runs `body` with a fresh store that `open` builds over a new, empty temporary directory,
    /// and the environment to check it with: `clock`, a second instance over the same directory
    /// (``reopen``) and the bytes the directory's files occupy (``storageFootprint``). The
    /// directory is removed when `body` ends, however it ends.
    ///
    /// For stores that keep their data in a directory (files, an embedded database):
    ///
    ///     let clock = ManualWallClock()
    ///     try await ConformanceEnvironment.withStoreInTemporaryDirectory(clock: clock) { root in
    ///         try MyStore(directory: root, clock: clock.wallClock)
    ///     } _: { store, environment in
    ///         try await check.run(against: store, environment: environment)
    ///     }
    ///
    /// - Parameters:
    ///   - clock: The clock `open` builds stores with.
    ///   - largeValueSize: See ``largeValueSize``. Defaults to 64 MiB.
    ///   - maximumKeyByteCount: See ``maximumKeyByteCount``. Defaults to 1,024.
    ///   - maximumValueSize: See ``maximumValueSize``. Defaults to `nil`, no limit.
    ///   - open: Builds a store whose data lives in the given directory (which may not exist yet).
    ///   - body: Receives the fresh store and its environment.
    public static func withStoreInTemporaryDirectory(
        clock: ManualWallClock,
        largeValueSize: Int = 64 << 20,
        maximumKeyByteCount: Int = StoreKey.maximumByteCount,
        maximumValueSize: Int? = nil,
        open: @escaping @Sendable (URL) throws -> any KeyValueStore,
        _ body: (any KeyValueStore, ConformanceEnvironment) async throws -> Void
    ) async throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("trove-conformance-\(UUID().uuidString)", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: directory) }  // best-effort cleanup
        let root = directory.appendingPathComponent("store", isDirectory: true)
        let environment = ConformanceEnvironment(
            clock: clock,
            largeValueSize: largeValueSize,
            maximumKeyByteCount: maximumKeyByteCount,
            maximumValueSize: maximumValueSize,
            reopen: { try open(root) },
            storageFootprint: { try bytesOfFiles(under: root) }
        )
        try await body(try open(root), environment)
    }

    /// The total size of the regular files under `directory`, hidden ones included.
    ///
    /// - Throws: The file system's error when the directory cannot be walked.
    public static func bytesOfFiles(under directory: URL) throws -> Int64 {
        let keys: [URLResourceKey] = [.isRegularFileKey, .fileSizeKey]
        guard let enumerator = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: keys) else {
            throw CocoaError(.fileReadUnknown, userInfo: [NSFilePathErrorKey: directory.path])
        }
        var total: Int64 = 0
        for case let url as URL in enumerator {
            let values = try url.resourceValues(forKeys: Set(keys))
            if values.isRegularFile == true { total += Int64(values.fileSize ?? 0) }
        }
        return total
    }
}
