import Foundation
import Trove

/// A fresh directory for one test, removed when the test's body ends.
func withTemporaryDirectory<T>(_ body: (URL) async throws -> T) async throws -> T {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("trove-test-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try await body(url)
}

/// Runs `body` expecting a ``StoreError`` with `code`; returns it.
@discardableResult
func expectStoreError(
    _ code: StoreError.Code, _ body: () async throws -> Void,
    sourceLocation: SourceLocationProxy = .init()
) async throws -> StoreError {
    do {
        try await body()
    } catch let error as StoreError {
        guard error.code == code else {
            throw UnexpectedOutcome("expected \(code), got \(error.code): \(error)")
        }
        return error
    }
    throw UnexpectedOutcome("expected \(code), but nothing was thrown")
}

/// Where a helper was called from (kept for messages).
struct SourceLocationProxy { init() {} }

/// A test expectation that did not hold.
struct UnexpectedOutcome: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
