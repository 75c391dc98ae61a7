import Foundation
import Synchronization
import Testing
import Trove

@Suite("WriteOnceStore")
struct WriteOnceStoreTests {
    static func bytes(_ text: String) -> Data { Data(text.utf8) }

    // MARK: Re-puts

    @Test func anIdenticalRePutIsIgnored() async throws {
        let base = MemoryStore()
        let store = base.writeOnce()
        let first = try await store.set(Self.bytes("v"), for: "k")
        let again = try await store.set(Self.bytes("v"), for: "k")
        #expect(again == first, "an ignored re-put returns the stored entry's metadata")
        #expect(try await base.metadata(for: "k") == first, "nothing was written again")
    }

    @Test func differentBytesAreRefused() async throws {
        let store = MemoryStore().writeOnce()
        let first = try await store.set(Self.bytes("v"), for: "k")
        let error = await #expect(throws: StoreError.self) { try await store.set(Self.bytes("w"), for: "k") }
        #expect(error?.code == .alreadyExists)
        #expect(error?.key == "k")
        #expect(error?.store == store.description)
        let streamed = await #expect(throws: StoreError.self) {
            try await store.set(contentsOf: ValueChunks(chunksOf: Self.bytes("w"), chunkSize: 1), for: "k")
        }
        #expect(streamed?.code == .alreadyExists)
        #expect(try await store.metadata(for: "k") == first)
        #expect(try await store["k"] == Self.bytes("v"))
    }

    @Test func withoutChecksARePutIsSkippedUnread() async throws {
        let base = ReadCountingStore(base: MemoryStore())
        let store = base.writeOnce(consistencyCheckProbability: 0)
        let first = try await store.set(Self.bytes("v"), for: "k")
        #expect(try await store.set(Self.bytes("different"), for: "k") == first)
        let pulled = PolicyTestCounter()
        let source = PolicyTestChunks(chunks: [Self.bytes("also"), Self.bytes("different")], pulled: pulled)
        #expect(try await store.set(contentsOf: source, for: "k") == first)
        #expect(pulled.value == 0, "the skipped streamed re-put read nothing from its source")
        #expect(base.valueReads.value == 0, "no stored value was read")
        #expect(try await base.base["k"] == Self.bytes("v"))
    }

    @Test func checksHappenWithTheirProbability() async throws {
        let base = ReadCountingStore(base: MemoryStore())
        let draws = ScriptedRandom([0.7, 0.2, 0.5, 0.49])
        let store = WriteOnceStore(base: base, consistencyCheckProbability: 0.5, randomSource: { draws.next() })
        let first = try await store.set(Self.bytes("v"), for: "k")
        #expect(draws.used == 0, "a first write draws nothing")
        #expect(try await store.set(Self.bytes("w"), for: "k") == first, "0.7 ≥ 0.5: no check")
        #expect(base.valueReads.value == 0)
        let checked = await #expect(throws: StoreError.self) { try await store.set(Self.bytes("w"), for: "k") }
        #expect(checked?.code == .alreadyExists, "0.2 < 0.5: checked")
        #expect(base.valueReads.value == 1)
        #expect(try await store.set(Self.bytes("w"), for: "k") == first, "0.5 ≥ 0.5: no check")
        #expect(try await store.set(Self.bytes("v"), for: "k") == first, "0.49 < 0.5: checked, the same bytes")
        #expect(base.valueReads.value == 2)
        #expect(draws.used == 4)
    }

    @Test(arguments: [-1.0, 0.0, 1.0, 2.0, .nan])
    func theProbabilityIsClamped(_ probability: Double) {
        let store = MemoryStore().writeOnce(consistencyCheckProbability: probability)
        let expected: Double = probability.isNaN ? 1 : min(1, max(0, probability))
        #expect(store.consistencyCheckProbability == expected)
    }

    // MARK: Races

    @Test func exactlyOneOfRacingWritersWins() async throws {
        let store = MemoryStore().writeOnce()
        for round in 0..<10 {
            let key = try StoreKey(validating: "race/\(round)")
            let outcomes = try await withThrowingTaskGroup(of: (Int, StoreError.Code?).self) { group in
                for racer in 0..<8 {
                    group.addTask {
                        do {
                            try await store.set(Self.bytes("racer \(racer)"), for: key)
                            return (racer, nil)
                        } catch let error as StoreError {
                            return (racer, error.code)
                        }
                    }
                }
                var outcomes: [(Int, StoreError.Code?)] = []
                for try await outcome in group { outcomes.append(outcome) }
                return outcomes
            }
            let winners = outcomes.filter { $0.1 == nil }.map(\.0)
            #expect(winners.count == 1)
            #expect(outcomes.filter { $0.1 == .alreadyExists }.count == 7)
            if let winner = winners.first { #expect(try await store[key] == Self.bytes("racer \(winner)")) }
        }
    }

    @Test func racingWritersOfTheSameBytesAllSucceedWithOneVersion() async throws {
        let store = MemoryStore().writeOnce()
        let etags = try await withThrowingTaskGroup(of: ETag.self) { group in
            for _ in 0..<8 {
                group.addTask { try await store.set(Self.bytes("same"), for: "k").etag }
            }
            var etags: Set<ETag> = []
            for try await etag in group { etags.insert(etag) }
            return etags
        }
        #expect(etags.count == 1)
        #expect(try await store.metadata(for: "k")?.etag == etags.first)
    }

    // MARK: Conditions, deletes, expiry

    @Test func explicitConditionsKeepTheirMeaning() async throws {
        let store = MemoryStore().writeOnce()
        let first = try await store.set(Self.bytes("v"), for: "k", condition: .ifAbsent)
        let absent = await #expect(throws: StoreError.self) {
            try await store.set(Self.bytes("v"), for: "k", condition: .ifAbsent)
        }
        #expect(absent?.code == .conditionFailed, "an explicit ifAbsent fails even for the same bytes")
        #expect(try await store.set(Self.bytes("v"), for: "k", condition: .ifMatches(first.etag)) == first)
        let changed = await #expect(throws: StoreError.self) {
            try await store.set(Self.bytes("w"), for: "k", condition: .ifMatches(first.etag))
        }
        #expect(changed?.code == .alreadyExists)
        let stale = await #expect(throws: StoreError.self) {
            try await store.set(Self.bytes("v"), for: "k", condition: .ifMatches(ETag("made-up")))
        }
        #expect(stale?.code == .conditionFailed)
        let missing = await #expect(throws: StoreError.self) {
            try await store.set(Self.bytes("v"), for: "other", condition: .ifMatches(first.etag))
        }
        #expect(missing?.code == .conditionFailed)
        #expect(try await store.read("other") == nil)
        let streamedChange = await #expect(throws: StoreError.self) {
            try await store.set(contentsOf: ValueChunks(chunksOf: Self.bytes("w"), chunkSize: 1), for: "k",
                                condition: .ifMatches(first.etag))
        }
        #expect(streamedChange?.code == .alreadyExists)
    }

    @Test func aDeletedKeyCanBeWrittenAgain() async throws {
        let store = MemoryStore().writeOnce()
        try await store.set(Self.bytes("v"), for: "k")
        #expect(try await store.delete("k"))
        try await store.set(Self.bytes("w"), for: "k")
        #expect(try await store["k"] == Self.bytes("w"))
    }

    @Test func anExpiredKeyCanBeWrittenAgain() async throws {
        let clock = ManualWallClock()
        let store = MemoryStore(clock: clock.wallClock).writeOnce()
        try await store.set(Self.bytes("v"), for: "k", expiry: .after(.seconds(10)))
        clock.advance(by: .seconds(11))
        try await store.set(Self.bytes("w"), for: "k")
        #expect(try await store["k"] == Self.bytes("w"))
    }

    @Test func appendOnlyRefusesDeletesAndExpiry() async throws {
        let base = MemoryStore()
        let store = base.writeOnce(appendOnly: true)
        #expect(store.isAppendOnly)
        #expect(store.description.hasSuffix("append-only"))
        #expect(store.capabilities == base.capabilities.subtracting([.conditionalDeletes, .expiration, .expiryRefreshOnRead, .atomicBatches]))
        let first = try await store.set(Self.bytes("v"), for: "k")
        let deletes: [(String, @Sendable () async throws -> Void)] = [
            ("delete", { try await store.delete("k") }),
            ("delete of a missing key", { try await store.delete("missing") }),
            ("conditional delete", { _ = try await store.delete("k", condition: .ifMatches(first.etag)) }),
            ("discard", { try await store.discard("k") }),
        ]
        for (what, attempt) in deletes {
            let error = await #expect(throws: StoreError.self, "\(what)") { try await attempt() }
            #expect(error?.code == .readOnly, "\(what)")
            #expect(error?.store == store.description, "\(what)")
        }
        let expiring = await #expect(throws: StoreError.self) {
            try await store.set(Self.bytes("x"), for: "new", expiry: .after(.seconds(10)))
        }
        #expect(expiring?.code == .notSupported)
        let streamedExpiring = await #expect(throws: StoreError.self) {
            try await store.set(contentsOf: ValueChunks(chunksOf: Self.bytes("x"), chunkSize: 1), for: "new", expiry: .after(.seconds(10)))
        }
        #expect(streamedExpiring?.code == .notSupported)
        try await store.set(Self.bytes("x"), for: "new")
        #expect(try await base.count() == 2)
        #expect(try await base.metadata(for: "k") == first)
    }

    // MARK: Streaming

    @Test func streamedRePutsAreComparedAsTheyStream() async throws {
        let store = MemoryStore().writeOnce()
        let value = Data((0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let first = try await store.set(contentsOf: ValueChunks(chunksOf: value, chunkSize: 4096), for: "k")
        #expect(try await store["k"] == value)
        #expect(try await store.set(contentsOf: ValueChunks(chunksOf: value, chunkSize: 333), for: "k") == first)

        var changed = value
        changed[9_999] ^= 1
        for (what, other) in [("a changed last byte", changed), ("a shorter value", value.prefix(9_999)),
                              ("a longer value", value + Data([0]))] {
            let error = await #expect(throws: StoreError.self, "\(what)") {
                try await store.set(contentsOf: ValueChunks(chunksOf: Data(other), chunkSize: 1000), for: "k")
            }
            #expect(error?.code == .alreadyExists, "\(what)")
        }

        // A much longer value is not read past the stored size.
        let pulled = PolicyTestCounter()
        let long = PolicyTestChunks(chunks: Array(repeating: Data(repeating: 0, count: 1000), count: 100), pulled: pulled)
        let error = await #expect(throws: StoreError.self) { try await store.set(contentsOf: long, for: "k") }
        #expect(error?.code == .alreadyExists)
        #expect(pulled.value == 1, "the first chunk already differs")
        let same = PolicyTestChunks(chunks: [value, Data(repeating: 0, count: 1000), Data([1])], pulled: pulled)
        let longer = await #expect(throws: StoreError.self) { try await store.set(contentsOf: same, for: "k") }
        #expect(longer?.code == .alreadyExists)
        #expect(pulled.value == 3, "reading stopped at the chunk that went past the stored size")
        #expect(try await store.metadata(for: "k") == first)
    }

    @Test func withoutConditionalWritesEveryWriteIsRefused() async throws {
        let store = RefusingStore(base: MemoryStore()).writeOnce()
        let error = await #expect(throws: StoreError.self) { try await store.set(Self.bytes("v"), for: "k") }
        #expect(error?.code == .notSupported)
        #expect(error?.store == store.description)
    }
}

/// A memory store that counts the reads of values (whole or streamed).
private struct ReadCountingStore: KeyValueStore {
    let base: MemoryStore
    let valueReads = PolicyTestCounter()

    var description: String { "counting \(base.description)" }
    var capabilities: StoreCapabilities { base.capabilities.subtracting(.passedOnOnlyByForwarding) }
    func read(_ key: StoreKey) async throws -> StoreEntry? {
        valueReads.increment()
        return try await base.read(key)
    }
    func readStream(_ key: StoreKey, chunkSize: Int) async throws -> StreamedEntry? {
        valueReads.increment()
        return try await base.readStream(key, chunkSize: chunkSize)
    }
    func metadata(for key: StoreKey) async throws -> EntryMetadata? { try await base.metadata(for: key) }
    func write(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        try await base.write(value, for: key, options: options)
    }
    func write<Chunks: AsyncSequence & Sendable>(
        contentsOf chunks: Chunks, for key: StoreKey, options: WriteOptions
    ) async throws -> EntryMetadata where Chunks.Element == Data {
        try await base.write(contentsOf: chunks, for: key, options: options)
    }
    func delete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool { try await base.delete(key, condition: condition) }
    func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
        try await base.listPage(query, after: cursor, limit: limit)
    }
    func list(_ query: ListQuery, pageSize: Int) -> StoreListing { base.list(query, pageSize: pageSize) }
    func url(for key: StoreKey, validFor lifetime: Duration) async throws -> URL? { try await base.url(for: key, validFor: lifetime) }
    func reclaimExpired() async throws -> Int { try await base.reclaimExpired() }
}

/// Random numbers from a script, then 0.
private final class ScriptedRandom: Sendable {
    private let state: Mutex<(values: [Double], used: Int)>
    init(_ values: [Double]) { state = Mutex((values, 0)) }
    var used: Int { state.withLock { $0.used } }
    func next() -> Double {
        state.withLock { state in
            guard state.used < state.values.count else { return 0 }
            defer { state.used += 1 }
            return state.values[state.used]
        }
    }
}
