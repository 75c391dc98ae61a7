import Foundation
import Testing
import Trove
import TroveSQLite
import TroveTestSupport

/// `DurableQueue`: order, leases, redelivery, dead letters and restarts, with an injected clock.
@Suite("DurableQueue")
struct DurableQueueTests {
    struct Job: Codable, Hashable, Sendable {
        var number: Int
    }

    let clock = ManualWallClock()

    /// The stores the queue's rules are checked on: the memory store, and SQLite with its native
    /// lease step (``OrderedUpdating``) and without it (behind a type-erasing wrapper, which
    /// does not forward it), so that both paths keep the same promises.
    enum Medium: String, CaseIterable, CustomTestStringConvertible, Sendable {
        case memory, sqliteNative = "sqlite, native leases", sqliteScanned = "sqlite, scanned"
        var testDescription: String { rawValue }
    }

    /// Runs `body` on a fresh store of `medium`, on the test's clock.
    func withStore(_ medium: Medium, _ body: (any KeyValueStore) async throws -> Void) async throws {
        switch medium {
        case .memory:
            try await body(MemoryStore(clock: clock.wallClock))
        case .sqliteNative, .sqliteScanned:
            try await withScratchDirectory { directory in
                let store = try await SQLiteStore(path: directory.appendingPathComponent("queue.db"), clock: clock.wallClock)
                if medium == .sqliteNative {
                    #expect(store is any OrderedUpdating)
                    try await body(store)
                } else {
                    let wrapped = AnyKeyValueStore(store)
                    #expect(!(wrapped is any OrderedUpdating))
                    try await body(wrapped)
                }
            }
        }
    }

    func queue(
        on store: some KeyValueStore, lease: Duration = .seconds(30), maximumDeliveries: Int? = nil,
        deadLetters: KeyNamespace? = nil
    ) throws -> DurableQueue<Job> {
        try DurableQueue<Job>(
            store: store, namespace: "jobs",
            configuration: .init(leaseDuration: lease, maximumDeliveries: maximumDeliveries, deadLetterNamespace: deadLetters),
            clock: clock.wallClock)
    }

    @Test("elements come out in the order they went in, each once, and acknowledged ones are gone", arguments: Medium.allCases)
    func firstInFirstOut(_ medium: Medium) async throws {
        try await withStore(medium) { store in
            let jobs = try queue(on: store)
            #expect(try await jobs.isEmpty())
            try await jobs.enqueue(contentsOf: (0..<150).map(Job.init))   // more than one listing page
            #expect(try await jobs.count() == 150)

            var seen: [Int] = []
            while let delivery = try await jobs.dequeue() {
                #expect(delivery.deliveryCount == 1)
                seen.append(delivery.element.number)
                try await jobs.acknowledge(delivery.receipt)
            }
            #expect(seen == Array(0..<150))
            #expect(try await jobs.isEmpty())
            #expect(try await store.count() == 0, "nothing is left in the store")
        }
    }

    @Test("a leased element is invisible to other consumers until its lease runs out, then comes back with its count raised", arguments: Medium.allCases)
    func leasesAndRedelivery(_ medium: Medium) async throws {
        try await withStore(medium) { store in
            let first = try queue(on: store, lease: .seconds(10))
            let second = try queue(on: store, lease: .seconds(10))
            try await first.enqueue(Job(number: 1))
            try await first.enqueue(Job(number: 2))

            let a = try #require(try await first.dequeue())
            #expect(a.element.number == 1)
            let b = try #require(try await second.dequeue())
            #expect(b.element.number == 2, "the other consumer skips the leased element")
            #expect(try await second.dequeue() == nil)
            #expect(try await first.dequeue() == nil)

            clock.advance(by: .seconds(11))   // a's consumer died; b's acknowledges late
            let again = try #require(try await second.dequeue())
            #expect(again.element.number == 1)
            #expect(again.deliveryCount == 2)
            let bAgain = try #require(try await first.dequeue())
            #expect(bAgain.element.number == 2)

            // The first leases are over: their receipts no longer acknowledge.
            await #expect { try await first.acknowledge(a.receipt) } throws: { ($0 as? StoreError)?.code == .conditionFailed }
            await #expect { try await second.acknowledge(b.receipt) } throws: { ($0 as? StoreError)?.code == .conditionFailed }
            try await second.acknowledge(again.receipt)
            try await first.acknowledge(bAgain.receipt)
            await #expect { try await first.acknowledge(bAgain.receipt) } throws: { ($0 as? StoreError)?.code == .conditionFailed }
            #expect(try await first.isEmpty())
        }
    }

    @Test("after the maximum number of deliveries an element moves to the dead letters", arguments: Medium.allCases)
    func deadLetters(_ medium: Medium) async throws {
        try await withStore(medium) { store in
            let jobs = try queue(on: store, lease: .seconds(5), maximumDeliveries: 3, deadLetters: "jobs-dead")
            let id = try await jobs.enqueue(Job(number: 7))
            try await jobs.enqueue(Job(number: 8))
            for attempt in 1...3 {
                let delivery = try #require(try await jobs.dequeue())
                #expect(delivery.element.number == 7)
                #expect(delivery.deliveryCount == attempt)
                clock.advance(by: .seconds(6))
            }
            let next = try #require(try await jobs.dequeue())
            #expect(next.element.number == 8, "the element delivered three times is retired, not delivered again")
            try await jobs.acknowledge(next.receipt)
            #expect(try await jobs.isEmpty())
            var dead: [StoreKey] = []
            for try await key in try store.keys(withPrefix: "jobs-dead/") { dead.append(key) }
            #expect(dead == [try StoreKey(validating: "jobs-dead/" + String(id.lastSegment))])

            // Without a dead-letter namespace, a retired element is deleted.
            let plain = try queue(on: store, lease: .seconds(5), maximumDeliveries: 1)
            try await plain.enqueue(Job(number: 9))
            _ = try #require(try await plain.dequeue())
            clock.advance(by: .seconds(6))
            #expect(try await plain.dequeue() == nil)
            #expect(try await plain.isEmpty())
        }
    }

    @Test("release gives an element back at once; extendLease keeps it longer", arguments: Medium.allCases)
    func releaseAndExtend(_ medium: Medium) async throws {
        try await withStore(medium) { store in
            let jobs = try queue(on: store, lease: .seconds(10))
            try await jobs.enqueue(Job(number: 1))
            let delivery = try #require(try await jobs.dequeue())
            try await jobs.release(delivery.receipt)
            let again = try #require(try await jobs.dequeue())
            #expect(again.element.number == 1)
            #expect(again.deliveryCount == 2)

            let until = try await jobs.extendLease(again.receipt, by: .seconds(60))
            #expect(until == clock.now.addingTimeInterval(60))
            clock.advance(by: .seconds(30))
            #expect(try await jobs.dequeue() == nil, "the extended lease still holds")
            try await jobs.acknowledge(again.receipt)
            await #expect { try await jobs.release(again.receipt) } throws: { ($0 as? StoreError)?.code == .conditionFailed }
        }
    }

    @Test("a queue reopened over the same files holds every element not acknowledged")
    func survivesRestarts() async throws {
        try await withScratchDirectory { directory in
            do {
                let jobs = try queue(on: try FileSystemStore(root: directory, clock: clock.wallClock), lease: .seconds(10))
                try await jobs.enqueue(contentsOf: (0..<10).map(Job.init))
                for _ in 0..<3 {
                    let delivery = try #require(try await jobs.dequeue())
                    try await jobs.acknowledge(delivery.receipt)
                }
                _ = try #require(try await jobs.dequeue())   // leased, never acknowledged: the process "dies"
            }
            let reopened = try queue(on: try FileSystemStore(root: directory, clock: clock.wallClock), lease: .seconds(10))
            #expect(try await reopened.count() == 7)
            clock.advance(by: .seconds(11))
            var rest: [Int] = []
            while let delivery = try await reopened.dequeue() {
                rest.append(delivery.element.number)
                try await reopened.acknowledge(delivery.receipt)
            }
            #expect(rest == Array(3..<10))
        }
    }

    @Test("many tasks consuming one queue acknowledge every element exactly once", arguments: Medium.allCases)
    func concurrentConsumers(_ medium: Medium) async throws {
        try await withStore(medium) { store in
            let producer = try queue(on: store)
            try await producer.enqueue(contentsOf: (0..<400).map(Job.init))
            let acknowledged = try await withThrowingTaskGroup(of: [Int].self) { group in
                for _ in 0..<6 {
                    let consumer = try queue(on: store)
                    group.addTask {
                        var mine: [Int] = []
                        while let delivery = try await consumer.dequeue() {
                            try await consumer.acknowledge(delivery.receipt)
                            mine.append(delivery.element.number)
                        }
                        return mine
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(acknowledged.sorted() == Array(0..<400))
        }
    }

    @Test("dequeue waits for an element up to its timeout; deliveries() yields them as they come")
    func waiting() async throws {
        let waits = ManualWallClock()
        let store = MemoryStore(clock: waits.wallClock)
        let jobs = try DurableQueue<Job>(store: store, namespace: "jobs", clock: waits.wallClock)
        let before = waits.now
        #expect(try await jobs.dequeue(waitingUpTo: .seconds(5)) == nil)
        #expect(waits.now.timeIntervalSince(before) >= 5, "the wait must last its whole timeout, by the queue's clock")
        #expect(waits.sleepCount >= 3, "the wait must poll at growing intervals")
        // The producer enqueues only once the consumer has waited on an empty queue.
        let waitsBefore = waits.sleepCount
        let producer = Task {
            while waits.sleepCount < waitsBefore + 2 { await Task.yield() }
            try await jobs.enqueue(Job(number: 1))
            try await jobs.enqueue(Job(number: 2))
        }
        var received: [Int] = []
        for try await delivery in jobs.deliveries() {
            received.append(delivery.element.number)
            try await jobs.acknowledge(delivery.receipt)
            if received.count == 2 { break }
        }
        try await producer.value
        #expect(received == [1, 2])
    }

    @Test("bad bytes, bad receipts and stores without conditions are typed errors", arguments: Medium.allCases)
    func errors(_ medium: Medium) async throws {
        try await withStore(medium) { store in
            let jobs = try queue(on: store)
            try await store.set(Data("not a queue record".utf8), for: "jobs/items/0000000000000000000000000A")
            await #expect { _ = try await jobs.dequeue() } throws: { ($0 as? StoreError)?.code == .integrity }
            try await store.delete("jobs/items/0000000000000000000000000A")

            let strings = try DurableQueue<String>(store: store, namespace: "jobs", codec: .json, clock: clock.wallClock)
            try await strings.enqueue("text, not a Job")
            await #expect { _ = try await jobs.dequeue() } throws: { ($0 as? StoreError)?.code == .decodingFailed }

            #expect(throws: StoreError.self) { try QueueReceipt(parsing: "no-token") }
            #expect(throws: StoreError.self) { try QueueReceipt(parsing: "a//b 12") }
            let receipt = QueueReceipt(id: "jobs/items/x", token: 0xBEEF)
            #expect(try QueueReceipt(parsing: receipt.description) == receipt)

            #expect(throws: StoreError.self) {
                try DurableQueue<Job>(store: store, namespace: "jobs", configuration: .init(leaseDuration: .zero))
            }
            #expect(throws: StoreError.self) {
                try DurableQueue<Job>(store: store, namespace: "jobs", configuration: .init(maximumDeliveries: 0))
            }
        }
    }

    @Test("with more elements held at the front than a native step looks at, the scan finds the free ones, in order",
          arguments: [Medium.sqliteNative, .sqliteScanned])
    func manyHeldElementsAtTheFront(_ medium: Medium) async throws {
        try await withStore(medium) { store in
            let first = try queue(on: store, lease: .seconds(10))
            let second = try queue(on: store, lease: .seconds(10))
            try await first.enqueue(contentsOf: (0..<1_300).map(Job.init))
            let held = try await first.dequeue(upTo: 1_200)
            #expect(held.map(\.element.number) == Array(0..<1_200))
            let next = try #require(try await second.dequeue())
            #expect(next.element.number == 1_200, "past the 1,024 elements a native step looks at")
            let rest = try await second.dequeue(upTo: 500)
            #expect(rest.map(\.element.number) == Array(1_201..<1_300))
            #expect(try await second.dequeue() == nil)
            // Once the first consumer's leases run out, its elements come back first.
            clock.advance(by: .seconds(11))
            let again = try await second.dequeue(upTo: 3)
            #expect(again.map(\.element.number) == [0, 1, 2] && again.allSatisfy { $0.deliveryCount == 2 })
        }
    }

    @Test("an entry that is not an element is reported once, then passed over", arguments: Medium.allCases)
    func foreignEntriesAreReportedOnce(_ medium: Medium) async throws {
        try await withStore(medium) { store in
            let jobs = try queue(on: store)
            try await store.set(Data("not a queue record".utf8), for: "jobs/items/0000000000000000000000000A")
            try await jobs.enqueue(contentsOf: (0..<6).map(Job.init))
            // A batch (a native step where the store has one) reports it once too.
            let batches = try queue(on: store)
            let batchError = await #expect(throws: StoreError.self) { _ = try await batches.dequeue(upTo: 3) }
            #expect(batchError?.code == .integrity && batchError?.key == "jobs/items/0000000000000000000000000A")
            let batch = try await batches.dequeue(upTo: 3)
            #expect(batch.map(\.element.number) == [0, 1, 2])
            #expect(try await batches.acknowledge(contentsOf: batch.map(\.receipt)) == [])

            let error = await #expect(throws: StoreError.self) { _ = try await jobs.dequeue() }
            #expect(error?.code == .integrity && error?.key == "jobs/items/0000000000000000000000000A")
            var seen: [Int] = []
            while let delivery = try await jobs.dequeue() {
                seen.append(delivery.element.number)
                try await jobs.acknowledge(delivery.receipt)
            }
            #expect(seen == [3, 4, 5])
            #expect(try await batches.dequeue(upTo: 10).isEmpty)
            #expect(try await store["jobs/items/0000000000000000000000000A"] == Data("not a queue record".utf8),
                    "the queue leaves what is not its own")
        }
    }

    @Test("a memory queue flushes its pending elements to a durable queue and ingests them back in order")
    func flushAndIngest() async throws {
        let store = MemoryStore()
        let durable = try DurableQueue<Job>(store: store, namespace: "parked")
        let pending = MemoryQueue<Job>()
        for number in 0..<5 { pending.push(Job(number: number)) }
        #expect(pending.pop() == Job(number: 0))
        #expect(try await pending.flush(to: durable) == 4)
        #expect(pending.isEmpty)
        #expect(try await durable.count() == 4)

        let restarted = MemoryQueue<Job>()
        #expect(try await restarted.ingest(from: durable) == 4)
        #expect(try await durable.isEmpty())
        var drained: [Int] = []
        while let job = restarted.pop() { drained.append(job.number) }
        #expect(drained == [1, 2, 3, 4])
    }
}
