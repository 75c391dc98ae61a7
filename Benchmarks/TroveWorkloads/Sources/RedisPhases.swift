import Foundation
import Trove
import TroveRedis
import TroveRedisClient
import WorkloadKit

/// `TroveWorkloads redis`: `RedisStore`'s W1 and W2 on the server of `TROVE_BENCH_REDIS_URL`
/// (a `redis://` store URL; its `layout` option picks the layout), one call at a time and in
/// batches, printed as one JSON object like the other subjects'. `redis-store-bench.sh` runs it
/// beside redis-py's loop (`redis_py.py`), which does the same phases with plain strings.
///
/// Phases: W1 (10,000 keys x 100 B) put, get in the seeded read order, list and delete, one
/// call at a time from one task (so each is one round trip); the same put, get and delete in
/// batches of 100 (`writeBatch`, `readBatch`, `deleteBatch`: one pipeline each); W2 (1,000 keys
/// x 100 KiB) put and get one at a time. Every phase checks what it read. The keys live under a
/// fresh random prefix inside the URL's, and the run ends with nothing left under it.
enum RedisPhases {
    /// How many entries each batch holds.
    static let batchSize = 100

    static func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let text = environment["TROVE_BENCH_REDIS_URL"] else {
            throw WorkloadError("set TROVE_BENCH_REDIS_URL to a redis:// URL of the server to measure")
        }
        var settings = try RedisStore.URLConfiguration(StoreURL(parsing: text))
        settings.prefix += "bench-" + String(UInt32.random(in: 0...UInt32.max), radix: 16) + ":"
        let client = settings.makeClient()
        let store = settings.makeStore(client: client)
        let w1 = try Workload.w1(), w2 = try Workload.w2()
        var results: [(String, Double, Double)] = []
        func record(_ name: String, _ count: Int, _ time: PhaseTime) {
            results.append((name, Double(count) / time.wall.seconds, time.processorSeconds * 1e6 / Double(count)))
        }
        do {
            for (phase, time) in try await RunWorkloads.run(w1, on: store) { record("W1 \(phase.rawValue)", w1.keyCount, time) }

            let entries = w1.keys.map { BatchWrite($0, w1.valueData) }
            record("W1 batch put", w1.keyCount, try await PhaseTime.measure {
                for start in stride(from: 0, to: entries.count, by: batchSize) {
                    for result in try await store.writeBatch(Array(entries[start..<min(start + batchSize, entries.count)])) {
                        _ = try result.get()
                    }
                }
            })
            let ordered = w1.readOrder.map { w1.keys[$0] }
            record("W1 batch get", w1.keyCount, try await PhaseTime.measure {
                var bytes = 0
                for start in stride(from: 0, to: ordered.count, by: batchSize) {
                    let batch = Array(ordered[start..<min(start + batchSize, ordered.count)])
                    for (key, entry) in zip(batch, try await store.readBatch(batch)) {
                        guard let entry else { throw WorkloadError("batch get: \(key) is missing") }
                        bytes += entry.value.count
                    }
                }
                guard bytes == w1.keyCount * w1.valueByteCount else { throw WorkloadError("batch get: \(bytes) bytes read") }
            })
            record("W1 batch delete", w1.keyCount, try await PhaseTime.measure {
                for start in stride(from: 0, to: w1.keys.count, by: batchSize) {
                    let batch = w1.keys[start..<min(start + batchSize, w1.keys.count)].map { BatchDelete($0) }
                    for result in try await store.deleteBatch(batch) { try result.get() }
                }
            })

            record("W2 put", w2.keyCount, try await PhaseTime.measure { try await StorePhases.put(w2, into: store) })
            record("W2 get", w2.keyCount, try await PhaseTime.measure { _ = try await StorePhases.get(w2, from: store) })
            try await StorePhases.delete(w2, from: store)

            var left = 0
            for try await _ in store.list() { left += 1 }
            guard left == 0 else { throw WorkloadError("\(left) keys are left under the run's prefix") }
        } catch {
            // Best effort: what matters is the error.
            do {
                for try await element in store.list() {
                    if case .entry(let key, _) = element { _ = try? await store.delete(key) }
                }
            } catch {}
            await client.shutdown()
            throw error
        }
        await client.shutdown()

        let layout = settings.layout.map { "\($0)" } ?? "default"
        let phases = results.map { "\"\($0.0)\": \(String(format: "%.1f", $0.1))" }.joined(separator: ", ")
        let processor = results.map { "\"\($0.0)\": \(String(format: "%.3f", $0.2))" }.joined(separator: ", ")
        print("{\"subject\": \"redis\", \"layout\": \"\(layout)\", \"ops_per_second\": {\(phases)}, "
              + "\"cpu_microseconds_per_op\": {\(processor)}}")
    }
}
