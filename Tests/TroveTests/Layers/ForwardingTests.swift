import Foundation
import Synchronization
import Testing
import Trove

/// A store with its own version of every requirement that has a default, which records each
/// call, so a test can see whether a layer reached it or fell back to the protocol's loop.
final class RecordingStore: KeyValueStore {
    let base = MemoryStore()
    private let calls = Mutex<[String]>([])

    var description: String { "recording memory" }
    var capabilities: StoreCapabilities { base.capabilities }

    func recorded() -> Set<String> { Set(calls.withLock { $0 }) }
    func reset() { calls.withLock { $0 = [] } }
    private func record(_ name: String) { calls.withLock { $0.append(name) } }

    func read(_ key: StoreKey) async throws -> StoreEntry? { try await base.read(key) }
    func readStream(_ key: StoreKey, chunkSize: Int) async throws -> StreamedEntry? {
        try await base.readStream(key, chunkSize: chunkSize)
    }
    func metadata(for key: StoreKey) async throws -> EntryMetadata? { try await base.metadata(for: key) }
    func write(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        try await base.write(value, for: key, options: options)
    }
    func delete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool { try await base.delete(key, condition: condition) }
    func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
        try await base.listPage(query, after: cursor, limit: limit)
    }
    func reclaimExpired() async throws -> Int { try await base.reclaimExpired() }

    func read(_ key: StoreKey, options: ReadOptions) async throws -> ReadOutcome<StoreEntry>? {
        record("read(options)")
        return try await base.read(key, options: options)
    }
    func readStream(_ key: StoreKey, chunkSize: Int, options: ReadOptions) async throws -> ReadOutcome<StreamedEntry>? {
        record("readStream(options)")
        return try await base.readStream(key, chunkSize: chunkSize, options: options)
    }
    func metadata(for key: StoreKey, options: ReadOptions) async throws -> EntryMetadata? {
        record("metadata(options)")
        return try await base.metadata(for: key, options: options)
    }
    func discard(_ key: StoreKey) async throws {
        record("discard")
        try await base.discard(key)
    }
    func count(withPrefix prefix: String) async throws -> Int {
        record("count")
        return try await base.count(withPrefix: prefix)
    }
    func readBatch(_ keys: [StoreKey]) async throws -> [StoreEntry?] {
        record("readBatch")
        return try await base.readBatch(keys)
    }
    func writeBatch(_ writes: [BatchWrite]) async throws -> [Result<EntryMetadata, StoreError>] {
        record("writeBatch")
        return try await base.writeBatch(writes)
    }
    func deleteBatch(_ deletes: [BatchDelete]) async throws -> [Result<Void, StoreError>] {
        record("deleteBatch")
        return try await base.deleteBatch(deletes)
    }
    func url(for key: StoreKey, validFor lifetime: Duration) async throws -> URL? {
        record("url")
        return URL(string: "https://objects.invalid/\(key.rawValue)?ttl=\(lifetime.components.seconds)")
    }
}

/// Every layer passes the requirements that have defaults on to the store beneath, so a
/// store's native batch, count or conditional read is reached through any stack and through
/// `any KeyValueStore`; where a layer cannot (it must see each entry), it says so by dropping
/// the capability, and the test names those exceptions.
@Suite("Layers forward batches, counts and read options")
struct ForwardingTests {
    static let everything: Set<String> = [
        "read(options)", "readStream(options)", "metadata(options)", "discard", "count", "readBatch", "writeBatch",
        "deleteBatch", "url",
    ]

    /// Each layer over a recording store, and the calls it is expected not to pass on.
    static let layers: [(String, @Sendable (RecordingStore) -> any KeyValueStore, Set<String>)] = [
        ("prefixed", { $0.prefixed("app") }, []),
        ("limited", { $0.limited(keyLength: 200, valueSize: 1 << 20) }, []),
        ("write-once", { $0.writeOnce() }, ["writeBatch"]),
        ("expiring (delegating)", { $0.expiring(after: .seconds(60)) }, []),
        ("cached", { $0.cached(in: BoundedMemoryStore(maximumBytes: 1 << 20, maximumEntries: 100)) },
         ["read(options)", "readStream(options)", "metadata(options)"]),
        ("tiered", { $0.tiered(below: MemoryStore()) }, ["read(options)", "readStream(options)", "metadata(options)"]),
        ("any", { AnyKeyValueStore($0) }, []),
        ("retrying", { $0.retrying() }, []),
        ("timeouts", { $0.withTimeouts() }, []),
        ("concurrency limit", { $0.limitingConcurrency(to: 4) }, []),
        ("retries around timeouts", { $0.retrying().withTimeouts() }, []),
        ("prefixed twice, erased", { AnyKeyValueStore($0.prefixed("a")).prefixed("b") }, []),
    ]

    @Test(arguments: 0..<layers.count)
    func layerReachesTheStoresOwnVersions(_ index: Int) async throws {
        let (name, wrap, exceptions) = Self.layers[index]
        let recording = RecordingStore()
        let store: any KeyValueStore = wrap(recording)
        try await store.set(Data("0123456789".utf8), for: "k")
        recording.reset()

        _ = try await store.read("k", options: ReadOptions(range: .bytes(2..<4)))
        _ = try await store.readStream("k", chunkSize: 4, options: ReadOptions(range: .bytes(2..<4)))
        _ = try await store.metadata(for: "k", options: .none)
        _ = try await store.count(withPrefix: "")
        _ = try await store.readBatch(["k", "missing"])
        _ = try await store.writeBatch([BatchWrite("b", Data("b".utf8))])
        _ = try await store.deleteBatch(["b"])
        try await store.discard("gone")
        _ = try await store.url(for: "k", validFor: .seconds(60))

        let reached = recording.recorded()
        let expected = Self.everything.subtracting(exceptions).subtracting(name.hasPrefix("expiring") ? ["url"] : [])
        #expect(reached.isSuperset(of: expected), "\(name) did not pass on \(expected.subtracting(reached).sorted())")
    }

    @Test func readOnlyForwardsReadsAndRefusesBatchesBeforeTheBase() async throws {
        let recording = RecordingStore()
        try await recording.set(Data("v".utf8), for: "k")
        let store: any KeyValueStore = recording.readOnly()
        recording.reset()
        _ = try await store.count(withPrefix: "")
        _ = try await store.readBatch(["k"])
        _ = try await store.read("k", options: ReadOptions(ifNoneMatch: ETag("x")))
        await #expect(throws: StoreError.self) { try await store.writeBatch([BatchWrite("k", Data())]) }
        await #expect(throws: StoreError.self) { try await store.deleteBatch(["k"]) }
        await #expect(throws: StoreError.self) { try await store.discard("k") }
        #expect(recording.recorded() == ["count", "readBatch", "read(options)"])
        #expect(try await recording.read("k")?.value == Data("v".utf8))
    }

    @Test func typedViewsBatchTheirReadsAndWrites() async throws {
        let recording = RecordingStore()
        let users = recording.prefixed("users").typed(as: [String].self)
        _ = try await users.setBatch([(key: "a", value: ["x"]), (key: "b", value: ["y", "z"])])
        #expect(try await users.values(for: ["b", "missing", "a"]) == [["y", "z"], nil, ["x"]])
        var listed: [[String]] = []
        for try await value in try users.values() { listed.append(value) }
        #expect(listed == [["x"], ["y", "z"]])
        #expect(try await users.count() == 2)
        #expect(recording.recorded().isSuperset(of: ["writeBatch", "readBatch", "count"]))
    }

    /// A layer that cannot keep a promise of its base does not claim it.
    @Test func layersOnlyClaimWhatTheyForward() {
        let memory = MemoryStore()
        #expect(memory.capabilities.isSuperset(of: [.atomicBatches, .expiryRefreshOnRead, .distinctETagPerWrite]))
        #expect(memory.prefixed("p").capabilities == memory.capabilities)
        #expect(!memory.writeOnce().capabilities.contains(.atomicBatches))
        #expect(!memory.readOnly().capabilities.contains(.expiryRefreshOnRead))
        #expect(!memory.cached(in: MemoryStore()).capabilities.contains(.expiryRefreshOnRead))
        #expect(!memory.expiring(sliding: true).capabilities.contains(.atomicBatches))
        #expect(memory.expiring(after: .seconds(5)).capabilities.contains(.atomicBatches))
    }
}
