import Foundation
import Synchronization
import Testing
import Trove
import TroveConformance
import TroveTestSupport

/// The whole contract, every check against every fixture, each on a fresh store.
@Suite("Contract conformance")
struct ConformanceTests {
    @Test("contract", .timeLimit(.minutes(15)), arguments: StoreFixture.all, ContractCheck.allCases)
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

    /// A real-time attempt that ran late and failed is tried again in a fresh namespace: here the
    /// first listing stalls past the lifetime of an entry the check still expects live.
    @Test func aLateAttemptIsTriedAgain() async throws {
        let stalling = StallingStore(stall: .seconds(3))
        let environment = ConformanceEnvironment(realTimeExpiry: RealTimeExpiry(unit: .milliseconds(100), grace: .milliseconds(200)))
        #expect(try await ContractCheck.expiredEntriesAreInvisible.run(against: stalling, environment: environment) == .passed)
        #expect(stalling.stalls == 1)
        // The first attempt (which must fail: its 3 s stall outlives an entry it expects live)
        // wrote at the top level; the second ran in a namespace of its own, deleted afterwards.
        let names = try await allNames(stalling.base)
        #expect(names.contains("e/never"))
        #expect(!names.contains { $0.hasPrefix("trove-check-") })
    }

    /// An attempt that kept to its plan and failed is not tried again: a store that drops expiry
    /// fails at the first attempt, and the failure does not blame the machine.
    @Test func anOnTimeFailureIsFinal() async throws {
        let environment = ConformanceEnvironment(realTimeExpiry: RealTimeExpiry(unit: .milliseconds(100), grace: .milliseconds(200)))
        let store = BrokenStore(base: MemoryStore(), flaw: .dropsExpiry)
        let failure = await #expect(throws: ConformanceFailure.self) {
            try await ContractCheck.expiredEntriesAreInvisible.run(against: store, environment: environment)
        }
        #expect(failure?.message.contains("ran late") == false)
        // One attempt only: nothing was written under a retry's namespace.
        #expect(try await allNames(store.base).allSatisfy { !$0.hasPrefix("trove-check-") })
    }
}

/// Every key of `store`.
func allNames(_ store: MemoryStore) async throws -> [String] {
    var names: [String] = []
    for try await key in try store.keys() { names.append(key.rawValue) }
    return names
}

/// A memory store by the system clock whose first listing after a write stalls, as a starved
/// machine would.
final class StallingStore: KeyValueStore {
    let base = MemoryStore()
    private let stall: Duration
    /// Listings stalled so far, and whether anything was written yet.
    private let state = Mutex((stalls: 0, written: false))

    init(stall: Duration) { self.stall = stall }

    /// How many listings stalled.
    var stalls: Int { state.withLock { $0.stalls } }

    var description: String { "stalling memory" }
    var capabilities: StoreCapabilities { base.capabilities.subtracting(.passedOnOnlyByForwarding) }

    func read(_ key: StoreKey) async throws -> StoreEntry? { try await base.read(key) }
    func readStream(_ key: StoreKey, chunkSize: Int) async throws -> StreamedEntry? {
        try await base.readStream(key, chunkSize: chunkSize)
    }
    func metadata(for key: StoreKey) async throws -> EntryMetadata? { try await base.metadata(for: key) }
    func write(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        state.withLock { $0.written = true }
        return try await base.write(value, for: key, options: options)
    }
    func delete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool { try await base.delete(key, condition: condition) }
    func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
        let first = state.withLock { state -> Bool in
            guard state.written, state.stalls == 0 else { return false }
            state.stalls = 1
            return true
        }
        if first { try await Task.sleep(for: stall) }
        return try await base.listPage(query, after: cursor, limit: limit)
    }
    func reclaimExpired() async throws -> Int { try await base.reclaimExpired() }
}
