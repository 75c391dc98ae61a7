public import Testing
public import Trove

/// Expects `body` to throw a ``StoreError`` whose code is one of `codes`, and returns it.
///
/// Anything else (nothing thrown, another code, an error of another type) is recorded as an
/// issue at the caller's line and ends the test with an error that Swift Testing does not
/// record twice, as `#require` does; so a test can go on to check the returned error's key,
/// operation and message without unwrapping.
///
///     let error = try await expectStoreError(.conditionFailed) {
///         try await store.set(value, for: "k", condition: .ifAbsent)
///     }
///     #expect(error.key == "k")
///
/// - Parameters:
///   - codes: The codes that count as expected; at least one.
///   - sourceLocation: Where a failure is reported. Defaults to the caller's line.
///   - body: The operation expected to fail.
/// - Returns: The error `body` threw.
/// - Throws: The error of a failed `#require` when `body` did not throw a ``StoreError`` with
///   one of `codes`.
@discardableResult
public func expectStoreError<T>(
    _ codes: StoreError.Code..., sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> T
) async throws -> StoreError {
    var thrown: (any Error)?
    do {
        _ = try await body()
    } catch {
        thrown = error
    }
    let error = try #require(
        thrown as? StoreError,
        "expected a StoreError (\(codes)), but \(thrown.map { "\(type(of: $0)) was thrown: \($0)" } ?? "nothing was thrown")",
        sourceLocation: sourceLocation)
    try #require(codes.contains(error.code), "expected \(codes), got \(error.code): \(error)", sourceLocation: sourceLocation)
    return error
}
