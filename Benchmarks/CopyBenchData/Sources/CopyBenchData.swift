import Foundation
import Trove
import TroveRedis
import TroveSQLite

/// The data of copy-bench.sh, and the batched write rate `trove copy` is measured against.
///
///     CopyBenchData populate <plain-dir> <file-store-dir> <count> <bytes>
///     CopyBenchData write-rate <store-url> <count> <bytes> [batch] [concurrency]
///
/// `populate` writes `count` values of `bytes` bytes twice: as plain files under `plain-dir`
/// (for aws-cli and rclone, which read a directory of files) and into a `FileSystemStore`
/// rooted at `file-store-dir` (for `trove copy`, which reads a store), under the same keys and
/// with the same bytes. Key `i` is `d` and two digits of `i % 100`, a slash, `k` and six
/// digits of `i` (`d23/k000123`), so each tool sees the same tree of 100 directories. Value
/// `i` is SplitMix64's output seeded with `i`: bytes that no server can compress or
/// deduplicate, and the same on every run. The store is written through ``writeBatch(_:)`` in
/// batches of 100. Both directories must not exist yet, or be empty.
///
/// `write-rate` writes the same keys and values into the store a URL names (`sqlite:` or
/// `redis:`, which should be empty), in key order (as `trove copy` writes them), `batch`
/// entries per ``writeBatch(_:)`` (100 by default), `concurrency` batches at once (1 by
/// default, one after the other), and prints one line of JSON with the keys written per
/// second. The values are made before the clock starts.
@main
enum CopyBenchData {
    static let usage = """
        usage: CopyBenchData populate <plain-dir> <file-store-dir> <count> <bytes>
               CopyBenchData write-rate <store-url> <count> <bytes> [batch] [concurrency]

        """

    static func main() async throws {
        let arguments = Array(CommandLine.arguments.dropFirst())
        switch arguments.first {
        case "populate" where arguments.count == 5:
            guard let count = Int(arguments[3]), let bytes = Int(arguments[4]), count > 0, count <= 1_000_000, bytes >= 0 else {
                fail("the count must be from 1 to 1,000,000 and the size a number of bytes, not '\(arguments[3])' and '\(arguments[4])'")
            }
            try await populate(plain: URL(filePath: arguments[1]), store: URL(filePath: arguments[2]), count: count, bytes: bytes)
        case "write-rate" where (4...6).contains(arguments.count):
            let numbers = arguments[2...].map { Int($0) }
            guard numbers.allSatisfy({ ($0 ?? 0) > 0 }), let count = numbers[0], count <= 1_000_000, let bytes = numbers[1] else {
                fail("the count (at most 1,000,000), size, batch and concurrency must be positive numbers, not \(arguments[2...].joined(separator: " "))")
            }
            let batch = numbers.count > 2 ? numbers[2]! : 100
            let concurrency = numbers.count > 3 ? numbers[3]! : 1
            try await writeRate(url: arguments[1], count: count, bytes: bytes, batch: batch, concurrency: concurrency)
        default:
            FileHandle.standardError.write(Data(usage.utf8))
            exit(2)
        }
    }

    /// The key of value `index`: `d23/k000123`.
    static func key(_ index: Int) -> String {
        String(format: "d%02d/k%06d", index % 100, index)
    }

    /// Value `index`: `bytes` bytes of SplitMix64 seeded with `index`.
    static func value(_ index: Int, bytes: Int) -> Data {
        var state = UInt64(index) &* 0x9E37_79B9_7F4A_7C15 &+ 0x2545_F491_4F6C_DD1D
        var data = Data(count: bytes)
        data.withUnsafeMutableBytes { (buffer: UnsafeMutableRawBufferPointer) in
            var offset = 0
            while offset < bytes {
                state &+= 0x9E37_79B9_7F4A_7C15
                var mixed = state
                mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
                mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
                mixed ^= mixed >> 31
                for shift in stride(from: 0, to: 64, by: 8) where offset < bytes {
                    buffer[offset] = UInt8(truncatingIfNeeded: mixed >> UInt64(shift))
                    offset += 1
                }
            }
        }
        return data
    }

    static func populate(plain: URL, store root: URL, count: Int, bytes: Int) async throws {
        let files = FileManager.default
        for directory in 0..<min(100, count) {
            try files.createDirectory(at: plain.appending(path: String(format: "d%02d", directory)), withIntermediateDirectories: true)
        }
        let store = try FileSystemStore(root: root)
        var batch: [BatchWrite] = []
        func flush() async throws {
            for (write, result) in zip(batch, try await store.writeBatch(batch)) {
                if case .failure(let error) = result { fail("writing \(write.key) into the file store failed: \(error)") }
            }
            batch.removeAll(keepingCapacity: true)
        }
        for index in 0..<count {
            let name = key(index)
            let data = value(index, bytes: bytes)
            try data.write(to: plain.appending(path: name))
            batch.append(BatchWrite(try StoreKey(validating: name), data))
            if batch.count == 100 { try await flush() }
        }
        if !batch.isEmpty { try await flush() }
        print(#"{"populated": \#(count), "bytes": \#(bytes), "plain": "\#(plain.path)", "store": "\#(root.path)"}"#)
    }

    static func writeRate(url: String, count: Int, bytes: Int, batch: Int, concurrency: Int) async throws {
        var batches: [[BatchWrite]] = []
        var current: [BatchWrite] = []
        // In key order, as a copy writes them (it lists its source in key order): in the order
        // of the indexes, each batch of SQLite's would land on 100 pages of its index, not one.
        let indexes = (0..<count).sorted { key($0) < key($1) }
        for index in indexes {
            current.append(BatchWrite(try StoreKey(validating: key(index)), value(index, bytes: bytes)))
            if current.count == batch {
                batches.append(current)
                current = []
            }
        }
        if !current.isEmpty { batches.append(current) }
        let seconds = try await StoreOpener.withSQLite.adding(.redis).withStore(url) { store in
            let start = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                var next = 0
                func add() {
                    let writes = batches[next]
                    next += 1
                    group.addTask {
                        for (write, result) in zip(writes, try await store.writeBatch(writes)) {
                            if case .failure(let error) = result { fail("writing \(write.key) into \(store) failed: \(error)") }
                        }
                    }
                }
                while next < min(concurrency, batches.count) { add() }
                while try await group.next() != nil, next < batches.count { add() }
                try await group.waitForAll()
            }
            let elapsed = ContinuousClock.now - start
            return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        }
        let rate = String(format: "%.1f", Double(count) / seconds)
        print(#"{"store": "\#(url)", "keys": \#(count), "bytes": \#(bytes), "batch": \#(batch), "concurrency": \#(concurrency), "seconds": \#(String(format: "%.3f", seconds)), "keys_per_second": \#(rate)}"#)
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("CopyBenchData: \(message)\n".utf8))
        exit(1)
    }
}
