public import Testing
public import Trove
public import TroveConformance

/// Runs `check` against `store` as a Swift Testing test case: a broken clause is recorded as an
/// issue with the whole failure, and a check that does not apply cancels the test case, so the
/// run reports it as skipped (with the reason), never as passed.
public func expectConformance(
    _ check: ContractCheck,
    of store: any KeyValueStore,
    environment: ConformanceEnvironment,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws {
    let outcome: ContractCheck.Outcome
    do {
        outcome = try await check.run(against: store, environment: environment)
    } catch let failure as ConformanceFailure {
        Issue.record("\(failure.debugDescription)", sourceLocation: sourceLocation)
        return
    }
    if case .skipped(let reason) = outcome {
        try Test.cancel(Comment(rawValue: "\(check.name) does not apply: \(reason)"), sourceLocation: sourceLocation)
    }
}
