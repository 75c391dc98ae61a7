import Foundation
import Synchronization
import Testing
import Trove
import TroveSQLite
import TroveTestSupport

/// `DurableQueue`'s store calls per step, its batch calls, and receipts that carry their lease's
/// ETag, on the memory, file and SQLite stores.
@Suite("DurableQueue: store calls and batches")
struct DurableQueueBatchTests {
    struct Job: Codable, Hashable, Sendable {
        var number: Int
    }

    enum Backing: String, CaseIterable, CustomTestStringConvertible, Sendable {
        case memory, file, sqlite
        var testDescription: String { rawValue }
    }

    let clock = ManualWallClock()

    /// Runs `body` on a fresh store of `backing` (with the test's clock where the store takes one).
    func withStore(_ backing: Backing, _ body: (any KeyValueStore) async throws -> Void) async throws {
        switch backing {
        case .memory:
            try await body(MemoryStore(clock: clock.wallClock))
        case .file:
            try await withScratchDirectory { directory in try await body(try FileSystemStore(root: directory, clock: clock.wallClock)) }
        case .sqlite:
            try await withScratchDirectory { directory in
                try await body(try await SQLiteStore(path: directory.appendingPathComponent("queue.db"), clock: clock.wallClock))
            }
        }
    }

    func queue(on store: some KeyValueStore, lease: Duration = .seconds(30)) throws -> DurableQueue<Job> {
        try DurableQueue<Job>(store: store, namespace: "jobs", configuration: .init(leaseDuration: lease), clock: clock.wallClock)
    }

    @Test("an enqueue is one write; a delivery one write and an acknowledgement one delete, plus a listing per 256 and a batch read per 64",
          arguments: Backing.allCases)
    func storeCallsPerStep(_ backing: Backing) async throws {
        try await withStore(backing) { base in
            let store = CallCountingStore(base: base)
            let jobs = try queue(on: store)
            for number in 0..<1_100 { try await jobs.enqueue(Job(number: number)) }
            #expect(store.calls() == ["write": 1_100])

            store.reset()
            var seen: [Int] = []
            while let delivery = try await jobs.dequeue() {
                seen.append(delivery.element.number)
                try await jobs.acknowledge(delivery.receipt)
            }
            #expect(seen == Array(0..<1_100))
            // Five pages (four of 256, and 76 that ends the pass), then an empty one from the
            // front before the queue says it is empty; reads of 64 (4 per full page, 2 for the last).
            #expect(store.calls() == ["write": 1_100, "delete": 1_100, "listPage": 6, "readBatch": 18])
            #expect(try await base.count() == 0)
        }
    }

    @Test("batch calls: enqueue, dequeue and acknowledge many, each with one store batch per 256",
          arguments: Backing.allCases)
    func batches(_ backing: Backing) async throws {
        try await withStore(backing) { base in
            let store = CallCountingStore(base: base)
            let producer = try queue(on: store, lease: .seconds(10))
            let first = try queue(on: store, lease: .seconds(10))
            let second = try queue(on: store, lease: .seconds(10))
            let identifiers = try await producer.enqueue(contentsOf: (0..<600).map(Job.init))
            #expect(identifiers.count == 600 && Set(identifiers).count == 600)
            #expect(identifiers == identifiers.sorted(), "identifiers follow the order of the elements")
            #expect(store.calls() == ["writeBatch": 3])

            let taken = try await first.dequeue(upTo: 100)
            #expect(taken.map(\.element.number) == Array(0..<100))
            #expect(Set(taken.map(\.leaseExpiration)).count == 1, "one lease for the whole batch")
            #expect(taken.allSatisfy { $0.deliveryCount == 1 })
            let next = try await second.dequeue(upTo: 300)
            #expect(next.map(\.element.number) == Array(100..<400), "the other consumer passes over the leased elements")

            store.reset()
            #expect(try await first.acknowledge(contentsOf: taken.map(\.receipt)) == [])
            #expect(store.calls() == ["deleteBatch": 1])
            #expect(try await first.acknowledge(contentsOf: taken.prefix(3).map(\.receipt)) == taken.prefix(3).map(\.receipt),
                    "acknowledged already: their leases are over")

            // The second consumer dies: once its leases run out its elements come back first, in order.
            clock.advance(by: .seconds(11))
            let again = try await first.dequeue(upTo: 1_000)
            #expect(again.map(\.element.number) == Array(100..<600))
            #expect(again.prefix(300).allSatisfy { $0.deliveryCount == 2 } && again.dropFirst(300).allSatisfy { $0.deliveryCount == 1 })
            let late = try await second.acknowledge(contentsOf: next.map(\.receipt))
            #expect(late == next.map(\.receipt), "the dead consumer's receipts no longer acknowledge")
            #expect(try await first.acknowledge(contentsOf: again.map(\.receipt)) == [])
            #expect(try await first.dequeue(upTo: 10).isEmpty)
            #expect(try await base.count() == 0)
            await #expect { _ = try await first.dequeue(upTo: 0) } throws: { ($0 as? StoreError)?.code == .invalidArgument }
        }
    }

    @Test("many tasks taking batches of one queue acknowledge every element exactly once", arguments: Backing.allCases)
    func concurrentBatchConsumers(_ backing: Backing) async throws {
        try await withStore(backing) { store in
            try await queue(on: store).enqueue(contentsOf: (0..<700).map(Job.init))
            let acknowledged = try await withThrowingTaskGroup(of: [Int].self) { group in
                for consumer in 0..<6 {
                    let jobs = try queue(on: store)
                    group.addTask {
                        var mine: [Int] = []
                        while true {
                            let deliveries = try await jobs.dequeue(upTo: 3 + 11 * consumer)
                            if deliveries.isEmpty { return mine }
                            #expect(deliveries.map(\.element.number) == deliveries.map(\.element.number).sorted())
                            #expect(try await jobs.acknowledge(contentsOf: deliveries.map(\.receipt)) == [])
                            mine += deliveries.map(\.element.number)
                        }
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(acknowledged.sorted() == Array(0..<700))
            #expect(try await store.count() == 0)
        }
    }

    @Test("a receipt still acknowledges after its lease was extended, or when read back from its text",
          arguments: Backing.allCases)
    func receiptsWithoutTheCurrentETag(_ backing: Backing) async throws {
        try await withStore(backing) { store in
            let jobs = try queue(on: store, lease: .seconds(10))
            try await jobs.enqueue(contentsOf: (0..<3).map(Job.init))
            let extended = try #require(try await jobs.dequeue())
            try await jobs.extendLease(extended.receipt, by: .seconds(60))
            try await jobs.acknowledge(extended.receipt)

            let parsed = try #require(try await jobs.dequeue())
            try await jobs.acknowledge(try QueueReceipt(parsing: parsed.receipt.description))
            await #expect { try await jobs.acknowledge(parsed.receipt) } throws: { ($0 as? StoreError)?.code == .conditionFailed }

            // A lease that ran out and went to another consumer: neither form acknowledges.
            let lost = try #require(try await jobs.dequeue())
            clock.advance(by: .seconds(11))
            let other = try queue(on: store, lease: .seconds(10))
            let taken = try #require(try await other.dequeue())
            #expect(taken.element == lost.element && taken.deliveryCount == 2)
            await #expect { try await jobs.acknowledge(lost.receipt) } throws: { ($0 as? StoreError)?.code == .conditionFailed }
            #expect(try await jobs.acknowledge(contentsOf: [lost.receipt]) == [lost.receipt])
            try await other.acknowledge(taken.receipt)
            #expect(try await store.count() == 0)
        }
    }

    @Test("an element that changed after its page was read is read again, and keeps its place",
          arguments: Backing.allCases)
    func staleEntriesOfAPageAreReadAgain(_ backing: Backing) async throws {
        try await withStore(backing) { store in
            let first = try queue(on: store)
            let second = try queue(on: store)
            try await first.enqueue(contentsOf: (0..<5).map(Job.init))
            let zero = try #require(try await first.dequeue())   // reads the page: 0 to 4
            #expect(zero.element.number == 0)
            // Meanwhile another consumer takes 1 and gives it back: its entry is free again, but
            // no longer the bytes the first consumer's page holds.
            let one = try #require(try await second.dequeue(upTo: 2).first)
            #expect(one.element.number == 1)
            try await second.release(one.receipt)
            let again = try #require(try await first.dequeue())
            #expect(again.element.number == 1)
            #expect(again.deliveryCount == 2)
        }
    }
}

/// A layer that counts the calls made of the store under it, by name.
private final class CallCountingStore: KeyValueStore, @unchecked Sendable {
    let base: any KeyValueStore
    private let counts = Mutex<[String: Int]>([:])

    init(base: any KeyValueStore) { self.base = base }

    func calls() -> [String: Int] { counts.withLock { $0 } }
    func reset() { counts.withLock { $0 = [:] } }
    private func count(_ name: String) { counts.withLock { $0[name, default: 0] += 1 } }

    var description: String { "counting \(base.description)" }
    var capabilities: StoreCapabilities { base.capabilities }

    func read(_ key: StoreKey) async throws -> StoreEntry? {
        count("read")
        return try await base.read(key)
    }

    func readStream(_ key: StoreKey, chunkSize: Int) async throws -> StreamedEntry? {
        count("readStream")
        return try await base.readStream(key, chunkSize: chunkSize)
    }

    func metadata(for key: StoreKey) async throws -> EntryMetadata? {
        count("metadata")
        return try await base.metadata(for: key)
    }

    func write(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        count("write")
        return try await base.write(value, for: key, options: options)
    }

    func write<Chunks: AsyncSequence & Sendable>(
        contentsOf chunks: Chunks, for key: StoreKey, options: WriteOptions
    ) async throws -> EntryMetadata where Chunks.Element == Data {
        count("writeStream")
        return try await base.write(contentsOf: chunks, for: key, options: options)
    }

    func delete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool {
        count("delete")
        return try await base.delete(key, condition: condition)
    }

    func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
        count("listPage")
        return try await base.listPage(query, after: cursor, limit: limit)
    }

    func count(withPrefix prefix: String) async throws -> Int {
        count("count")
        return try await base.count(withPrefix: prefix)
    }

    func readBatch(_ keys: [StoreKey]) async throws -> [StoreEntry?] {
        count("readBatch")
        return try await base.readBatch(keys)
    }

    func writeBatch(_ writes: [BatchWrite]) async throws -> [Result<EntryMetadata, StoreError>] {
        count("writeBatch")
        return try await base.writeBatch(writes)
    }

    func deleteBatch(_ deletes: [BatchDelete]) async throws -> [Result<Void, StoreError>] {
        count("deleteBatch")
        return try await base.deleteBatch(deletes)
    }

    func reclaimExpired() async throws -> Int { try await base.reclaimExpired() }
}
