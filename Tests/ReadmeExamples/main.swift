// The Swift examples of the README, compiled and run in a fresh directory: each function's body is
// one example, word for word (ReadmeExampleTests checks that they match, and runs this program
// twice in a row). Their `import` lines are the ones at the top of this file.
import Foundation
import Trove
import Prometheus
import TroveConformance
import TroveObservability

/// The store of your own that the backend example checks: the memory store stands in for it.
typealias MyStore = MemoryStore

/// "Using it": the quick start.
func quickStart() async throws {
    // A directory store in ./data, created on first use.
    let store = try FileSystemStore(root: URL(filePath: "data"))

    // Write, read, delete. A missing key is nil.
    try await store.set(Data("hello".utf8), for: "greetings/en")
    if let bytes = try await store["greetings/en"] {
        print(String(decoding: bytes, as: UTF8.self))          // hello
    }

    // Conditional writes: create only if absent, or replace only the version you read. Errors
    // are StoreError values; match on their code.
    do {
        try await store.set(Data("v1".utf8), for: "docs/readme", condition: .ifAbsent)
    } catch let error as StoreError where error.code == .conditionFailed {
        print("docs/readme was there already; nothing was changed")    // the second run
    }
    if let current = try await store.metadata(for: "docs/readme") {
        try await store.set(Data("v2".utf8), for: "docs/readme", condition: .ifMatches(current.etag))
    }

    // Compare-and-swap in a loop; safe across tasks and processes.
    try await store.update("counters/visits") { current in
        let count = current.flatMap { Int(String(decoding: $0, as: UTF8.self)) } ?? 0
        return .set(Data(String(count + 1).utf8))
    }

    // Expiry, listing (paged under the hood, byte-wise order), one level of a hierarchy.
    try await store.set(Data("token".utf8), for: "sessions/abc", expiry: .after(.seconds(3600)))
    for try await key in try store.keys(withPrefix: "docs/") { print(key) }
    for try await element in store.list(try ListQuery(prefix: "", delimiter: "/")) { print(element.name) }

    // A namespace, and large values in chunks without holding them in memory.
    let alice = store.prefixed("users/alice")
    try await alice.set(Data("avatar bytes".utf8), for: "avatar")     // users/alice/avatar
    if let stream = try await store.readStream("users/alice/avatar") {
        for try await chunk in stream.chunks { print(chunk.count) }
    }
}

/// Layers composed in one expression, and a typed view on top.
func layersAndTypedValues() async throws {
    struct User: Codable { var name: String; var visits: Int }

    let users = try FileSystemStore(root: URL(filePath: "data"))
        .prefixed("app/")
        .cached(in: BoundedMemoryStore(maximumBytes: 64 << 20, maximumEntries: 10_000), mode: .mutable)
        .typed(as: User.self)

    try await users.set(User(name: "Alice", visits: 0), for: "alice")
    try await users.update("alice") { user in
        guard var user else { return .keep }
        user.visits += 1
        return .set(user)
    }
    let alice = try await users["alice"]          // User?, decoded from JSON
}

/// Batches, read options and the dictionary operations, on the quick start's store.
func manyKeysAtOnce(_ store: FileSystemStore) async throws {
    // Batches: one result per entry; `atomicBatches` says whether a failure undoes the rest.
    let results = try await store.writeBatch([
        BatchWrite("users/alice", Data("A".utf8)),
        BatchWrite("users/bob", Data("B".utf8), options: WriteOptions(condition: .ifAbsent)),
    ])
    let entries = try await store.readBatch(["users/alice", "users/carol"])   // [entry, nil]
    let etag = entries[0]?.metadata.etag

    // A byte range, or nothing at all when the value has not changed since you read it.
    let head = try await store.read("users/alice", options: ReadOptions(range: .bytes(0..<1)))
    if case .unchanged? = try await store.read("users/alice", options: ReadOptions(ifNoneMatch: etag)) { /* cached copy is current */ }

    // Dictionary operations, atomic on every store with conditional writes.
    let visits = try await store.increment("counters/visits")              // 1, 2, 3, …
    let session = try await store.value(for: "sessions/x", default: Data("new".utf8))   // setdefault
    let popped = try await store.removeValue(for: "users/bob")             // pop
    try await store.removeAll(withPrefix: "sessions/")                     // clear a namespace
    let report = try await store.copy(to: MemoryStore(), withPrefix: "users/")   // streams, keeps expiry
}

/// "Writing a backend": the contract run against a store (here ``MyStore``).
func checkingABackend() async throws {
    for check in ContractCheck.allCases {
        let clock = ManualWallClock()
        let store = MyStore(clock: clock.wallClock)
        try await check.run(against: store, environment: ConformanceEnvironment(clock: clock))
    }
}

/// "In production": retries, timeouts, a concurrency limit, and metrics for Prometheus.
func inProduction() async throws {
    // Metrics go to swift-metrics. A program bootstraps once, before it makes its stores:
    // MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry)); here the factory
    // is passed to the store instead.
    let registry = PrometheusCollectorRegistry()
    let metrics = PrometheusMetricsFactory(registry: registry)

    // Innermost first: measured calls, at most 16 at once, each cut off after 5 s, and the
    // retryable failures (a lost connection, a timeout) tried again up to 4 times in 10 s.
    let documents = try FileSystemStore(root: URL(filePath: "data"))
        .recordingMetrics(system: "file", name: "documents", factory: metrics)
        .limitingConcurrency(to: 16)
        .withTimeouts(call: .seconds(5))
        .retrying(RetryPolicy(attempts: 4, within: .seconds(10)))

    try await documents.set(Data("bonjour".utf8), for: "greetings/fr")
    _ = try await documents.read("greetings/fr")
    _ = try await documents.read("greetings/xx")

    // What a /metrics endpoint serves: the counts that are not zero.
    for line in registry.emitToString().split(separator: "\n")
    where line.hasPrefix("trove_operations_total") && !line.hasSuffix(" 0") {
        print(line)
    }
}

try await quickStart()
try await layersAndTypedValues()
try await manyKeysAtOnce(try FileSystemStore(root: URL(filePath: "data")))
try await checkingABackend()
try await inProduction()
print("every example ran")
