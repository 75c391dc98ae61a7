import Testing
import Trove
import TroveConformance

/// The whole contract, every check against every stack of crypto layers, each on a fresh store.
@Suite("Contract conformance of the crypto layers")
struct CryptoConformanceTests {
    @Test("contract", .timeLimit(.minutes(5)), arguments: CryptoStoreFixture.all, ContractCheck.allCases)
    func contract(_ fixture: CryptoStoreFixture, _ check: ContractCheck) async throws {
        try await fixture.withFreshStore { store, environment in
            do {
                try await check.run(against: store, environment: environment)
            } catch let failure as ConformanceFailure {
                Issue.record("\(failure.debugDescription)")
            }
        }
    }
}
