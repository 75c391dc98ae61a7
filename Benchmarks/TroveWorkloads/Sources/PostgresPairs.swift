import Foundation
import PostgresNIO
import Trove
import TrovePostgres
import WorkloadKit
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `TroveWorkloads postgres`: `PostgresStore` beside a raw postgres-nio loop of the same prepared
/// statements, on one server, in one process, in alternating rounds (raw, store, raw, store, …),
/// so that a slow moment of the shared machine lands on both.
///
/// The server is the URL in `TROVE_BENCH_POSTGRES_URL` (or `TROVE_TEST_POSTGRES_URL`), such as
/// `postgres://trove:secret@127.0.0.1:5432/trove_test?sslmode=disable`. Each subject works in a
/// table of its own, made for the run and dropped at its end.
///
/// Phases, each on W1 (10,000 keys x 100 B):
/// - put, get and delete one call at a time, from one task (so one connection's round trip);
/// - get from 8 tasks at once over a pool of 8 connections;
/// - batch put: `writeBatch` of 100 entries at a time, against the store's own one-at-a-time put.
///
/// Prints a table of operations per second (median and best round) and the store's speed as a
/// fraction of its peer's.
enum PostgresPairs {
    /// How many tasks the concurrent phase reads from, and the most connections of each pool.
    static let concurrency = 8
    /// How many entries each batch of the batch phase writes.
    static let batchSize = 100

    static func run(rounds: Int) async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let text = environment["TROVE_BENCH_POSTGRES_URL"] ?? environment["TROVE_TEST_POSTGRES_URL"] else {
            throw WorkloadError("set TROVE_BENCH_POSTGRES_URL to a postgres:// URL of the server to measure")
        }
        let settings = try PostgresStore.URLConfiguration(StoreURL(parsing: text), environment: environment)
        var configuration = settings.clientConfiguration()
        configuration.options.maximumConnections = concurrency
        configuration.options.minimumConnections = concurrency
        let w1 = try Workload.w1()
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let storeTable = "bench_store_" + suffix
        let rawTable = "bench_raw_" + suffix

        let client = PostgresClient(configuration: configuration)
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            let store = try await PostgresStore(client: client, table: storeTable, location: settings.location)
            // The same shape as the store's table (the store made its own), for the raw loop.
            _ = try await client.query(PostgresQuery(unsafeSQL: "CREATE TABLE \(rawTable) (LIKE \(storeTable) INCLUDING ALL)")).collect()
            do {
                let raw = RawPostgres(client: client, table: rawTable)
                try await measure(w1, raw: raw, store: store, rounds: rounds)
                if environment["TROVE_BENCH_POSTGRES_LARGE"] != "0" {
                    let large = try await PostgresStore(client: client, table: storeTable,
                                                        options: .init(maximumValueSize: 257 << 20), location: settings.location)
                    // Streamed first: the whole values' peak would hide theirs.
                    try await measureStreamedValues(large)
                    try await measureLargeValues(large)
                }
            } catch {
                _ = try? await client.query(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS \(rawTable), \(storeTable)")).collect()
                throw error
            }
            _ = try await client.query(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS \(rawTable), \(storeTable)")).collect()
        }
    }

    static func measure(_ w1: Workload, raw: RawPostgres, store: PostgresStore, rounds: Int) async throws {
        print("PostgresStore against a raw postgres-nio loop of the same prepared statements, \(rounds) alternating rounds "
              + "per phase (\(w1.summary); \(concurrency) connections)")
        print("")
        print("| phase | raw loop ops/s (median, best) | PostgresStore ops/s (median, best) | store/raw by median |")
        print("| --- | ---: | ---: | ---: |")
        let entries = w1.keys.map { BatchWrite($0, w1.valueData) }
        let emptyRaw = { try await raw.clear() }
        let emptyStore = { _ = try await store.deleteBatch(w1.keys.map { BatchDelete($0) }) }

        var rawSamples: [Double] = [], storeSamples: [Double] = []
        // put: into an empty table each round.
        for _ in 0..<rounds {
            try await emptyRaw()
            rawSamples.append(try await time { for index in 0..<w1.keyCount { try await raw.put(w1, index) } })
            try await emptyStore()
            storeSamples.append(try await time { try await StorePhases.put(w1, into: store) })
        }
        report("W1 put", w1.keyCount, rawSamples, storeSamples)

        // get: the tables hold every key now.
        rawSamples = []; storeSamples = []
        for _ in 0..<rounds {
            rawSamples.append(try await time { for index in w1.readOrder { try await raw.get(w1, index) } })
            storeSamples.append(try await time { try await StorePhases.get(w1, from: store) })
        }
        report("W1 get", w1.keyCount, rawSamples, storeSamples)

        // get again, the raw loop running each statement on its connection's event loop (a task
        // executor preference), against the plain raw loop: what the thread hand-overs cost.
        var onLoopSamples: [Double] = []
        rawSamples = []
        for _ in 0..<rounds {
            rawSamples.append(try await time { for index in w1.readOrder { try await raw.get(w1, index) } })
            onLoopSamples.append(try await time { for index in w1.readOrder { try await raw.get(w1, index, onEventLoop: true) } })
        }
        report("W1 get (raw loop on the event loop in the store's column)", w1.keyCount, rawSamples, onLoopSamples)

        // get from 8 tasks: each takes the next index of the read order until none is left.
        rawSamples = []; storeSamples = []
        for _ in 0..<rounds {
            rawSamples.append(try await time { try await concurrently(w1) { index in try await raw.get(w1, index) } })
            storeSamples.append(try await time {
                try await concurrently(w1) { index in
                    guard try await store.read(w1.keys[index]) != nil else { throw WorkloadError("\(w1.keys[index]) is missing") }
                }
            })
        }
        report("W1 get, \(concurrency) tasks", w1.keyCount, rawSamples, storeSamples)

        // delete: from a full table each round.
        rawSamples = []; storeSamples = []
        for round in 0..<rounds {
            if round > 0 { for index in 0..<w1.keyCount { try await raw.put(w1, index) } }
            rawSamples.append(try await time { for index in 0..<w1.keyCount { try await raw.delete(w1, index) } })
            if round > 0 { _ = try await store.writeBatch(entries) }
            storeSamples.append(try await time { try await StorePhases.delete(w1, from: store) })
        }
        report("W1 delete", w1.keyCount, rawSamples, storeSamples)

        // batch put against the store's one-at-a-time put, into an empty table each round.
        print("")
        print("| phase | PostgresStore one at a time ops/s (median, best) | batches of \(batchSize) ops/s (median, best) | batches/one at a time by median |")
        print("| --- | ---: | ---: | ---: |")
        var singles: [Double] = [], batches: [Double] = []
        for _ in 0..<rounds {
            try await emptyStore()
            singles.append(try await time { try await StorePhases.put(w1, into: store) })
            try await emptyStore()
            batches.append(try await time {
                for start in stride(from: 0, to: entries.count, by: batchSize) {
                    let results = try await store.writeBatch(Array(entries[start..<min(start + batchSize, entries.count)]))
                    for result in results { _ = try result.get() }
                }
            })
        }
        report("W1 put", w1.keyCount, singles, batches)
        try await emptyStore()
    }

    /// One value of 16 MiB and 256 MiB (random bytes made a MiB at a time), streamed in with
    /// `write(contentsOf:)` and out with `readStream`, each chunk checked against the bytes
    /// made again, three times each: the throughput, and how much the process's peak resident
    /// memory grew (the value is never whole in the process).
    static func measureStreamedValues(_ store: PostgresStore) async throws {
        print("")
        print("| value, streamed | write MiB/s (median of 3) | read MiB/s (median of 3) | peak resident memory growth |")
        print("| ---: | ---: | ---: | ---: |")
        @Sendable func chunk(_ index: Int, seed: UInt64) -> Data {
            var generator = SplitMix64(seed: seed &+ UInt64(index))
            var data = Data(count: 1 << 20)
            data.withUnsafeMutableBytes { buffer in
                let words = buffer.bindMemory(to: UInt64.self)
                for word in words.indices { words[word] = generator.next() }
            }
            return data
        }
        for size in [16 << 20, 256 << 20] {
            let seed = UInt64(size)
            let peakBefore = peakResidentBytes()
            var writes: [Double] = [], reads: [Double] = []
            for _ in 0..<3 {
                let chunks = ValueChunks {
                    var index = 0
                    return ValueChunks.ChunkSource {
                        guard index < size >> 20 else { return nil }
                        defer { index += 1 }
                        return chunk(index, seed: seed)
                    }
                }
                writes.append(try await time { try await store.set(contentsOf: chunks, for: "large") })
                reads.append(try await time {
                    guard let stream = try await store.readStream("large", chunkSize: 1 << 20) else {
                        throw WorkloadError("large stream: no value")
                    }
                    var index = 0
                    for try await piece in stream.chunks {
                        guard piece == chunk(index, seed: seed) else { throw WorkloadError("large stream: chunk \(index) differs") }
                        index += 1
                    }
                    guard index == size >> 20 else { throw WorkloadError("large stream: \(index) chunks") }
                })
            }
            _ = try await store.delete("large")
            let mebibytes = Double(size) / Double(1 << 20)
            let growth = Double(max(0, peakResidentBytes() - peakBefore)) / Double(1 << 20)
            print("| \(size >> 20) MiB " + String(format: "| %.0f | %.0f | %.0f MiB |",
                                                  mebibytes / writes.sorted()[1], mebibytes / reads.sorted()[1], growth))
        }
    }

    /// One value of 100 KiB, 16 MiB and 256 MiB (random bytes, which TOAST cannot compress),
    /// written and read back whole through `bytea`, three times each: the throughput, and how
    /// much the process's peak resident memory grew over the value's size.
    static func measureLargeValues(_ store: PostgresStore) async throws {
        print("")
        print("| value | write MiB/s (median of 3) | read MiB/s (median of 3) | peak resident memory growth |")
        print("| ---: | ---: | ---: | ---: |")
        for size in [100 << 10, 16 << 20, 256 << 20] {
            var generator = SplitMix64(seed: UInt64(size))
            var value = Data(count: size)
            value.withUnsafeMutableBytes { buffer in
                let words = buffer.bindMemory(to: UInt64.self)
                for index in words.indices { words[index] = generator.next() }
            }
            let peakBefore = peakResidentBytes()
            var writes: [Double] = [], reads: [Double] = []
            for _ in 0..<3 {
                writes.append(try await time { try await store.set(value, for: "large") })
                reads.append(try await time {
                    guard try await store.value(for: "large") == value else { throw WorkloadError("large get: the value differs") }
                })
            }
            _ = try await store.delete("large")
            let mebibytes = Double(size) / Double(1 << 20)
            let growth = Double(max(0, peakResidentBytes() - peakBefore)) / Double(1 << 20)
            let label = size >= 1 << 20 ? "\(size >> 20) MiB" : "\(size >> 10) KiB"
            print("| \(label) " + String(format: "| %.0f | %.0f | %.0f MiB |",
                                         mebibytes / writes.sorted()[1], mebibytes / reads.sorted()[1], growth))
        }
    }

    /// The process's peak resident memory so far, in bytes.
    static func peakResidentBytes() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss * 1024
    }

    /// Runs `body` for every index of `workload`'s read order, from ``concurrency`` tasks.
    static func concurrently(_ workload: Workload, _ body: @escaping @Sendable (Int) async throws -> Void) async throws {
        let next = NextIndex(count: workload.keyCount)
        let order = workload.readOrder
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    while let position = next.take() { try await body(order[position]) }
                }
            }
            try await group.waitForAll()
        }
    }

    /// Seconds `body` takes on the wall clock.
    static func time(_ body: () async throws -> Void) async throws -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        try await body()
        return start.duration(to: clock.now).seconds
    }

    static func report(_ name: String, _ operations: Int, _ peer: [Double], _ subject: [Double]) {
        func median(_ values: [Double]) -> Double {
            let sorted = values.sorted()
            return sorted.count % 2 == 1 ? sorted[sorted.count / 2]
                : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        }
        let count = Double(operations)
        print("| \(name) " + String(format: "| %.0f, %.0f | %.0f, %.0f | %.2f |",
                                    count / median(peer), count / peer.min()!,
                                    count / median(subject), count / subject.min()!,
                                    median(peer) / median(subject)))
    }
}

/// The next position of a shared walk through `count` positions, taken by many tasks.
final class NextIndex: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    private let count: Int

    init(count: Int) { self.count = count }

    func take() -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard next < count else { return nil }
        next += 1
        return next - 1
    }
}

/// The raw loop: postgres-nio's `PostgresClient.execute` of prepared statements whose SQL is the
/// store's own (an upsert, a read by key of the live row, a delete that says whether the row
/// was live), decoding the same columns, without Trove in between.
struct RawPostgres: Sendable {
    let client: PostgresClient
    let table: String

    /// A prepared statement of SQL known only at run time (the table's name): its name and its
    /// text are read from the task that runs it.
    struct Statement: PostgresPreparedStatement {
        @TaskLocal static var current = (name: "", sql: "")
        static var name: String { current.name }
        static var sql: String { current.sql }
        typealias Row = PostgresRow
        let bindings: PostgresBindings
        func makeBindings() throws -> PostgresBindings { bindings }
        func decodeRow(_ row: PostgresRow) throws -> PostgresRow { row }
    }

    static let live = "(expires_at IS NULL OR expires_at > now())"
    static let columns = "size, etag, created_at, modified_at, expires_at"

    var writeSQL: String {
        """
        INSERT INTO \(table) AS e (key, value, size, etag, created_at, modified_at, expires_at) \
        VALUES ($1, $2, $3, $4, now(), now(), COALESCE($5::timestamptz, now() + $6::float8 * interval '1 microsecond')) \
        ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, size = EXCLUDED.size, etag = EXCLUDED.etag, \
        created_at = CASE WHEN (e.expires_at IS NOT NULL AND e.expires_at <= now()) THEN now() ELSE e.created_at END, \
        modified_at = now(), expires_at = EXCLUDED.expires_at RETURNING \(Self.columns)
        """
    }
    var readSQL: String { "SELECT value, \(Self.columns) FROM \(table) WHERE key = $1 AND \(Self.live)" }
    var deleteSQL: String { "DELETE FROM \(table) WHERE key = $1 RETURNING \(Self.live)" }

    func run(_ sql: String, name: String, _ bindings: PostgresBindings, onEventLoop: Bool = false) async throws -> [PostgresRow] {
        try await Statement.$current.withValue((name, sql)) {
            guard onEventLoop else {
                var rows: [PostgresRow] = []
                for try await row in try await client.execute(Statement(bindings: bindings)) { rows.append(row) }
                return rows
            }
            return try await client.withConnection { connection in
                try await withTaskExecutorPreference(LoopExecutor(connection.eventLoop)) {
                    var rows: [PostgresRow] = []
                    for try await row in try await connection.execute(Statement(bindings: bindings), logger: Self.logger) { rows.append(row) }
                    return rows
                }
            }
        }
    }

    static let logger: Logger = {
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        return logger
    }()

    /// Runs every job of a task on one event loop.
    final class LoopExecutor: TaskExecutor {
        let eventLoop: any EventLoop
        init(_ eventLoop: any EventLoop) { self.eventLoop = eventLoop }
        func enqueue(_ job: consuming ExecutorJob) {
            let job = UnownedJob(job)
            eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
        }
    }

    func put(_ workload: Workload, _ index: Int) async throws {
        var bindings = PostgresBindings()
        try bindings.append(workload.keyNames[index])
        try bindings.append(workload.valueData)
        bindings.append(Int64(workload.valueByteCount))
        try bindings.append(String(index, radix: 16))
        try bindings.append(Date?.none)
        bindings.append(Double?.none)
        let rows = try await run(writeSQL, name: "raw_write", bindings)
        guard let row = rows.first?.makeRandomAccess() else { throw WorkloadError("raw put: no row came back") }
        _ = try row[0].decode(Int64.self)
        _ = try row[1].decode(String.self)
        _ = try row[2].decode(Date.self)
        _ = try row[3].decode(Date.self)
        _ = try row[4].decode(Date?.self)
    }

    func get(_ workload: Workload, _ index: Int, onEventLoop: Bool = false) async throws {
        var bindings = PostgresBindings()
        try bindings.append(workload.keyNames[index])
        let rows = try await run(readSQL, name: "raw_read", bindings, onEventLoop: onEventLoop)
        guard let row = rows.first?.makeRandomAccess() else { throw WorkloadError("raw get: \(workload.keyNames[index]) is missing") }
        let value = try row[0].decode(Data.self)
        _ = try row[1].decode(Int64.self)
        _ = try row[2].decode(String.self)
        _ = try row[3].decode(Date.self)
        _ = try row[4].decode(Date.self)
        _ = try row[5].decode(Date?.self)
        guard value.count == workload.valueByteCount else { throw WorkloadError("raw get: \(value.count) bytes") }
    }

    func delete(_ workload: Workload, _ index: Int) async throws {
        var bindings = PostgresBindings()
        try bindings.append(workload.keyNames[index])
        let rows = try await run(deleteSQL, name: "raw_delete", bindings)
        guard try rows.first?.decode(Bool.self) == true else { throw WorkloadError("raw delete: \(workload.keyNames[index]) was missing") }
    }

    func clear() async throws {
        _ = try await client.query(PostgresQuery(unsafeSQL: "DELETE FROM \(table)")).collect()
    }
}
