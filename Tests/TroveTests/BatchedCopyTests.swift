import Foundation
import Synchronization
import Testing
import Trove
import TroveSQLite
import TroveTestSupport

/// `copy(to:)` moves small values in batches (one `readBatch` and one `writeBatch` for up to
/// 100 of them) and large ones alone, streamed; an entry a batch did not write is written again
/// on its own, so each ends as it would have alone.
@Suite("copy in batches")
struct BatchedCopyTests {
    @Test("250 small values go in 3 batches, a large one streams alone, and every value arrives")
    func smallValuesGoInBatches() async throws {
        let source = MemoryStore()
        for index in 0..<250 {
            try await source.set(patternedBytes(100 + index, seed: UInt64(index)), for: StoreKey(validating: "small/\(index)"))
        }
        let large = patternedBytes((64 << 10) + 1, seed: 99)
        try await source.set(large, for: "large")
        let destination = CallRecordingStore(base: MemoryStore())

        let report = try await source.copy(to: destination, concurrency: 2)
        #expect(report.copied == 251 && report.skipped == 0)
        let calls = destination.calls
        #expect(calls.batchSizes.sorted() == [50, 100, 100], "\(calls.batchSizes)")
        #expect(calls.streamedWrites == ["large"])
        #expect(calls.singleWrites.isEmpty)
        for index in 0..<250 {
            #expect(try await destination.base[StoreKey(validating: "small/\(index)")] == patternedBytes(100 + index, seed: UInt64(index)))
        }
        #expect(try await destination.base["large"] == large)
    }

    @Test("without replacing: the keys the destination lists are skipped unread; the others go in one batch")
    func heldKeysAreSkippedFromTheListing() async throws {
        try await withScratchDirectory("trove-batched-copy") { directory in
            let source = MemoryStore()
            for index in 0..<10 { try await source.set(Data("new \(index)".utf8), for: StoreKey(validating: "k\(index)")) }
            let sqlite = try await SQLiteStore(path: directory.appendingPathComponent("held.db"))
            try await sqlite.set(Data("held".utf8), for: "k3")
            try await sqlite.set(Data("held".utf8), for: "k7")
            let destination = CallRecordingStore(base: sqlite)
            let reads = CallRecordingStore(base: source)

            let report = try await reads.copy(to: destination, replacing: false)
            #expect(report.copied == 8 && report.skipped == 2, "\(report)")
            #expect(destination.calls.batchSizes == [8])
            #expect(destination.calls.singleWrites.isEmpty)
            #expect(reads.calls.batchReads == [["k0", "k1", "k2", "k4", "k5", "k6", "k8", "k9"]], "held keys are not read")
            for index in 0..<10 {
                let expected = index == 3 || index == 7 ? "held" : "new \(index)"
                #expect(try await sqlite[StoreKey(validating: "k\(index)")] == Data(expected.utf8))
            }
        }
    }

    @Test("without replacing, keys the destination gained after its listing: the atomic batch fails whole, each entry is written alone, those keys skipped")
    func keysGainedAfterTheListing() async throws {
        try await withScratchDirectory("trove-batched-copy") { directory in
            let source = MemoryStore()
            for index in 0..<10 { try await source.set(Data("new \(index)".utf8), for: StoreKey(validating: "k\(index)")) }
            let sqlite = try await SQLiteStore(path: directory.appendingPathComponent("held.db"))
            #expect(sqlite.capabilities.contains(.atomicBatches))
            try await sqlite.set(Data("held".utf8), for: "k3")
            try await sqlite.set(Data("held".utf8), for: "k7")
            // Its listing leaves k3 and k7 out, as if they were written just after it.
            let destination = CallRecordingStore(base: sqlite, hidingFromListing: ["k3", "k7"])

            let report = try await source.copy(to: destination, replacing: false)
            #expect(report.copied == 8 && report.skipped == 2, "\(report)")
            #expect(destination.calls.batchSizes == [10])
            #expect(destination.calls.singleWrites.sorted() == (0..<10).map { "k\($0)" }.sorted(), "each entry again on its own")
            for index in 0..<10 {
                let expected = index == 3 || index == 7 ? "held" : "new \(index)"
                #expect(try await sqlite[StoreKey(validating: "k\(index)")] == Data(expected.utf8))
            }
        }
    }

    @Test("planCopy: the entries a copy would write, the keys it would skip, and its refusal of an expiring entry, writing nothing")
    func planningACopy() async throws {
        let source = MemoryStore()
        try await source.set(Data("one".utf8), for: "a")
        try await source.set(Data("brief".utf8), for: "b", expiry: .after(.seconds(3600)))
        try await source.set(Data("three".utf8), for: "c")
        let base = MemoryStore()
        try await base.set(Data("held".utf8), for: "a")
        let destination = CallRecordingStore(base: base, withholding: .expiration)

        let refusal = try await expectStoreError(.notSupported) {
            try await source.planCopy(to: destination) { _ in }
        }
        #expect(refusal.key == "b", "\(refusal)")

        var planned: [String] = []
        let plan = try await source.planCopy(to: destination, expiries: .droppedWhereUnsupported) { planned.append($0.key.rawValue) }
        #expect(planned == ["a", "b", "c"])
        #expect(plan.copied == 3 && plan.skipped == 0 && plan.bytes == 13 && plan.expiriesDropped == 1, "\(plan)")

        planned = []
        let resume = try await source.planCopy(to: destination, replacing: false, expiries: .droppedWhereUnsupported) {
            planned.append($0.key.rawValue)
        }
        #expect(planned == ["b", "c"])
        #expect(resume.copied == 2 && resume.skipped == 1, "\(resume)")
        #expect(destination.calls.batchSizes.isEmpty && destination.calls.singleWrites.isEmpty)
        #expect(try await base.count() == 1)
        #expect(try await base["a"] == Data("held".utf8))
    }

    @Test("synchronize compares comparisonConcurrency pairs at once and copies concurrency values at once")
    func comparisonsAndCopiesRunSideBySide() async throws {
        let source = MemoryStore(), base = MemoryStore()
        for index in 0..<12 {
            let key = try StoreKey(validating: String(format: "k%02d", index))
            try await source.set(patternedBytes(100, seed: UInt64(index)), for: key)
            // Four of them hold other bytes of the same size: compared, then copied.
            try await base.set(patternedBytes(100, seed: UInt64(index % 3 == 0 ? 100 + index : index)), for: key)
        }
        let destination = CallRecordingStore(base: base, gatheringReads: 3)
        let report = try await source.synchronize(to: destination, byContent: true, concurrency: 1, comparisonConcurrency: 3)
        #expect(report.copied == 4 && report.unchanged == 8, "\(report)")
        #expect(destination.calls.mostConcurrentReads == 3, "\(destination.calls)")
        #expect(destination.calls.mostConcurrentWrites == 1, "\(destination.calls)")
        #expect(try await source.compare(with: base, byContent: true).isIdentical)
    }

    @Test("a dry run of synchronize refuses an expiring entry as the real run would, and plans it with droppedWhereUnsupported")
    func dryRunPredictsTheExpiryRefusal() async throws {
        let source = MemoryStore()
        try await source.set(Data("one".utf8), for: "a")
        try await source.set(Data("brief".utf8), for: "b", expiry: .after(.seconds(3600)))
        let destination = CallRecordingStore(base: MemoryStore(), withholding: .expiration)
        let refusal = try await expectStoreError(.notSupported) {
            try await source.synchronize(to: destination, dryRun: true)
        }
        #expect(refusal.key == "b", "\(refusal)")
        var steps: [SynchronizationStep] = []
        let plan = try await source.synchronize(to: destination, dryRun: true, expiries: .droppedWhereUnsupported) { steps.append($0) }
        #expect(plan.copied == 2 && plan.expiriesDropped == 1 && plan.isDryRun, "\(plan)")
        #expect(steps.map(\.key) == ["a", "b"] && steps.allSatisfy(\.isPlanned))
        #expect(try await destination.base.count() == 0)
    }

    @Test("an entry a batch refuses is the error, naming its key; the batch's others are copied")
    func aRefusedEntryNamesItsKey() async throws {
        let source = MemoryStore()
        for key in ["a", "b", "c"] { try await source.set(Data(key.utf8), for: StoreKey(validating: key)) }
        try await source.set(Data(repeating: 1, count: 2000), for: "too-big")
        let limited = MemoryStore().limited(valueSize: 1000)
        let error = try await expectStoreError(.valueTooLarge) { try await source.copy(to: limited) }
        #expect(error.key == "too-big", "\(error)")
        for key in ["a", "b", "c"] { #expect(try await limited[StoreKey(validating: key)] == Data(key.utf8)) }
    }

    @Test("an expiring entry keeps its expiry through a batch")
    func expiryThroughABatch() async throws {
        let source = MemoryStore()
        let expiry = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 * 1000).rounded() / 1000 + 3600)
        try await source.set(Data("soon".utf8), for: "soon", expiry: .at(expiry))
        try await source.set(Data("never".utf8), for: "never")
        let destination = CallRecordingStore(base: MemoryStore())
        try await source.copy(to: destination)
        #expect(destination.calls.batchSizes == [2])
        let kept = try #require(try await destination.base.read("soon")?.metadata.expirationDate)
        #expect(abs(kept.timeIntervalSince(expiry)) < 0.002)
        #expect(try await destination.base.read("never")?.metadata.expirationDate == nil)
    }
}

/// A store that forwards to `base` and records which writes reached it, and how.
extension BatchedCopyTests {
    @Test("into a store without expiry: refused by default, naming the key; dropped on request, batched and streamed")
    func expiryWhereUnsupported() async throws {
        let source = MemoryStore()
        try await source.set(Data("kept".utf8), for: "a")
        try await source.set(Data("soon".utf8), for: "b", expiry: .after(.seconds(3600)))
        try await source.set(patternedBytes((64 << 10) + 1, seed: 5), for: "c", expiry: .after(.seconds(3600)))
        let destination = CallRecordingStore(base: MemoryStore(), withholding: .expiration)

        let refusal = try await expectStoreError(.notSupported) { try await source.copy(to: destination) }
        #expect(refusal.key == "b" || refusal.key == "c", "\(refusal)")
        #expect(refusal.message.contains("cannot keep an expiry"))

        let report = try await source.copy(to: destination, expiries: .droppedWhereUnsupported)
        #expect(report.copied == 3 && report.expiriesDropped == 2)
        #expect(destination.calls.streamedWrites.contains("c"))
        for key: StoreKey in ["a", "b", "c"] {
            let metadata = try #require(try await destination.base.metadata(for: key))
            #expect(metadata.expirationDate == nil, "\(key) expires")
        }

        let synchronized = try await source.synchronize(to: CallRecordingStore(base: MemoryStore(), withholding: .expiration),
                                                        expiries: .droppedWhereUnsupported)
        #expect(synchronized.copied == 3 && synchronized.expiriesDropped == 2)
    }
}

private final class CallRecordingStore<Base: KeyValueStore>: KeyValueStore {
    struct Calls {
        var batchSizes: [Int] = []
        var batchReads: [[String]] = []
        var singleWrites: [String] = []
        var streamedWrites: [String] = []
        var concurrentReads = 0
        var mostConcurrentReads = 0
        var concurrentWrites = 0
        var mostConcurrentWrites = 0
    }

    let base: Base
    private let recorded = Mutex(Calls())
    private let withheld: StoreCapabilities
    private let hidden: Set<String>
    private let gathering: Int

    /// A store over `base` that records its calls and claims `base`'s capabilities but
    /// `withheld`. Its listings leave out the keys in `hidden`. With `gatheringReads` above 1,
    /// each read of a stream waits (up to a second) until that many run at once, so that
    /// readers that can run side by side are seen doing so.
    init(base: Base, withholding withheld: StoreCapabilities = [], hidingFromListing hidden: Set<String> = [],
         gatheringReads gathering: Int = 1) {
        self.base = base
        self.withheld = withheld
        self.hidden = hidden
        self.gathering = gathering
    }

    var calls: Calls { recorded.withLock { $0 } }
    var description: String { "recording \(base.description)" }
    var capabilities: StoreCapabilities { base.capabilities.subtracting(withheld) }

    func read(_ key: StoreKey) async throws -> StoreEntry? { try await base.read(key) }
    func readBatch(_ keys: [StoreKey]) async throws -> [StoreEntry?] {
        recorded.withLock { $0.batchReads.append(keys.map(\.rawValue)) }
        return try await base.readBatch(keys)
    }
    func readStream(_ key: StoreKey, chunkSize: Int) async throws -> StreamedEntry? {
        recorded.withLock {
            $0.concurrentReads += 1
            $0.mostConcurrentReads = max($0.mostConcurrentReads, $0.concurrentReads)
        }
        defer { recorded.withLock { $0.concurrentReads -= 1 } }
        let deadline = ContinuousClock.now + .seconds(1)
        while recorded.withLock({ $0.concurrentReads < gathering }), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(2))
        }
        return try await base.readStream(key, chunkSize: chunkSize)
    }
    func metadata(for key: StoreKey) async throws -> EntryMetadata? { try await base.metadata(for: key) }
    func write(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        recorded.withLock { $0.singleWrites.append(key.rawValue) }
        return try await writing { try await base.write(value, for: key, options: options) }
    }
    func write<Chunks: AsyncSequence & Sendable>(
        contentsOf chunks: Chunks, for key: StoreKey, options: WriteOptions
    ) async throws -> EntryMetadata where Chunks.Element == Data {
        recorded.withLock { $0.streamedWrites.append(key.rawValue) }
        return try await writing { try await base.write(contentsOf: chunks, for: key, options: options) }
    }
    func writeBatch(_ writes: [BatchWrite]) async throws -> [Result<EntryMetadata, StoreError>] {
        recorded.withLock { $0.batchSizes.append(writes.count) }
        return try await writing { try await base.writeBatch(writes) }
    }
    func delete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool { try await base.delete(key, condition: condition) }
    func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
        var page = try await base.listPage(query, after: cursor, limit: limit)
        page.elements.removeAll { $0.key.map { hidden.contains($0.rawValue) } ?? false }
        return page
    }
    func url(for key: StoreKey, validFor lifetime: Duration) async throws -> URL? { try await base.url(for: key, validFor: lifetime) }
    func reclaimExpired() async throws -> Int { try await base.reclaimExpired() }

    private func writing<Result>(_ body: () async throws -> Result) async throws -> Result {
        recorded.withLock {
            $0.concurrentWrites += 1
            $0.mostConcurrentWrites = max($0.mostConcurrentWrites, $0.concurrentWrites)
        }
        defer { recorded.withLock { $0.concurrentWrites -= 1 } }
        // A moment inside each write, so that writes that could overlap do.
        try await Task.sleep(for: .milliseconds(5))
        return try await body()
    }
}
