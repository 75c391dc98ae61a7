import Testing
import Trove
import TroveConformance
import TroveTestSupport

/// The whole contract, every check against every stack of crypto layers, each on a fresh store.
@Suite("Contract conformance of the crypto layers")
struct CryptoConformanceTests {
    @Test("contract", .timeLimit(.minutes(15)), arguments: CryptoStoreFixture.all, ContractCheck.allCases)
    func contract(_ fixture: ConformanceFixture, _ check: ContractCheck) async throws {
        try await fixture.expectConformance(to: check)
    }
}
