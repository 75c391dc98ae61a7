import Foundation
import Testing
import Trove

@Suite("ExpiringStore")
struct ExpiringStoreTests {
    /// The kind of base under the layer.
    enum BaseKind: String, CaseIterable, CustomStringConvertible, Sendable {
        /// A memory store with native expiry.
        case nativeExpiry
        /// A memory store whose expiry is hidden: the layer must keep envelopes.
        case noExpiry

        var description: String { rawValue }
    }

    /// An expiring store over a fresh memory store of `kind`, all on `clock`; also returns the
    /// memory store, to look beneath the layer.
    static func make(
        _ kind: BaseKind, lifetime: Duration? = nil, sliding: Bool = false, clock: ManualWallClock
    ) -> (store: any KeyValueStore, memory: MemoryStore) {
        let memory = MemoryStore(clock: clock.wallClock)
        switch kind {
        case .nativeExpiry:
            return (ExpiringStore(base: memory, defaultLifetime: lifetime, sliding: sliding, clock: clock.wallClock), memory)
        case .noExpiry:
            return (ExpiringStore(base: ExpiryHidingStore(base: memory), defaultLifetime: lifetime, sliding: sliding,
                                  clock: clock.wallClock), memory)
        }
    }

    static func bytes(_ text: String) -> Data { Data(text.utf8) }

    // MARK: Default and per-write expiry

    @Test(arguments: BaseKind.allCases)
    func defaultLifetimeAppliesToWritesWithoutExpiry(_ kind: BaseKind) async throws {
        let clock = ManualWallClock()
        let (store, _) = Self.make(kind, lifetime: .seconds(3600), clock: clock)
        let start = clock.now
        let written = try await store.set(Self.bytes("v"), for: "k")
        #expect(written.expirationDate == start.addingTimeInterval(3600))
        #expect(try await store.metadata(for: "k")?.expirationDate == start.addingTimeInterval(3600))
        clock.advance(by: .seconds(3599))
        #expect(try await store["k"] == Self.bytes("v"))
        clock.advance(by: .seconds(1))
        #expect(try await store["k"] == nil)
        #expect(try await store.count() == 0)
    }

    @Test(arguments: BaseKind.allCases)
    func perWriteExpiryOverridesTheDefault(_ kind: BaseKind) async throws {
        let clock = ManualWallClock()
        let (store, _) = Self.make(kind, lifetime: .seconds(3600), clock: clock)
        let start = clock.now
        try await store.set(Self.bytes("a"), for: "after", expiry: .after(.seconds(10)))
        try await store.set(Self.bytes("b"), for: "at", expiry: .at(start.addingTimeInterval(20)))
        try await store.set(Self.bytes("c"), for: "default")
        #expect(try await store.metadata(for: "at")?.expirationDate == start.addingTimeInterval(20))
        clock.advance(by: .seconds(11))
        #expect(try await store["after"] == nil)
        #expect(try await store["at"] == Self.bytes("b"))
        clock.advance(by: .seconds(10))
        #expect(try await store["at"] == nil)
        #expect(try await store["default"] == Self.bytes("c"))
        #expect(try await store.count() == 1)
    }

    @Test(arguments: BaseKind.allCases)
    func streamedWritesCarryTheirExpiry(_ kind: BaseKind) async throws {
        let clock = ManualWallClock()
        let (store, _) = Self.make(kind, clock: clock)
        let value = Data((0..<1000).map { UInt8($0 % 251) })
        let written = try await store.set(contentsOf: ValueChunks(chunksOf: value, chunkSize: 33), for: "k",
                                          expiry: .after(.seconds(10)))
        #expect(written.size == 1000)
        #expect(written.expirationDate == clock.now.addingTimeInterval(10))
        #expect(try await store["k"] == value)
        clock.advance(by: .seconds(10))
        #expect(try await store["k"] == nil)
    }

    @Test(arguments: BaseKind.allCases)
    func fixedModeReadsDoNotExtendLife(_ kind: BaseKind) async throws {
        let clock = ManualWallClock()
        let (store, _) = Self.make(kind, lifetime: .seconds(10), clock: clock)
        try await store.set(Self.bytes("v"), for: "k")
        clock.advance(by: .seconds(8))
        #expect(try await store["k"] == Self.bytes("v"))
        clock.advance(by: .seconds(3))
        #expect(try await store["k"] == nil)
    }

    // MARK: How expiry is kept

    @Test func delegatesToANativeBaseInFixedMode() async throws {
        let clock = ManualWallClock()
        let memory = MemoryStore(clock: clock.wallClock)
        let store = memory.expiring(after: .seconds(10), clock: clock.wallClock)
        #expect(store.delegatesExpiryToBase)
        let written = try await store.set(Self.bytes("plain"), for: "k")
        let beneath = try #require(try await memory.read("k"))
        #expect(beneath.value == Self.bytes("plain"))
        #expect(beneath.metadata.expirationDate == clock.now.addingTimeInterval(10))
        #expect(beneath.metadata.etag == written.etag)
    }

    @Test func keepsEnvelopesOverABaseWithoutExpiry() async throws {
        let clock = ManualWallClock()
        let memory = MemoryStore(clock: clock.wallClock)
        let hidden = ExpiryHidingStore(base: memory)
        let store = hidden.expiring(clock: clock.wallClock)
        #expect(!store.delegatesExpiryToBase)
        #expect(!hidden.capabilities.contains(.expiration))
        #expect(store.capabilities.contains(.expiration))
        let written = try await store.set(Self.bytes("hello"), for: "k", expiry: .after(.seconds(10)))
        #expect(written.size == 5)
        let beneath = try #require(try await memory.read("k"))
        #expect(beneath.value.count == 48 + 5)
        #expect(beneath.value.prefix(4) == Self.bytes("TVX1"))
        #expect(beneath.value.suffix(5) == Self.bytes("hello"))
        #expect(beneath.metadata.expirationDate == nil, "the hidden base was given no expiry")
        #expect(beneath.metadata.etag != written.etag, "the layer's ETag is its own version token")
        #expect(try await store.url(for: "k") == nil)
        let read = try #require(try await store.read("k"))
        #expect(read.value == Self.bytes("hello"))
        #expect(read.metadata == written)
    }

    @Test func slidingOverANativeBaseUsesEnvelopesAndGivesTheBaseTheDeadline() async throws {
        let clock = ManualWallClock()
        let memory = MemoryStore(clock: clock.wallClock)
        let store = memory.expiring(after: .seconds(10), sliding: true, clock: clock.wallClock)
        #expect(!store.delegatesExpiryToBase)
        try await store.set(Self.bytes("v"), for: "k")
        clock.advance(by: .seconds(5))
        let read = try #require(try await store.read("k"))
        let beneath = try #require(try await memory.metadata(for: "k"))
        #expect(beneath.size == 49)
        #expect(beneath.expirationDate == read.metadata.expirationDate)
        #expect(read.metadata.expirationDate == clock.now.addingTimeInterval(10))
    }

    @Test func aValueWithoutEnvelopeIsAnIntegrityError() async throws {
        let memory = MemoryStore()
        let store = ExpiryHidingStore(base: memory).expiring()
        try await memory.set(Self.bytes("written beneath the layer"), for: "raw")
        try await memory.set(Self.bytes("short"), for: "short")
        for key: StoreKey in ["raw", "short"] {
            let error = await #expect(throws: StoreError.self) { try await store.read(key) }
            #expect(error?.code == .integrity)
            #expect(error?.key == key)
            #expect(error?.store == store.description)
            let viaMetadata = await #expect(throws: StoreError.self) { try await store.metadata(for: key) }
            #expect(viaMetadata?.code == .integrity)
        }
    }

    // MARK: Invisible and reclaimed

    @Test func expiredEntriesArePurgedWhenReadOrListed() async throws {
        let clock = ManualWallClock()
        let (store, memory) = Self.make(.noExpiry, clock: clock)
        try await store.set(Self.bytes("v"), for: "read", expiry: .after(.seconds(10)))
        try await store.set(Self.bytes("v"), for: "listed", expiry: .after(.seconds(10)))
        try await store.set(Self.bytes("v"), for: "kept")
        clock.advance(by: .seconds(11))
        #expect(try await memory.count() == 3, "the base knows nothing of expiry")

        #expect(try await store.read("read") == nil)
        #expect(try await memory.read("read") == nil, "a read that finds an expired entry deletes it")
        var listed: [String] = []
        for try await key in try store.keys() { listed.append(key.rawValue) }
        #expect(listed == ["kept"])
        #expect(try await memory.read("listed") == nil, "a listing that finds an expired entry deletes it")
        #expect(try await store.reclaimExpired() == 0)
    }

    @Test func reclaimExpiredDeletesExactlyTheExpiredEntries() async throws {
        let clock = ManualWallClock()
        let (store, memory) = Self.make(.noExpiry, clock: clock)
        for index in 1...3 {
            try await store.set(Self.bytes("v"), for: StoreKey(validating: "old/\(index)"), expiry: .after(.seconds(10)))
        }
        try await store.set(Self.bytes("v"), for: "kept")
        try await store.set(Self.bytes("v"), for: "later", expiry: .after(.seconds(100)))
        #expect(try await store.reclaimExpired() == 0)
        clock.advance(by: .seconds(11))
        #expect(try await store.reclaimExpired() == 3)
        #expect(try await store.reclaimExpired() == 0)
        var left: [String] = []
        for try await key in try memory.keys() { left.append(key.rawValue) }
        #expect(left == ["kept", "later"])
    }

    @Test func listingsSkipExpiredEntriesAndEmptiedPrefixes() async throws {
        let clock = ManualWallClock()
        let (store, _) = Self.make(.noExpiry, clock: clock)
        for index in 1...4 {
            try await store.set(Self.bytes("v"), for: StoreKey(validating: "p/\(index)"), expiry: .after(.seconds(10)))
        }
        try await store.set(Self.bytes("v"), for: "p/5")
        try await store.set(Self.bytes("v"), for: "gone/only", expiry: .after(.seconds(10)))
        try await store.set(Self.bytes("v"), for: "stay/here")
        clock.advance(by: .seconds(11))

        let page = try await store.listPage(try ListQuery(prefix: "p/", includesMetadata: true), after: nil, limit: 1)
        #expect(page.elements.map(\.name) == ["p/5"], "a page is filled from further base pages past expired entries")
        #expect(page.elements.first?.metadata?.size == 1)
        var levels: [String] = []
        for try await element in store.list(try ListQuery(delimiter: "/")) { levels.append(element.name) }
        #expect(levels == ["p/", "stay/"])
    }

    @Test func deletingAnExpiredEntryReportsNothingDeleted() async throws {
        let clock = ManualWallClock()
        let (store, memory) = Self.make(.noExpiry, clock: clock)
        let written = try await store.set(Self.bytes("v"), for: "k", expiry: .after(.seconds(10)))
        clock.advance(by: .seconds(11))
        let error = await #expect(throws: StoreError.self) {
            try await store.delete("k", condition: .ifMatches(written.etag))
        }
        #expect(error?.code == .conditionFailed)
        #expect(try await store.delete("k") == false)
        #expect(try await memory.read("k") == nil)
    }

    // MARK: Sliding

    @Test(arguments: BaseKind.allCases)
    func eachReadPushesTheDeadline(_ kind: BaseKind) async throws {
        let clock = ManualWallClock()
        let (store, _) = Self.make(kind, lifetime: .seconds(10), sliding: true, clock: clock)
        let start = clock.now
        try await store.set(Self.bytes("v"), for: "k")
        clock.advance(by: .seconds(8))
        #expect(try await store.read("k")?.metadata.expirationDate == start.addingTimeInterval(18))
        clock.advance(by: .seconds(8))
        #expect(try await store.readStream("k", chunkSize: 1)?.metadata.expirationDate == start.addingTimeInterval(26))
        clock.advance(by: .seconds(9))
        #expect(try await store["k"] == Self.bytes("v"))
        clock.advance(by: .seconds(11))
        #expect(try await store["k"] == nil)
    }

    @Test(arguments: BaseKind.allCases)
    func metadataAndListingsDoNotPushTheDeadline(_ kind: BaseKind) async throws {
        let clock = ManualWallClock()
        let (store, _) = Self.make(kind, lifetime: .seconds(10), sliding: true, clock: clock)
        let start = clock.now
        try await store.set(Self.bytes("v"), for: "k")
        clock.advance(by: .seconds(8))
        #expect(try await store.metadata(for: "k")?.expirationDate == start.addingTimeInterval(10))
        #expect(try await store.contains("k"))
        #expect(try await store.count() == 1)
        clock.advance(by: .seconds(3))
        #expect(try await store["k"] == nil)
    }

    @Test(arguments: BaseKind.allCases)
    func aFixedDateDoesNotSlide(_ kind: BaseKind) async throws {
        let clock = ManualWallClock()
        let (store, _) = Self.make(kind, lifetime: .seconds(10), sliding: true, clock: clock)
        let deadline = clock.now.addingTimeInterval(10)
        try await store.set(Self.bytes("v"), for: "k", expiry: .at(deadline))
        clock.advance(by: .seconds(8))
        #expect(try await store.read("k")?.metadata.expirationDate == deadline)
        clock.advance(by: .seconds(3))
        #expect(try await store["k"] == nil)
    }

    @Test(arguments: BaseKind.allCases)
    func aRefreshKeepsTheETagSoReadThenIfMatchesWorks(_ kind: BaseKind) async throws {
        let clock = ManualWallClock()
        let (store, memory) = Self.make(kind, lifetime: .seconds(10), sliding: true, clock: clock)
        let written = try await store.set(Self.bytes("v1"), for: "k")
        let storedBefore = try #require(try await memory.metadata(for: "k")).etag
        clock.advance(by: .seconds(1))
        let first = try #require(try await store.read("k"))
        clock.advance(by: .seconds(1))
        let second = try #require(try await store.read("k"))
        let storedAfter = try #require(try await memory.metadata(for: "k")).etag
        #expect(storedAfter != storedBefore, "each refresh rewrote the entry beneath")
        #expect(first.metadata.etag == written.etag)
        #expect(second.metadata.etag == written.etag)
        #expect(second.metadata.modificationDate == written.modificationDate, "a refresh is not a write of the value")

        // The ETag of the first read is still good after the second read refreshed the entry.
        let updated = try await store.set(Self.bytes("v2"), for: "k", condition: .ifMatches(first.metadata.etag))
        #expect(updated.etag != written.etag)
        let stale = await #expect(throws: StoreError.self) {
            try await store.set(Self.bytes("v3"), for: "k", condition: .ifMatches(first.metadata.etag))
        }
        #expect(stale?.code == .conditionFailed)
        #expect(stale?.key == "k")
        #expect(stale?.store == store.description)
        #expect(try await store["k"] == Self.bytes("v2"))
    }

    @Test func aStreamedReadRefreshesAndStreamsTheValue() async throws {
        let clock = ManualWallClock()
        let (store, _) = Self.make(.noExpiry, lifetime: .seconds(10), sliding: true, clock: clock)
        let value = Data((0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        let written = try await store.set(value, for: "k")
        clock.advance(by: .seconds(8))
        let stream = try #require(try await store.readStream("k", chunkSize: 7))
        #expect(stream.metadata.etag == written.etag)
        #expect(stream.metadata.size == 1000)
        #expect(stream.metadata.expirationDate == clock.now.addingTimeInterval(10))
        var collected = Data()
        for try await chunk in stream.chunks {
            #expect(chunk.count <= 7)
            collected.append(chunk)
        }
        #expect(collected == value)
        clock.advance(by: .seconds(8))
        #expect(try await store["k"] == value)
    }

    @Test func concurrentRefreshesNeverFailAConditionalWrite() async throws {
        let clock = ManualWallClock()
        let (store, _) = Self.make(.noExpiry, lifetime: .seconds(3600), sliding: true, clock: clock)
        try await store.set(Self.bytes("0"), for: "counter")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    for _ in 0..<50 {
                        clock.advance(by: .milliseconds(1))
                        _ = try await store.read("counter")
                    }
                }
            }
            // The only writer: with readers refreshing the entry all the while, its
            // read-then-ifMatches round trips must never fail.
            group.addTask {
                for _ in 0..<50 {
                    let current = try #require(try await store.read("counter"))
                    let count = Int(String(decoding: current.value, as: UTF8.self)) ?? -1000
                    try await store.set(Self.bytes(String(count + 1)), for: "counter", condition: .ifMatches(current.metadata.etag))
                }
            }
            try await group.waitForAll()
        }
        #expect(try await store["counter"] == Self.bytes("50"))
    }

    // MARK: Conditions

    @Test(arguments: BaseKind.allCases)
    func conditionsAreJudgedInTheLayersTerms(_ kind: BaseKind) async throws {
        let clock = ManualWallClock()
        let (store, _) = Self.make(kind, lifetime: .seconds(60), clock: clock)
        let first = try await store.set(Self.bytes("a"), for: "k", condition: .ifAbsent)
        let taken = await #expect(throws: StoreError.self) {
            try await store.set(Self.bytes("b"), for: "k", condition: .ifAbsent)
        }
        #expect(taken?.code == .conditionFailed)
        let read = try #require(try await store.read("k"))
        let second = try await store.set(Self.bytes("b"), for: "k", condition: .ifMatches(read.metadata.etag))
        let staleDelete = await #expect(throws: StoreError.self) {
            try await store.delete("k", condition: .ifMatches(first.etag))
        }
        #expect(staleDelete?.code == .conditionFailed)
        #expect(try await store.delete("k", condition: .ifMatches(second.etag)))
        #expect(try await store["k"] == nil)
    }

    @Test func ifAbsentReplacesAnExpiredEntryNotYetPurged() async throws {
        let clock = ManualWallClock()
        let (store, memory) = Self.make(.noExpiry, clock: clock)
        try await store.set(Self.bytes("old"), for: "k", expiry: .after(.seconds(10)))
        clock.advance(by: .seconds(11))
        #expect(try await memory.read("k") != nil)
        try await store.set(Self.bytes("new"), for: "k", condition: .ifAbsent)
        #expect(try await store["k"] == Self.bytes("new"))
        try await store.set(Self.bytes("streamed"), for: "s", expiry: .after(.seconds(1)))
        clock.advance(by: .seconds(2))
        try await store.set(contentsOf: ValueChunks(chunksOf: Self.bytes("streamed again"), chunkSize: 4), for: "s", condition: .ifAbsent)
        #expect(try await store["s"] == Self.bytes("streamed again"))
    }

    // MARK: Bases lacking conditions

    @Test func withoutConditionalWritesBelowSlidingAndConditionsAreRefused() async throws {
        let clock = ManualWallClock()
        let refusing = RefusingStore(base: MemoryStore(clock: clock.wallClock))
        let sliding = refusing.expiring(after: .seconds(10), sliding: true, clock: clock.wallClock)
        let error = await #expect(throws: StoreError.self) { try await sliding.set(Self.bytes("v"), for: "k") }
        #expect(error?.code == .notSupported)
        #expect(error?.store == sliding.description)
        #expect(try await refusing.read("k") == nil)

        let fixed = refusing.expiring(clock: clock.wallClock)
        try await fixed.set(Self.bytes("v"), for: "k", expiry: .after(.seconds(10)))
        #expect(try await fixed["k"] == Self.bytes("v"))
        let conditional = await #expect(throws: StoreError.self) {
            try await fixed.set(Self.bytes("w"), for: "k", condition: .ifAbsent)
        }
        #expect(conditional?.code == .notSupported)
        clock.advance(by: .seconds(11))
        #expect(try await fixed["k"] == nil)
        let reclaim = await #expect(throws: StoreError.self) { try await fixed.reclaimExpired() }
        #expect(reclaim?.code == .notSupported)
    }

    @Test func theDescriptionNamesTheMode() {
        let store = MemoryStore().expiring(after: .seconds(60), sliding: true)
        #expect(store.description.hasPrefix("memory expiring("))
        #expect(store.description.contains("sliding"))
        #expect(store.defaultLifetime == .seconds(60))
        #expect(store.isSliding)
        #expect(MemoryStore().expiring().description == "memory expiring")
    }
}
