import Foundation
import Trove
import TroveSQLite
import WorkloadKit

/// `TroveWorkloads sqlite-scale DIRECTORY --scale-keys 10000,100000,1000000`: for each size, a
/// fresh `SQLiteStore` filled with that many keys of 100 B (W1's keys and value, written with
/// `writeAll` in batches of 10,000), then:
///
/// - count: `count()` of every key, the best of 5;
/// - get: the latency of single `read`s of 20,000 keys in a seeded random order (after reading
///   every key once and 2,000
///   reads to warm up), p50 and p99;
/// - list: `list()` of every key, and the process's memory while it runs: the peak resident set
///   (`VmHWM`, reset before the listing through `/proc/self/clear_refs`), which counts the
///   database's pages mapped by SQLite's memory-mapped reads, and the peak of anonymous memory
///   (`RssAnon`, the heap; sampled every 10,000 keys), which is what listing itself holds.
///
/// Prints one Markdown table row per size. The listing runs on a store opened after the reads,
/// so that the pages the reads mapped are not counted as the listing's.
enum SQLiteScale {
    static func run(in directory: String, sizes: [Int], memoryMapMiB: Int? = nil) async throws {
        let scratch = try ScratchDirectory.make(in: directory, label: "workloads-sqlite-scale")
        defer { try? scratch.remove() }
        let value = Data((0..<100).map { UInt8((7 * $0 + 13) % 251) })
        print("SQLiteStore at scale (keys of 100 B, tmpfs or the directory given)")
        print("")
        print("| keys | fill (s) | count (ms) | get p50 (µs) | get p99 (µs) | list (ms) | list peak RSS (MiB) | list peak heap (MiB) |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for (index, size) in sizes.enumerated() {
            let path = scratch.appending("s\(index)")
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            do {
                let file = URL(fileURLWithPath: path).appendingPathComponent("store.sqlite")
                let clock = ContinuousClock()
                // Filled, counted and read through one store, listed through another opened
                // afterwards: the listing's memory is then that of a process that lists, not the
                // pages that the reads before it mapped (SQLite maps the file for point reads).
                let (fill, countBest, latencies) = try await { () async throws -> (Duration, Duration, [Duration]) in
                let store = try await openStore(file, memoryMapMiB: memoryMapMiB)
                let keys = try (0..<size).map { try StoreKey(validating: "key-" + String(repeating: "0", count: max(0, 7 - String($0).count)) + String($0)) }
                let fill = try await clock.measure {
                    var start = 0
                    while start < size {
                        let end = min(size, start + 10_000)
                        try await store.writeAll(keys[start..<end].map { ($0, value) })
                        start = end
                    }
                }

                var countBest = Duration.seconds(1_000)
                for _ in 0..<5 {
                    var counted = 0
                    let elapsed = try await clock.measure { counted = try await store.count() }
                    try check(counted, equals: size, "count")
                    countBest = min(countBest, elapsed)
                }

                var random = SplitMix64(seed: 42)
                // Every key read once first: the latency measured is that of a store in use, whose
                // memory map already holds the pages, not of first touches of the map.
                for key in keys { _ = try await store.read(key) }
                for _ in 0..<2_000 { _ = try await store.read(keys[Int(random.next() % UInt64(size))]) }
                var latencies: [Duration] = []
                latencies.reserveCapacity(20_000)
                for _ in 0..<20_000 {
                    let key = keys[Int(random.next() % UInt64(size))]
                    let start = clock.now
                    let entry = try await store.read(key)
                    latencies.append(start.duration(to: clock.now))
                    guard entry?.value.count == value.count else { throw WorkloadError("\(key) is missing") }
                }
                latencies.sort()
                return (fill, countBest, latencies)
                }()

                let store = try await openStore(file, memoryMapMiB: memoryMapMiB)
                _ = trimHeap(0)
                resetPeakResidentSet()
                var heapPeak = memory("RssAnon")
                var listed = 0
                let list = try await clock.measure {
                    for try await _ in store.list() {
                        listed += 1
                        if listed % 10_000 == 0 { heapPeak = max(heapPeak, memory("RssAnon")) }
                    }
                }
                heapPeak = max(heapPeak, memory("RssAnon"))
                let residentPeak = memory("VmHWM")
                try check(listed, equals: size, "list")

                func ms(_ duration: Duration) -> String { String(format: "%.1f", duration.seconds * 1e3) }
                func µs(_ duration: Duration) -> String { String(format: "%.2f", duration.seconds * 1e6) }
                func mib(_ kib: Int) -> String { String(format: "%.1f", Double(kib) / 1024) }
                print("| \(size) | \(String(format: "%.2f", fill.seconds)) | \(ms(countBest)) | \(µs(latencies[latencies.count / 2])) "
                      + "| \(µs(latencies[latencies.count * 99 / 100])) | \(ms(list)) | \(mib(residentPeak)) | \(mib(heapPeak)) |")
            }
            try FileManager.default.removeItem(atPath: path)
        }
    }

    private static func openStore(_ file: URL, memoryMapMiB: Int?) async throws -> SQLiteStore {
        guard let memoryMapMiB else { return try await SQLiteStore(path: file) }
        return try await SQLiteStore(path: file, options: SQLiteStore.Options(memoryMapSize: memoryMapMiB << 20))
    }

    /// Resets the process's peak resident set (`VmHWM`) to its current size.
    static func resetPeakResidentSet() {
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    }

    /// A line of `/proc/self/status` in KiB, such as `VmHWM` or `RssAnon`; 0 where there is none.
    static func memory(_ field: String) -> Int {
        // Read to the end: the file's size says 0.
        guard let handle = FileHandle(forReadingAtPath: "/proc/self/status") else { return 0 }
        defer { try? handle.close() }
        let data = handle.readDataToEndOfFile()
        let status = String(decoding: data, as: UTF8.self)
        for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
            return Int(line.dropFirst(field.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "") ?? 0
        }
        return 0
    }

    static func check(_ value: Int, equals expected: Int, _ what: String) throws {
        guard value == expected else { throw WorkloadError("\(what): \(value), not \(expected)") }
    }
}

/// glibc's `malloc_trim`, which Swift's Glibc module does not declare.
@_silgen_name("malloc_trim")
private func trimHeap(_ pad: Int) -> Int32
