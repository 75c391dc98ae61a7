import Foundation
import Synchronization
import Testing
import Trove
import TroveSQLite

/// `DurableQueue` across processes: two producer processes enqueue 10,000 elements, three
/// consumer processes dequeue and acknowledge them, and one consumer is killed with SIGKILL
/// mid-run. Every element is acknowledged exactly once, and nothing is left.
@Suite("DurableQueue across processes")
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

    @Test("10,000 elements, 2 producers, 3 consumers, one killed: each acknowledged exactly once",
          .timeLimit(.minutes(5)), arguments: Medium.allCases)
    func exactlyOnceAcrossProcesses(_ medium: Medium) async throws {
        let helper = try HelperBinary.locate()
        try await withTemporaryDirectory { directory in
            let location = medium.location(in: directory)
            let namespace = "race"
            let done = "race-control/producers-done"
            let perProducer = 5_000

            let consumers = (0..<3).map { _ in
                LineProcess(helper, ["queue-consume", location, namespace, "1000", done])
            }
            for consumer in consumers { try consumer.start() }
            let producers = [
                LineProcess(helper, ["queue-produce", location, namespace, "0", String(perProducer)]),
                LineProcess(helper, ["queue-produce", location, namespace, String(perProducer), String(perProducer)]),
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
            let inFlight = victim.lines.last.flatMap { $0.hasPrefix("acking ") ? Int($0.dropFirst(7)) : nil }
            #expect(missing.isEmpty || missing == Set([inFlight].compactMap { $0 }),
                    "never acknowledged: \(missing.sorted().prefix(10)) (the killed consumer was acking \(String(describing: inFlight)))")
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

/// A helper process whose standard output is collected line by line as it runs.
final class LineProcess: Sendable {
    private let process: Process
    private let collected = Mutex<[String]>([])
    private let errorText = Mutex<String>("")
    private let ended = Mutex<Int32?>(nil)

    init(_ executable: URL, _ arguments: [String]) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        self.process = process
    }

    /// Starts the process and a thread that reads its output.
    func start() throws {
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        Thread.detachNewThread { [self] in
            var pending = Data()
            while true {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: pending[..<newline], as: UTF8.self)
                    pending.removeSubrange(...newline)
                    collected.withLock { $0.append(line) }
                }
            }
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            errorText.withLock { $0 = message }
            process.waitUntilExit()
            ended.withLock { $0 = process.terminationStatus }
        }
    }

    /// The lines printed so far.
    var lines: [String] { collected.withLock { $0 } }

    /// What the process printed on standard error (complete once it has ended).
    var errors: String { errorText.withLock { $0 } }

    /// Kills the process with SIGKILL.
    func kill() {
        _ = Glibc.kill(process.processIdentifier, SIGKILL)
    }

    /// Waits for the process to end (and its output to be read) and returns its status.
    func exitStatus() async -> Int32 {
        while true {
            if let status = ended.withLock({ $0 }) { return status }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}
