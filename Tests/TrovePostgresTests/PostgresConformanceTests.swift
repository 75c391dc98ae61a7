import Foundation
import PostgresNIO
import Testing
import Trove
import TroveConformance
@testable import TrovePostgres
import TroveTestSupport

/// Where a conformance run's store keeps its table.
struct PostgresFixture: Sendable, CustomStringConvertible {
    enum Placement: Sendable { case defaultTable, secondTable, otherSchema }

    let description: String
    let placement: Placement

    static let defaultTable = PostgresFixture(description: "postgres(public.kv, a namespace per check)", placement: .defaultTable)
    static let secondTable = PostgresFixture(description: "postgres(a fresh table in public)", placement: .secondTable)
    static let otherSchema = PostgresFixture(description: "postgres(a fresh schema's table)", placement: .otherSchema)
    static let all = [defaultTable, secondTable, otherSchema]

    /// Values up to this size; the checks shrink their large values to it and check that larger
    /// ones are refused.
    static let maximumValueSize = 4 << 20

    /// Runs `body` with a store of this placement and the environment for it, dropping what it
    /// made afterwards.
    func withStore(
        realTimeExpiry: RealTimeExpiry? = nil, _ body: (PostgresStore, ConformanceEnvironment) async throws -> Void
    ) async throws {
        let options = PostgresStore.Options(maximumValueSize: Self.maximumValueSize)
        func environment(_ schema: String, _ table: String, isolates: Bool) -> ConformanceEnvironment {
            ConformanceEnvironment(
                maximumValueSize: Self.maximumValueSize,
                reopen: { @Sendable in
                    try await PostgresStore(client: PostgresClients.second, table: table, schema: schema, options: options,
                                            location: "test(second client)")
                },
                realTimeExpiry: realTimeExpiry ?? RealTimeExpiry(),
                isolatesEachCheck: isolates)
        }
        switch placement {
        case .defaultTable:
            let store = try await PostgresStore(client: PostgresClients.shared, options: options, location: "test")
            try await body(store, environment("public", "kv", isolates: true))
        case .secondTable:
            try await withFreshTable(options: options) { store in
                try await body(store, environment(store.schema, store.table, isolates: false))
            }
        case .otherSchema:
            try await withFreshTable(schema: freshName("s_"), options: options) { store in
                try await body(store, environment(store.schema, store.table, isolates: false))
            }
        }
    }
}

/// The checks that wait for real time to pass, run by ``PostgresRealTimeExpiryTests``.
let expiryChecks: [ContractCheck] = [.expiredEntriesAreInvisible, .writesOverExpiredEntries, .reclaimExpired, .expiryRefreshOnRead]

/// The whole contract (but for the expiry checks, which sleep) against PostgreSQL stores: the
/// default table shared with other suites, a second table of the same database, and a table in
/// a schema other than public.
@Suite("PostgresStore: contract conformance", .enabled(if: TestServer.postgres.isAvailable, TestServer.postgres.absence))
struct PostgresConformanceTests {
    @Test("contract", .timeLimit(.minutes(15)),
          arguments: PostgresFixture.all, ContractCheck.allCases.filter { !expiryChecks.contains($0) })
    func contract(_ fixture: PostgresFixture, _ check: ContractCheck) async throws {
        try await fixture.withStore { store, environment in
            try await expectConformance(check, of: store, environment: environment)
        }
    }
}

/// The contract on the default PostgreSQL table under every production layer (tracing,
/// metrics, logging, a concurrency limit, timeouts, retries).
@Suite("PostgresStore under every production layer: contract conformance", .enabled(if: TestServer.postgres.isAvailable, TestServer.postgres.absence))
struct PostgresProductionStackConformanceTests {
    @Test("contract", .timeLimit(.minutes(15)), arguments: ContractCheck.allCases.filter { !expiryChecks.contains($0) })
    func contract(_ check: ContractCheck) async throws {
        try await PostgresFixture.defaultTable.withStore { store, environment in
            try await expectConformance(check, of: productionStack(over: store, system: "postgresql"), environment: environment)
        }
    }
}
