import Foundation
import Testing
import Trove
import TroveConformance
import TroveTestSupport

/// A memory store that claims none of the optional capabilities (conditions, expiry, creation
/// dates) and refuses those options with `notSupported`, as the contract asks of a backend that
/// cannot honour them.
struct RefusingStore: KeyValueStore {
    /// The capabilities it does without.
    static let withheld: StoreCapabilities = [.conditionalWrites, .conditionalDeletes, .expiration, .creationDate]

    let base: MemoryStore
    /// When `true`, the store withholds the capabilities but honours the options anyway instead
    /// of refusing them: a store that silently does something it does not claim.
    var honoursInsteadOfRefusing = false

    var description: String { "memory without optional capabilities" }
    var capabilities: StoreCapabilities { base.capabilities.subtracting(Self.withheld).subtracting(.passedOnOnlyByForwarding) }

    private func refusal(_ what: String, _ operation: StoreOperation, _ key: StoreKey) -> StoreError {
        StoreError(.notSupported, operation: operation, key: key, store: description, message: "\(what) is not supported")
    }

    private func withoutCreation(_ metadata: EntryMetadata) -> EntryMetadata {
        var copy = metadata
        copy.creationDate = nil
        return copy
    }

    func read(_ key: StoreKey) async throws -> StoreEntry? {
        guard var entry = try await base.read(key) else { return nil }
        entry.metadata = withoutCreation(entry.metadata)
        return entry
    }

    func metadata(for key: StoreKey) async throws -> EntryMetadata? {
        try await base.metadata(for: key).map(withoutCreation)
    }

    func write(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        if !honoursInsteadOfRefusing {
            if !options.condition.isAlways { throw refusal("condition \(options.condition)", .write, key) }
            if !options.expiry.isNever { throw refusal("expiry", .write, key) }
        }
        return withoutCreation(try await base.write(value, for: key, options: options))
    }

    func delete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool {
        if !honoursInsteadOfRefusing, condition.expectedETag != nil { throw refusal("condition \(condition)", .delete, key) }
        return try await base.delete(key, condition: condition)
    }

    func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
        var page = try await base.listPage(query, after: cursor, limit: limit)
        page.elements = page.elements.map { element in
            guard case .entry(let key, let metadata) = element else { return element }
            return .entry(key, metadata.map(withoutCreation))
        }
        return page
    }

    func reclaimExpired() async throws -> Int { try await base.reclaimExpired() }
}

/// The checks of optional capabilities pass on a store that refuses what it does not claim,
/// and fail on one that accepts it silently.
@Suite("Stores without optional capabilities")
struct OptionalCapabilitiesTests {
    @Test(arguments: ContractCheck.allCases)
    func refusingStorePasses(_ check: ContractCheck) async throws {
        let clock = ManualWallClock()
        let store = RefusingStore(base: MemoryStore(clock: clock.wallClock))
        try await expectConformance(check, of: store, environment: ConformanceEnvironment(clock: clock, largeValueSize: 4 << 20))
    }

    // `update` checks the capability itself, so the update checks pass whatever the store does.
    @Test(arguments: [
        ContractCheck.writeIfAbsent, .writeIfMatches, .conditionalDelete, .concurrentCreateIfAbsent,
        .expiredEntriesAreInvisible, .writesOverExpiredEntries, .reclaimExpired,
    ])
    func storeHonouringUnclaimedOptionsFails(_ check: ContractCheck) async throws {
        let clock = ManualWallClock()
        let store = RefusingStore(base: MemoryStore(clock: clock.wallClock), honoursInsteadOfRefusing: true)
        let failure = await #expect(throws: ConformanceFailure.self) {
            try await check.run(against: store, environment: ConformanceEnvironment(clock: clock))
        }
        #expect(failure?.expected.contains("notSupported") == true)
    }
}
