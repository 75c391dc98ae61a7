import Foundation
import Trove
import TroveS3
import TroveS3Client

/// S3Store's phases for the comparison with boto3 (s3-bench.sh runs both against one
/// SeaweedFS). Each phase prints one line of JSON: its rate, and the process's CPU time (user +
/// system, every thread) per request or per MiB. s3_boto3.py runs the same phases with boto3.
///
///     S3Bench small <bucket>     2,000 × 100 B sequential PUT then GET; the same 16 at once;
///                                200 × 100 KiB 16 at once
///     S3Bench large <bucket> <MiB>   one value of MiB streamed up through multipart
///                                    (`write(contentsOf:)`) and down (`readStream`), with
///                                    the process's peak RSS
///
/// The endpoint and keys come from TROVE_BENCH_S3_ENDPOINT, TROVE_BENCH_S3_ACCESS_KEY and
/// TROVE_BENCH_S3_SECRET_KEY; the bucket must exist. Every phase writes under a prefix of
/// its own and deletes what it wrote.
@main
enum S3Bench {
    static func main() async throws {
        let arguments = CommandLine.arguments
        let environment = ProcessInfo.processInfo.environment
        guard arguments.count >= 3, ["small", "large"].contains(arguments[1]),
              let endpoint = environment["TROVE_BENCH_S3_ENDPOINT"].flatMap(URL.init(string:)),
              let access = environment["TROVE_BENCH_S3_ACCESS_KEY"], let secret = environment["TROVE_BENCH_S3_SECRET_KEY"] else {
            FileHandle.standardError.write(Data("usage: S3Bench small|large <bucket> [MiB] (with TROVE_BENCH_S3_ENDPOINT, _ACCESS_KEY, _SECRET_KEY)\n".utf8))
            exit(2)
        }
        let client = S3Client(configuration: try S3ClientConfiguration(
            endpoint: endpoint, region: environment["TROVE_BENCH_S3_REGION"] ?? "us-east-1",
            credentials: S3Credentials(accessKeyID: access, secretAccessKey: secret)))
        let bucket = arguments[2]
        let run = UUID().uuidString.prefix(8).lowercased()
        if arguments[1] == "small" {
            try await small(client: client, bucket: bucket, run: String(run))
        } else {
            let mebibytes = arguments.count > 3 ? Int(arguments[3]) ?? 256 : 256
            try await large(client: client, bucket: bucket, run: String(run), mebibytes: mebibytes)
        }
    }

    static func small(client: S3Client, bucket: String, run: String) async throws {
        let tiny = Data((0..<100).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        let medium = Data((0..<(100 << 10)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        // One request first, so that connecting is not in any phase.
        let warm = S3Store(bucket: bucket, prefix: "bench-\(run)/warm/", client: client)
        try await warm.write(tiny, for: "k", options: WriteOptions())
        try await warm.discard("k")

        let keys = (0..<2_000).map { StoreKey(stringLiteral: String(format: "k%05d", $0)) }
        try await putThenGet("sequential 100 B", tiny, keys: keys, tasks: 1,
                             in: S3Store(bucket: bucket, prefix: "bench-\(run)/seq/", client: client))
        try await putThenGet("16 concurrent 100 B", tiny, keys: keys, tasks: 16,
                             in: S3Store(bucket: bucket, prefix: "bench-\(run)/conc/", client: client))
        try await putThenGet("16 concurrent 100 KiB", medium, keys: Array(keys.prefix(200)), tasks: 16,
                             in: S3Store(bucket: bucket, prefix: "bench-\(run)/100k/", client: client))
    }

    /// Writes `value` under every key, `tasks` at once, then reads each back (checking its
    /// size), each as a phase of its own, then deletes the keys.
    static func putThenGet(_ name: String, _ value: Data, keys: [StoreKey], tasks: Int, in store: S3Store) async throws {
        try await phase("\(name) PUT", count: keys.count) {
            try await inParallel(keys, tasks: tasks) { _ = try await store.write(value, for: $0, options: WriteOptions()) }
        }
        try await phase("\(name) GET", count: keys.count) {
            try await inParallel(keys, tasks: tasks) { key in
                guard try await store.read(key)?.value.count == value.count else { throw Missing(key: key) }
            }
        }
        _ = try await store.deleteBatch(keys.map { BatchDelete($0) })
    }

    static func large(client: S3Client, bucket: String, run: String, mebibytes: Int) async throws {
        let store = S3Store(bucket: bucket, prefix: "bench-\(run)/large/", client: client)
        let size = Int64(mebibytes) << 20
        try await store.write(Data("warm".utf8), for: "warm", options: WriteOptions())
        try await store.discard("warm")
        try await phase("\(mebibytes) MiB multipart upload", count: mebibytes, unit: "MiB") {
            _ = try await store.write(contentsOf: PatternChunks(total: size), for: "big", options: WriteOptions(expectedSize: size))
        }
        try await phase("\(mebibytes) MiB download", count: mebibytes, unit: "MiB") {
            guard let entry = try await store.readStream("big", chunkSize: 1 << 20) else { throw Missing(key: "big") }
            var received: Int64 = 0
            for try await chunk in entry.chunks { received += Int64(chunk.count) }
            guard received == size else { throw Missing(key: "big") }
        }
        try await store.discard("big")
        print(#"{"phase": "peak RSS", "mib": \#(peakResidentMiB())}"#)
    }

    /// Runs `body` once, and prints its rate and the CPU time it cost per unit.
    static func phase(_ name: String, count: Int, unit: String = "op", _ body: () async throws -> Void) async throws {
        let cpuBefore = cpuMicroseconds()
        let start = ContinuousClock.now
        try await body()
        let elapsed = ContinuousClock.now - start
        let cpu = cpuMicroseconds() - cpuBefore
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let rate = Double(count) / seconds
        print(#"{"phase": "\#(name)", "per_second": \#(String(format: "%.1f", rate)), "cpu_us_per_\#(unit)": \#(String(format: "%.0f", cpu / Double(count)))}"#)
    }

    /// Runs `body` for every key, at most `tasks` at once.
    /// One task runs them in a plain loop, with no child task per key.
    static func inParallel(_ keys: [StoreKey], tasks: Int, _ body: @escaping @Sendable (StoreKey) async throws -> Void) async throws {
        if tasks == 1 {
            for key in keys { try await body(key) }
            return
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            for _ in 0..<min(tasks, keys.count) {
                let key = keys[next]; next += 1
                group.addTask { try await body(key) }
            }
            while try await group.next() != nil, next < keys.count {
                let key = keys[next]; next += 1
                group.addTask { try await body(key) }
            }
            try await group.waitForAll()
        }
    }

    static func cpuMicroseconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e6 + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec)
    }

    static func peakResidentMiB() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss / 1024  // kilobytes on Linux
    }
}

struct Missing: Error, CustomStringConvertible {
    var key: StoreKey
    var description: String { "the value of '\(key)' did not come back whole" }
}

/// `total` bytes of a repeating pattern in chunks of 1 MiB, made as they are asked for.
struct PatternChunks: AsyncSequence, Sendable {
    typealias Element = Data
    let total: Int64
    static let chunk = Data((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ ($0 >> 12)) })

    struct AsyncIterator: AsyncIteratorProtocol {
        var remaining: Int64
        mutating func next() async throws -> Data? {
            guard remaining > 0 else { return nil }
            let count = Int(Swift.min(remaining, Int64(PatternChunks.chunk.count)))
            remaining -= Int64(count)
            return count == PatternChunks.chunk.count ? PatternChunks.chunk : PatternChunks.chunk.prefix(count)
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(remaining: total) }
}
