import Foundation
import Trove
import WorkloadKit

/// `TroveWorkloads file-scale DIRECTORY --scale-keys 10000,100000,1000000`: for each size, a
/// fresh `FileSystemStore` (buffered) filled with that many keys of 100 B (W1's keys and value,
/// one `set` each, so all in one directory), then:
///
/// - get: the latency of single `read`s of 20,000 keys in a seeded random order (after 2,000
///   reads to warm up), p50 and p99;
/// - list: `list()` of every key, and the process's memory while it runs: the peak resident set
///   (`VmHWM`, reset before the listing through `/proc/self/clear_refs`) and the peak of
///   anonymous memory (`RssAnon`, sampled every 10,000 keys);
/// - page: one `listPage(limit: 64)` after a cursor in the middle of the keys, the best of 5
///   (the directory has not settled yet when it was just filled), after the listing, so that
///   the listing's memory is measured without the window that pages keep.
///
/// Prints one Markdown table row per size. Each store's directory is removed before the next.
/// The keys are made from their numbers whenever they are needed: the process keeps no list of
/// them, and hands freed heap back (`malloc_trim`) before the listing, whose memory is measured.
enum FileScale {
    static func run(in directory: String, sizes: [Int]) async throws {
        let scratch = try ScratchDirectory.make(in: directory, label: "workloads-file-scale")
        defer { try? scratch.remove() }
        let value = Data((0..<100).map { UInt8((7 * $0 + 13) % 251) })
        print("FileSystemStore at scale (keys of 100 B, one directory)")
        print("")
        print("| keys | fill (s) | get p50 (µs) | get p99 (µs) | list (ms) | list peak RSS (MiB) | heap before list (MiB) | list peak heap (MiB) | page of 64 (ms) |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for (index, size) in sizes.enumerated() {
            let path = scratch.appending("f\(index)")
            do {
                let store = try FileSystemStore(root: URL(fileURLWithPath: path, isDirectory: true),
                                                configuration: .init(durability: .buffered), clock: .system)
                // Keys are made when needed, so that the process holds none of its own while it
                // measures what listing holds.
                func key(_ index: Int) throws -> StoreKey {
                    try StoreKey(validating: "key-" + String(repeating: "0", count: max(0, 7 - String(index).count)) + String(index))
                }
                let clock = ContinuousClock()
                let fill = try await clock.measure {
                    for index in 0..<size { try await store.set(value, for: try key(index)) }
                }

                var random = SplitMix64(seed: 42)
                for _ in 0..<2_000 { _ = try await store.read(try key(Int(random.next() % UInt64(size)))) }
                var latencies: [Duration] = []
                latencies.reserveCapacity(20_000)
                for _ in 0..<20_000 {
                    let chosen = try key(Int(random.next() % UInt64(size)))
                    let start = clock.now
                    let entry = try await store.read(chosen)
                    latencies.append(start.duration(to: clock.now))
                    guard entry?.value.count == value.count else { throw WorkloadError("\(chosen) is missing") }
                }
                latencies.sort()
                let p50 = latencies[latencies.count / 2], p99 = latencies[latencies.count * 99 / 100]

                latencies = []
                // Hand the heap that filling and reading freed back to the system, so that the
                // peak below starts from what the process holds.
                _ = trimHeap(0)
                SQLiteScale.resetPeakResidentSet()
                let heapBefore = SQLiteScale.memory("RssAnon")
                var heapPeak = heapBefore
                var listed = 0
                let list = try await clock.measure {
                    for try await _ in store.list() {
                        listed += 1
                        if listed % 10_000 == 0 { heapPeak = max(heapPeak, SQLiteScale.memory("RssAnon")) }
                    }
                }
                heapPeak = max(heapPeak, SQLiteScale.memory("RssAnon"))
                let residentPeak = SQLiteScale.memory("VmHWM")
                try SQLiteScale.check(listed, equals: size, "list")

                var pageBest = Duration.seconds(1_000)
                for _ in 0..<5 {
                    var count = 0
                    let elapsed = try await clock.measure {
                        count = try await store.listPage(ListQuery(), after: ListCursor(try key(size / 2).rawValue), limit: 64).elements.count
                    }
                    try SQLiteScale.check(count, equals: min(64, size - size / 2 - 1), "page")
                    pageBest = min(pageBest, elapsed)
                }

                func ms(_ duration: Duration) -> String { String(format: "%.1f", duration.seconds * 1e3) }
                func µs(_ duration: Duration) -> String { String(format: "%.2f", duration.seconds * 1e6) }
                func mib(_ kib: Int) -> String { String(format: "%.1f", Double(kib) / 1024) }
                print("| \(size) | \(String(format: "%.2f", fill.seconds)) | \(µs(p50)) "
                      + "| \(µs(p99)) | \(ms(list)) | \(mib(residentPeak)) | \(mib(heapBefore)) | \(mib(heapPeak)) "
                      + "| \(String(format: "%.2f", pageBest.seconds * 1e3)) |")
            }
            try FileManager.default.removeItem(atPath: path)
        }
    }
}

/// glibc's `malloc_trim`, which Swift's Glibc module does not declare.
@_silgen_name("malloc_trim")
private func trimHeap(_ pad: Int) -> Int32
