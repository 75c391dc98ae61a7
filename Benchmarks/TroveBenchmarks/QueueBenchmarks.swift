import Benchmark
import Foundation
import Trove
import TroveSQLite
import WorkloadKit

// DurableQueue throughput on the file and SQLite stores, beside the store's own put and delete
// rates in the same run: `swift package benchmark --filter "Queue.*" --grouping metric`.
// One iteration enqueues, or dequeues and acknowledges, `queueElementCount` elements of 100 B;
// "3 consumers" are three tasks, each with a queue value of its own, draining one queue.

/// The number of elements per iteration (`TROVE_QUEUE_ELEMENTS` overrides it).
let queueElementCount = Int(ProcessInfo.processInfo.environment["TROVE_QUEUE_ELEMENTS"] ?? "") ?? 2_000

/// Registers the queue benchmarks for each store.
func registerQueues(base: String) {
    let element = Data((0..<100).map { UInt8((7 * $0 + 13) % 251) })
    let stores: [(String, @Sendable (URL) async throws -> any KeyValueStore)] = [
        ("file", { root in try FileSystemStore(root: root) }),
        ("sqlite", { root in
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            return try await SQLiteStore(path: root.appendingPathComponent("queue.db"))
        }),
    ]
    for (name, open) in stores {
        func bench(_ phase: String, _ body: @escaping @Sendable (any KeyValueStore) async throws -> (() async throws -> Void)) {
            let fixture = Fixture<Int>()
            Benchmark("Queue \(phase) (\(name))") { benchmark in
                let scratch = try fixture.directory()
                let store = try await open(scratch.url.appendingPathComponent(dataDirectory, isDirectory: true))
                let measured = try await body(store)
                try await measure(benchmark, operations: queueElementCount) { try await measured() }
                try scratch.removeItem(dataDirectory)
            } setup: {
                try await fixture.setUp(in: base, label: "queue-\(name)-\(phase.filter(\.isLetter))")
            } teardown: {
                try fixture.tearDown()
            }
        }
        let keys = (0..<queueElementCount).map { StoreKey(stringLiteral: "raw/" + Workload.keyName($0)) }
        bench("raw put") { store in
            { for key in keys { try await store.set(element, for: key) } }
        }
        bench("raw delete") { store in
            for key in keys { try await store.set(element, for: key) }
            return { for key in keys { guard try await store.delete(key) else { throw WorkloadError("\(key) was missing") } } }
        }
        bench("enqueue") { store in
            let queue = try DurableQueue<Data>(store: store, namespace: "jobs", codec: .data)
            return { for _ in 0..<queueElementCount { try await queue.enqueue(element) } }
        }
        for consumers in [1, 3] {
            bench("dequeue+ack, \(consumers) consumer\(consumers == 1 ? "" : "s")") { store in
                let producer = try DurableQueue<Data>(store: store, namespace: "jobs", codec: .data)
                for _ in 0..<queueElementCount { try await producer.enqueue(element) }
                return {
                    let drained = try await withThrowingTaskGroup(of: Int.self) { group in
                        for _ in 0..<consumers {
                            let queue = try DurableQueue<Data>(store: store, namespace: "jobs", codec: .data)
                            group.addTask {
                                var count = 0
                                while let delivery = try await queue.dequeue() {
                                    try await queue.acknowledge(delivery.receipt)
                                    count += 1
                                }
                                return count
                            }
                        }
                        return try await group.reduce(0, +)
                    }
                    guard drained == queueElementCount else {
                        throw WorkloadError("the consumers acknowledged \(drained) of \(queueElementCount) elements")
                    }
                }
            }
        }
    }
}
