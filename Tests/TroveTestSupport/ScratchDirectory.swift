public import Foundation

/// Runs `body` with a fresh, empty directory under the system's temporary directory, and
/// removes the directory and all it holds when `body` returns or throws.
///
/// Each call gets a directory of its own (`<label>-<UUID>`), so tests that run in parallel never
/// share files. Removal is best-effort: a file that cannot be removed (say, on a mount that a
/// test left read-only) is left behind rather than failing the test.
///
/// - Parameters:
///   - label: The start of the directory's name, to tell where a leftover came from. Defaults
///     to `trove-test`.
///   - body: Receives the directory's URL.
/// - Returns: What `body` returns.
/// - Throws: What `body` throws, or the error of creating the directory.
public func withScratchDirectory<T>(
    _ label: String = "trove-test", _ body: (URL) async throws -> T
) async throws -> T {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("\(label)-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }  // best-effort cleanup
    return try await body(directory)
}

/// A test's own failure that is not an expectation: a fixture that could not be set up, a
/// helper that did not answer, a file that does not hold what a check needs.
///
/// Thrown from a test, it fails the test with `description`.
public struct TestFailure: Error, CustomStringConvertible {
    /// What went wrong, and where.
    public let description: String

    /// A failure saying `description`.
    public init(_ description: String) { self.description = description }
}
