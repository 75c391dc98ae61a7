import Foundation
import Synchronization
import Testing
import Trove
import TroveSQLite
import TroveTestSupport

/// `DurableQueue` across processes: two producer processes enqueue 10,000 elements, three
/// consumer processes dequeue and acknowledge them, and one consumer is killed with SIGKILL
/// mid-run. Every element is acknowledged exactly once, and nothing is left. The cases run one
/// after the other: each runs five processes, and four at once starve the suites beside them.
@Suite("DurableQueue across processes", .serialized)
struct QueueProcessTests {
    enum Medium: String, CaseIterable, CustomStringConvertible {
        case file, sqlite
        var description: String { rawValue }

        /// The location the helper opens: a directory, or an `sqlite:` URL.
        func location(in directory: URL) -> String {
            switch self {
            case .file: return directory.appendingPathComponent("store", isDirectory: true).path
            case .sqlite: return "sqlite://" + directory.appendingPathComponent("queue.db").path
            }
        }
    }

    /// How the producers and consumers move elements: one at a time, or in batches of 50
    /// (`enqueue(contentsOf:)`, `dequeue(upTo:)`, `acknowledge(contentsOf:)`).
    enum Calls: String, CaseIterable, CustomStringConvertible {
        case single, batches
        var description: String { rawValue }
        var arguments: [String] { self == .single ? [] : ["50"] }
    }

    @Test("10,000 elements, 2 producers, 3 consumers, one killed: each acknowledged exactly once",
          .timeLimit(.minutes(5)), arguments: Medium.allCases, Calls.allCases)
    func exactlyOnceAcrossProcesses(_ medium: Medium, _ calls: Calls) async throws {
        let helper = try BuiltExecutable.helper()
        try await withScratchDirectory { directory in
            let location = medium.location(in: directory)
            let namespace = "race"
            let done = "race-control/producers-done"
            let perProducer = 5_000

            let consumers = (0..<3).map { _ in
                LineProcess(helper, ["queue-consume", location, namespace, "1000", done] + calls.arguments)
            }
            for consumer in consumers { try consumer.start() }
            let producers = [
                LineProcess(helper, ["queue-produce", location, namespace, "0", String(perProducer)] + calls.arguments),
                LineProcess(helper, ["queue-produce", location, namespace, String(perProducer), String(perProducer)] + calls.arguments),
            ]
            for producer in producers { try producer.start() }

            // Kill the first consumer once it has acknowledged a few hundred elements.
            let victim = consumers[0]
            let deadline = ContinuousClock.now + .seconds(120)
            while victim.lines.filter({ $0.hasPrefix("acked ") }).count < 300 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            victim.kill()

            for producer in producers {
                let status = await producer.exitStatus()
                #expect(status == 0, "a producer failed: \(producer.errors)")
            }
            try await openedStore(at: location) { store in
                try await store.set(Data(), for: try StoreKey(validating: done))
            }
            for consumer in consumers.dropFirst() {
                let status = await consumer.exitStatus()
                #expect(status == 0, "a consumer failed: \(consumer.errors)")
            }
            _ = await victim.exitStatus()

            // Every element acknowledged exactly once. The killed consumer may have died between
            // an acknowledgement and its report of it: that one element was acknowledged (it is
            // gone from the queue) by no one else.
            var acknowledgements: [Int: Int] = [:]
            for consumer in consumers {
                for line in consumer.lines where line.hasPrefix("acked ") {
                    acknowledgements[Int(line.dropFirst(6))!, default: 0] += 1
                }
            }
            let twice = acknowledgements.filter { $0.value > 1 }.keys.sorted()
            #expect(twice.isEmpty, "acknowledged more than once: \(twice.prefix(10))")
            let missing = Set(0..<(2 * perProducer)).subtracting(acknowledgements.keys)
            // The killed consumer may have died while acknowledging (one element, or a batch):
            // those it was acking and had not reported acknowledged.
            let acking = Set(victim.lines.filter { $0.hasPrefix("acking ") }.map { Int($0.dropFirst(7))! })
            let inFlight = acking.subtracting(victim.lines.filter { $0.hasPrefix("acked ") }.map { Int($0.dropFirst(6))! })
            #expect(missing.isSubset(of: inFlight),
                    "never acknowledged: \(missing.sorted().prefix(10)) (the killed consumer was acking \(inFlight.sorted().prefix(10)))")
            #expect(victim.lines.contains { $0.hasPrefix("acked ") }, "the killed consumer had acknowledged elements")

            try await openedStore(at: location) { store in
                let queue = try DurableQueue<Int>(store: store, namespace: KeyNamespace(validating: namespace))
                #expect(try await queue.isEmpty(), "elements were left in the queue")
            }
        }
    }

    /// Runs `body` on the store at `location`, as the helper opens it.
    private func openedStore(at location: String, _ body: (any KeyValueStore) async throws -> Void) async throws {
        if location.contains(":") {
            try await StoreOpener.withSQLite.withStore(location) { store in try await body(store) }
        } else {
            try await body(try FileSystemStore(root: URL(fileURLWithPath: location, isDirectory: true)))
        }
    }
}
