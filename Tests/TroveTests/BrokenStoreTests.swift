import Foundation
import Testing
import Trove
import TroveConformance

/// Proof that the checks can fail: each flaw is caught by the check for the clause it breaks,
/// while the same check passes on the store without the flaw.
@Suite("Conformance checks catch broken stores")
struct BrokenStoreTests {
    /// Each flaw with a check that must catch it.
    static let flawTable: [(BrokenStore.Flaw, ContractCheck)] = [
        (.reversesListing, .listingOrder),
        (.reversesListing, .paging),
        (.ignoresIfAbsent, .writeIfAbsent),
        (.ignoresIfAbsent, .concurrentCreateIfAbsent),
        (.ignoresIfMatches, .writeIfMatches),
        (.ignoresDeleteCondition, .conditionalDelete),
        (.skipsIdenticalWrites, .etagChangesOnEveryWrite),
        (.dropsExpiry, .expiredEntriesAreInvisible),
        (.dropsExpiry, .writesOverExpiredEntries),
        (.ignoresExpiryInsteadOfRefusing, .expiredEntriesAreInvisible),
        (.ignoresExpiryInsteadOfRefusing, .reclaimExpired),
        (.ignoresPageLimit, .paging),
        (.ignoresPageLimit, .earlyStop),
        (.listsEverythingInOnePage, .smallPages),
        (.ignoresDelimiter, .delimiterListing),
        (.ignoresListingPrefix, .subStoreView),
        (.ignoresListingPrefix, .countAndIsEmpty),
        (.ignoresListingPrefix, .randomKey),
        (.deletesChildrenWithParent, .keyAndPrefixCoexist),
        (.losesCreationDate, .metadataIsAccurate),
        (.datesGoBackwards, .oldestAndNewestKeys),
        (.reclaimsSilently, .reclaimExpired),
        (.foldsCase, .validKeysRoundTrip),
        (.refusesLongKeys, .keyLengthLimit),
        (.throwsForMissingKeys, .missingKeyReadsNil),
        (.dropsEmptyValues, .emptyValue),
        (.keepsStaleTail, .overwriteReplacesValue),
        (.mangles8BitBytes, .binaryValues),
        (.mangles8BitBytes, .largeStreamedValue),
        (.writesStreamsInPlace, .streamedWriteAtomicity),
        (.deleteReportsNothing, .containsAndDiscard),
    ]

    @Test(arguments: flawTable)
    func checkCatchesFlaw(_ flaw: BrokenStore.Flaw, _ check: ContractCheck) async throws {
        let clock = ManualWallClock()
        let environment = ConformanceEnvironment(clock: clock, largeValueSize: 4 << 20)
        let broken = BrokenStore(base: MemoryStore(clock: clock.wallClock), flaw: flaw)
        let failure = await #expect(throws: ConformanceFailure.self, "\(check) must fail on a store that \(flaw)") {
            try await check.run(against: broken, environment: environment)
        }
        #expect(failure?.check == check.name)

        // The same check passes on the same store without the flaw.
        let sound = ManualWallClock()
        try await check.run(against: MemoryStore(clock: sound.wallClock),
                            environment: ConformanceEnvironment(clock: sound, largeValueSize: 4 << 20))
    }

    @Test func everyFlawIsExercised() {
        // `claimsSharing` needs a second instance and has a test of its own below.
        let exercised = Set(Self.flawTable.map(\.0)).union([.claimsSharing])
        #expect(exercised == Set(BrokenStore.Flaw.allCases),
                "flaws no check is run against: \(Set(BrokenStore.Flaw.allCases).subtracting(exercised))")
    }

    @Test func sharingCheckCatchesInstancesThatDoNotShare() async throws {
        let clock = ManualWallClock()
        let broken = BrokenStore(base: MemoryStore(clock: clock.wallClock), flaw: .claimsSharing)
        let environment = ConformanceEnvironment(clock: clock, reopen: {
            BrokenStore(base: MemoryStore(clock: clock.wallClock), flaw: .claimsSharing)
        })
        let failure = await #expect(throws: ConformanceFailure.self) {
            try await ContractCheck.sharedAcrossInstances.run(against: broken, environment: environment)
        }
        #expect(failure?.message.contains("second instance") == true)

        let withoutReopen = await #expect(throws: ConformanceFailure.self) {
            try await ContractCheck.sharedAcrossInstances.run(
                against: BrokenStore(base: MemoryStore(clock: clock.wallClock), flaw: .claimsSharing),
                environment: ConformanceEnvironment(clock: clock))
        }
        #expect(withoutReopen?.message.contains("reopen") == true)
    }

    @Test func storeThatIsNotEmptyIsRefused() async throws {
        let store = MemoryStore()
        try await store.set(Data("left over".utf8), for: "leftover")
        let failure = await #expect(throws: ConformanceFailure.self) {
            try await ContractCheck.emptyValue.run(against: store)
        }
        #expect(failure?.message.contains("empty") == true)
    }

    @Test func expiryChecksNeedTheClock() async throws {
        let failure = await #expect(throws: ConformanceFailure.self) {
            try await ContractCheck.expiredEntriesAreInvisible.run(against: MemoryStore(), environment: ConformanceEnvironment())
        }
        #expect(failure?.message.contains("clock") == true)
    }

    @Test func failureDescribesCheckKeyAndValues() {
        let failure = ConformanceFailure(check: "writeIfAbsent", key: "line\nbreak", expected: "one", got: "two", message: "broken")
        #expect(failure.description == "writeIfAbsent: broken [key 'line\\u{A}break']\n  expected: one\n  got:      two")
        #expect(failure.debugDescription.contains("BrokenStoreTests.swift"))
    }
}
