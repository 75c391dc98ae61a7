import Testing
import Trove
import TroveConformance
import TrovePostgres
import TroveTestSupport

/// The expiry checks by the server's clock: short real lifetimes, waited out. One after the
/// other: `reclaimExpired` deletes every expired row of its table, and in the shared default
/// table another check's expired rows would be counted with its own.
@Suite("PostgresStore: expiry by the server's clock", .serialized,
       .enabled(if: TestServer.postgres.isAvailable, TestServer.postgres.absence))
struct PostgresRealTimeExpiryTests {
    @Test("expiry", .timeLimit(.minutes(5)), arguments: PostgresFixture.all, expiryChecks)
    func expiry(_ fixture: PostgresFixture, _ check: ContractCheck) async throws {
        try await fixture.withStore(realTimeExpiry: RealTimeExpiry(unit: .milliseconds(200), grace: .milliseconds(400))) { store, environment in
            // The shared table may hold rows that expired in other runs (a run that was killed
            // leaves its namespace behind); reclaimExpired counts every expired row of its table.
            if fixture.placement == .defaultTable, check == .reclaimExpired { _ = try await store.reclaimExpired() }
            try await expectConformance(check, of: store, environment: environment)
        }
    }
}
