import Foundation
import Trove
import TroveSQLite

// DurableQueue's rates, printed as `<queue> <phase> <elements/s>` like queue_persistqueue.py,
// the best of three passes for each phase:
//
//     QueueBench <file|sqlite> <scratch-directory> [<elements> [<consumer-processes>]]
//
// - enqueue, dequeue+ack: one element at a time, one consumer;
// - enqueue batch, dequeue+ack batch: enqueue(contentsOf:), and dequeue(upTo: 256) with
//   acknowledge(contentsOf:);
// - dequeue+ack,N-processes: N consumer processes (this program, `consume`) draining one queue
//   one element at a time, timed from the moment all are ready to the last one's exit;
// - dequeue+ack at L queued: the first 1,000 elements of a queue of L, one at a time.
//
// Elements are 100 bytes (the same bytes as the Python script's).

let element = Data((0..<100).map { UInt8((7 * $0 + 13) % 251) })
let arguments = CommandLine.arguments

func openStore(_ kind: String, at directory: URL) async throws -> any KeyValueStore {
    switch kind {
    case "file": return try FileSystemStore(root: directory)
    case "sqlite":
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return try await SQLiteStore(path: directory.appendingPathComponent("queue.db"))
    default: throw BenchError("unknown store '\(kind)': file or sqlite")
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func queue(on store: any KeyValueStore) throws -> DurableQueue<Data> {
    try DurableQueue<Data>(store: store, namespace: "jobs", codec: .data)
}

func seconds(_ body: () async throws -> Void) async rethrows -> Double {
    let start = ContinuousClock.now
    try await body()
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

/// Drains `jobs` one element at a time; returns how many it acknowledged.
func drain(_ jobs: DurableQueue<Data>) async throws -> Int {
    var count = 0
    while let delivery = try await jobs.dequeue() {
        try await jobs.acknowledge(delivery.receipt)
        count += 1
    }
    return count
}

func expect(_ count: Int, _ expected: Int, _ what: String) throws {
    guard count == expected else { throw BenchError("\(what): \(count) elements, not \(expected)") }
}

func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// A consumer process: opens the store, says it is ready, waits for a line, drains.
func consume(_ kind: String, _ location: String) async throws {
    let jobs = try queue(on: try await openStore(kind, at: URL(fileURLWithPath: location)))
    say("ready")
    _ = readLine()
    say(String(try await drain(jobs)))
}

if arguments.count == 4 && arguments[1] == "consume" {
    try await consume(arguments[2], arguments[3])
    exit(0)
}

guard arguments.count >= 3, let count = Int(arguments.count > 3 ? arguments[3] : "2000"),
      let processes = Int(arguments.count > 4 ? arguments[4] : "3") else {
    FileHandle.standardError.write(Data("usage: QueueBench <file|sqlite> <scratch-directory> [<elements> [<consumer-processes>]]\n".utf8))
    exit(2)
}
// Run off the main actor, so that no call of the loops hops back to it.
try await benchmark(kind: arguments[1], scratch: URL(fileURLWithPath: arguments[2], isDirectory: true),
                    count: count, processes: processes)

func benchmark(kind: String, scratch: URL, count: Int, processes: Int) async throws {
    let name = "DurableQueue(\(kind))"

    /// A fresh store directory for each pass.
    func freshDirectory() -> URL {
        scratch.appendingPathComponent("pass-\(UUID().uuidString)", isDirectory: true)
    }

    func report(_ phase: String, _ rates: [Double]) {
        say("\(name) \(phase) \(Int(rates.max()!.rounded()))")
    }

    var enqueueRates: [Double] = [], drainRates: [Double] = []
    var batchEnqueueRates: [Double] = [], batchDrainRates: [Double] = []
    for _ in 0..<3 {
        let directory = freshDirectory()
        let jobs = try queue(on: try await openStore(kind, at: directory))
        enqueueRates.append(Double(count) / (try await seconds { for _ in 0..<count { try await jobs.enqueue(element) } }))
        var drained = 0
        drainRates.append(Double(count) / (try await seconds { drained = try await drain(jobs) }))
        try expect(drained, count, "dequeue+ack")

        let elements = [Data](repeating: element, count: count)
        batchEnqueueRates.append(Double(count) / (try await seconds { try await jobs.enqueue(contentsOf: elements) }))
        drained = 0
        batchDrainRates.append(Double(count) / (try await seconds {
            while true {
                let deliveries = try await jobs.dequeue(upTo: 256)
                if deliveries.isEmpty { break }
                let lost = try await jobs.acknowledge(contentsOf: deliveries.map(\.receipt))
                guard lost.isEmpty else { throw BenchError("\(lost.count) leases lost") }
                drained += deliveries.count
            }
        }))
        try expect(drained, count, "dequeue+ack batch")
        try FileManager.default.removeItem(at: directory)
    }
    // The store's own calls of the same shape, as the floor the queue is measured against.
    var putRates: [Double] = [], batchPutRates: [Double] = [], deleteRates: [Double] = [], batchDeleteRates: [Double] = []
    for _ in 0..<3 {
        let directory = freshDirectory()
        let store = try await openStore(kind, at: directory)
        let keys = try (0..<count).map { try StoreKey(validating: String(format: "raw/%08d", $0)) }
        putRates.append(Double(count) / (try await seconds {
            for key in keys { _ = try await store.write(element, for: key, options: WriteOptions(condition: .ifAbsent)) }
        }))
        deleteRates.append(Double(count) / (try await seconds { for key in keys { _ = try await store.delete(key) } }))
        batchPutRates.append(Double(count) / (try await seconds {
            for start in stride(from: 0, to: count, by: 256) {
                let writes = keys[start..<min(start + 256, count)].map { BatchWrite($0, element, options: WriteOptions(condition: .ifAbsent)) }
                for result in try await store.writeBatch(writes) { _ = try result.get() }
            }
        }))
        batchDeleteRates.append(Double(count) / (try await seconds {
            for start in stride(from: 0, to: count, by: 256) {
                for result in try await store.deleteBatch(keys[start..<min(start + 256, count)].map { BatchDelete($0) }) { try result.get() }
            }
        }))
        try FileManager.default.removeItem(at: directory)
    }
    report("raw put", putRates)
    report("raw delete", deleteRates)
    report("raw put batch", batchPutRates)
    report("raw delete batch", batchDeleteRates)
    report("enqueue", enqueueRates)
    report("dequeue+ack", drainRates)
    report("enqueue batch", batchEnqueueRates)
    report("dequeue+ack batch", batchDrainRates)

    if processes > 1 {
        var rates: [Double] = []
        for _ in 0..<3 {
            let directory = freshDirectory()
            try await queue(on: try await openStore(kind, at: directory)).enqueue(contentsOf: [Data](repeating: element, count: count))
            var consumers: [(Process, Pipe, Pipe)] = []
            for _ in 0..<processes {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
                process.arguments = ["consume", kind, directory.path]
                let input = Pipe(), output = Pipe()
                process.standardInput = input
                process.standardOutput = output
                try process.run()
                consumers.append((process, input, output))
            }
            for (_, _, output) in consumers {
                var line = Data()
                while !line.contains(UInt8(ascii: "\n")) {
                    let byte = output.fileHandleForReading.readData(ofLength: 1)
                    guard !byte.isEmpty else { throw BenchError("a consumer ended before it was ready") }
                    line.append(byte)
                }
            }
            var drained = 0
            rates.append(Double(count) / (await seconds {
                for (_, input, _) in consumers { input.fileHandleForWriting.write(Data("go\n".utf8)) }
                for (process, _, output) in consumers {
                    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                    process.waitUntilExit()
                    drained += Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
                }
            }))
            try expect(drained, count, "\(processes) consumer processes")
            try FileManager.default.removeItem(at: directory)
        }
        report("dequeue+ack,\(processes)-processes", rates)
    }

    for length in [1_000, 100_000] {
        // The queue is kept at `length` (an element enqueued, untimed, for each one taken), and
        // the rate is that of 5,000 dequeue+acks after the consumer's first delivery, whose wait
        // (the first listing of the queue) is reported on its own.
        var rates: [Double] = [], firsts: [Double] = []
        for _ in 0..<3 {
            let directory = freshDirectory()
            let producer = try queue(on: try await openStore(kind, at: directory))
            try await producer.enqueue(contentsOf: [Data](repeating: element, count: length))
            let jobs = try queue(on: producer.store)
            firsts.append(try await seconds {
                guard let delivery = try await jobs.dequeue() else { throw BenchError("the queue is empty") }
                try await jobs.acknowledge(delivery.receipt)
            })
            var busy = 0.0
            for _ in 0..<5_000 {
                try await producer.enqueue(element)
                busy += try await seconds {
                    guard let delivery = try await jobs.dequeue() else { throw BenchError("the queue ran dry") }
                    try await jobs.acknowledge(delivery.receipt)
                }
            }
            rates.append(5_000 / busy)
            try FileManager.default.removeItem(at: directory)
        }
        report("dequeue+ack at \(length) queued", rates)
        say("\(name) first delivery at \(length) queued (ms) \(Int((firsts.min()! * 1_000).rounded()))")
    }
}
