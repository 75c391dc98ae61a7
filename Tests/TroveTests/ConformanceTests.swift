import Foundation
import Testing
import Trove
import TroveConformance
import TroveTestSupport

/// The whole contract, every check against every fixture, each on a fresh store.
@Suite("Contract conformance")
struct ConformanceTests {
    @Test("contract", .timeLimit(.minutes(5)), arguments: StoreFixture.all, ContractCheck.allCases)
    func contract(_ fixture: ConformanceFixture, _ check: ContractCheck) async throws {
        try await fixture.expectConformance(to: check)
    }

    /// The checks that do not apply to a store say so, with a reason, instead of passing.
    @Test func inapplicableChecksAreSkippedWithAReason() async throws {
        var skipped: [String: String] = [:]
        for check in ContractCheck.allCases {
            let clock = ManualWallClock()
            let outcome = try await check.run(against: MemoryStore(clock: clock.wallClock),
                                              environment: ConformanceEnvironment(clock: clock, largeValueSize: 1 << 20))
            if case .skipped(let reason) = outcome { skipped[check.name] = reason }
        }
        #expect(Set(skipped.keys) == ["valueSizeLimit", "sharedAcrossInstances"])
        #expect(skipped["valueSizeLimit"]?.contains("maximumValueSize") == true)
        #expect(skipped["sharedAcrossInstances"]?.contains("neither persistent nor shared") == true)
    }

    /// With isolation, a check runs in a namespace of its own on a store that already holds
    /// data, and leaves nothing behind, whether it passes or fails.
    @Test func isolatedChecksShareAStoreAndCleanUp() async throws {
        let clock = ManualWallClock()
        let shared = MemoryStore(clock: clock.wallClock)
        try await shared.set(Data("someone else's".utf8), for: "other/app")
        let environment = ConformanceEnvironment(clock: clock, largeValueSize: 1 << 20, isolatesEachCheck: true)
        for check in [ContractCheck.listingOrder, .batches, .validKeysRoundTrip, .expiredEntriesAreInvisible] {
            #expect(try await check.run(against: shared, environment: environment) == .passed)
        }
        #expect(try await shared.keys().reduce(into: []) { $0.append($1) } == ["other/app"])

        let broken = BrokenStore(base: MemoryStore(clock: clock.wallClock), flaw: .reversesListing)
        try await broken.set(Data("kept".utf8), for: "other/app")
        await #expect(throws: ConformanceFailure.self) {
            try await ContractCheck.listingOrder.run(against: broken, environment: environment)
        }
        #expect(try await broken.count() == 1)
    }

    /// Without a clock or real-time expiry, a store with expiration cannot be checked, and the
    /// check says so instead of passing.
    @Test func expiryChecksNeedAWayToLetTimePass() async throws {
        await #expect(throws: ConformanceFailure.self) {
            try await ContractCheck.expiredEntriesAreInvisible.run(against: MemoryStore(), environment: ConformanceEnvironment())
        }
    }

    @Test func checkNamesAreUnique() {
        let names = ContractCheck.allCases.map(\.name)
        #expect(Set(names).count == names.count)
        #expect(ContractCheck.named("writeIfAbsent") == .writeIfAbsent)
        #expect(ContractCheck.named("no such check") == nil)
    }
}

/// The expiry checks in real time, for stores whose clock is a server's: they sleep, so a
/// starved thread pool can make them late, and `scripts/test` runs this suite on its own,
/// after the others (`swift test --filter RealTimeExpiryTests`).
@Suite("Real-time expiry")
struct RealTimeExpiryTests {
    /// For a store whose clock the checks cannot move (as a server's), the expiry checks wait
    /// out short real lifetimes instead; here on a memory store that reads the system clock,
    /// in a namespace of a store that holds other data.
    @Test(arguments: [ContractCheck.expiredEntriesAreInvisible, .writesOverExpiredEntries, .reclaimExpired, .expiryRefreshOnRead])
    func expiryChecksRunInRealTime(_ check: ContractCheck) async throws {
        let store = MemoryStore()
        try await store.set(Data("other".utf8), for: "other/app")
        let environment = ConformanceEnvironment(realTimeExpiry: RealTimeExpiry(unit: .milliseconds(250), grace: .milliseconds(250)),
                                                 isolatesEachCheck: true)
        #expect(try await check.run(against: store, environment: environment) == .passed)
        #expect(try await store.count() == 1)
    }

}
