import Testing
import Trove
import TroveConformance

/// The whole contract, every check against every fixture, each on a fresh store.
@Suite("Contract conformance")
struct ConformanceTests {
    @Test("contract", .timeLimit(.minutes(5)), arguments: StoreFixture.all, ContractCheck.allCases)
    func contract(_ fixture: StoreFixture, _ check: ContractCheck) async throws {
        try await fixture.withFreshStore { store, environment in
            do {
                try await check.run(against: store, environment: environment)
            } catch let failure as ConformanceFailure {
                Issue.record("\(failure.debugDescription)")
            }
        }
    }

    @Test func checkNamesAreUnique() {
        let names = ContractCheck.allCases.map(\.name)
        #expect(Set(names).count == names.count)
        #expect(ContractCheck.named("writeIfAbsent") == .writeIfAbsent)
        #expect(ContractCheck.named("no such check") == nil)
    }
}
