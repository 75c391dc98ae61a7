import Foundation
import Synchronization
import Testing
import Trove
import TroveConformance
import TroveTestSupport

/// A store that hides its base's native expiry: it does not claim
/// ``StoreCapabilities/expiration`` and refuses every write with an expiry, as a backend without
/// expiry must. Everything else is forwarded, so an ``ExpiringStore`` over it has to keep expiry
/// in its envelope.
struct ExpiryHidingStore<Base: KeyValueStore>: KeyValueStore {
    let base: Base

    var description: String { "\(base.description) without expiry" }
    var capabilities: StoreCapabilities { base.capabilities.subtracting(.expiration).subtracting(.passedOnOnlyByForwarding) }

    private func refusingExpiry(_ options: WriteOptions, _ key: StoreKey) throws {
        guard options.expiry.isNever else {
            throw StoreError(.notSupported, operation: .write, key: key, store: description,
                             message: "option expiry is not supported by this store")
        }
    }

    func read(_ key: StoreKey) async throws -> StoreEntry? { try await base.read(key) }

    func readStream(_ key: StoreKey, chunkSize: Int) async throws -> StreamedEntry? {
        try await base.readStream(key, chunkSize: chunkSize)
    }

    func metadata(for key: StoreKey) async throws -> EntryMetadata? { try await base.metadata(for: key) }

    func write(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        try refusingExpiry(options, key)
        return try await base.write(value, for: key, options: options)
    }

    func write<Chunks: AsyncSequence & Sendable>(
        contentsOf chunks: Chunks, for key: StoreKey, options: WriteOptions
    ) async throws -> EntryMetadata where Chunks.Element == Data {
        try refusingExpiry(options, key)
        return try await base.write(contentsOf: chunks, for: key, options: options)
    }

    func delete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool {
        try await base.delete(key, condition: condition)
    }

    func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
        try await base.listPage(query, after: cursor, limit: limit)
    }

    func list(_ query: ListQuery, pageSize: Int) -> StoreListing { base.list(query, pageSize: pageSize) }

    func url(for key: StoreKey, validFor lifetime: Duration) async throws -> URL? { try await base.url(for: key, validFor: lifetime) }

    func reclaimExpired() async throws -> Int { try await base.reclaimExpired() }
}

/// The stacks of policy layers the contract is checked against, built fresh for each test,
/// with values of up to 16 MiB.
enum PolicyFixture {
    /// Expiry delegated to the file store's native expiry.
    static let expiringFile = ConformanceFixture(name: "file.expiring()", usesDirectory: true, largeValueSize: 16 << 20) { clock, root in
        try FileSystemStore(root: try directory(root), clock: clock.wallClock).expiring(clock: clock.wallClock)
    }

    /// Sliding expiry over the file store: envelopes, with each deadline also given to the file store.
    static let slidingExpiringFile = ConformanceFixture(name: "file.expiring(sliding)", usesDirectory: true, largeValueSize: 16 << 20) { clock, root in
        try FileSystemStore(root: try directory(root), clock: clock.wallClock).expiring(sliding: true, clock: clock.wallClock)
    }

    /// Envelopes over a file store whose expiry is hidden: the layer alone makes entries expire.
    static let expiringFileWithoutExpiry = ConformanceFixture(name: "file.withoutExpiry.expiring()", usesDirectory: true, largeValueSize: 16 << 20) { clock, root in
        ExpiryHidingStore(base: try FileSystemStore(root: try directory(root), clock: clock.wallClock))
            .expiring(clock: clock.wallClock)
    }

    /// Sliding envelopes over a memory store whose expiry is hidden.
    static let slidingExpiringMemoryWithoutExpiry = ConformanceFixture(
        name: "memory.withoutExpiry.expiring(sliding)", usesDirectory: false, largeValueSize: 16 << 20
    ) { clock, _ in
        ExpiryHidingStore(base: MemoryStore(clock: clock.wallClock)).expiring(sliding: true, clock: clock.wallClock)
    }

    /// A memory store with the caps of a small embedded store: 32-byte keys, 16 KiB values.
    static let limitedMemory = ConformanceFixture(
        name: "memory.limited(32, 16 KiB)", usesDirectory: false, largeValueSize: 16 << 20, maximumKeyByteCount: 32,
        maximumValueSize: 16 << 10
    ) { clock, _ in
        MemoryStore(clock: clock.wallClock).limited(keyLength: 32, valueSize: 16 << 10)
    }

    static let all: [ConformanceFixture] = [
        expiringFile, slidingExpiringFile, expiringFileWithoutExpiry, slidingExpiringMemoryWithoutExpiry, limitedMemory,
    ]

    private static func directory(_ root: URL?) throws -> URL { try ConformanceFixture.require(root) }
}

/// The whole contract against expiring and limited stacks, and proof that the checks catch a
/// store that ignores its own value size limit.
@Suite("Policy layers: contract conformance")
struct PolicyConformanceTests {
    @Test("contract", .timeLimit(.minutes(15)), arguments: PolicyFixture.all, ContractCheck.allCases)
    func contract(_ fixture: ConformanceFixture, _ check: ContractCheck) async throws {
        try await fixture.expectConformance(to: check)
    }

    /// A store that claims a 16 KiB limit but accepts anything fails every check that needs
    /// larger values, with a failure that asked for `valueTooLarge`.
    @Test(arguments: [
        ContractCheck.valueSizeLimit, .binaryValues, .overwriteReplacesValue, .largeStreamedValue,
        .streamedWriteAtomicity, .readersNeverSeeTornValues, .reclaimExpired,
    ])
    func storeIgnoringItsLimitFails(_ check: ContractCheck) async throws {
        let clock = ManualWallClock()
        let store = MemoryStore(clock: clock.wallClock)
        let environment = ConformanceEnvironment(clock: clock, largeValueSize: 1 << 20, maximumValueSize: 16 << 10)
        let failure = await #expect(throws: ConformanceFailure.self) {
            try await check.run(against: store, environment: environment)
        }
        #expect(failure?.expected.contains("valueTooLarge") == true)
    }

    /// A limit that reads a streamed source whole before refusing it fails the value size check.
    @Test func storeReadingPastItsLimitFails() async throws {
        let store = MemoryStore().limited(valueSize: 16 << 10)
        let greedy = StreamSwallowingStore(base: store)
        let failure = await #expect(throws: ConformanceFailure.self) {
            try await ContractCheck.valueSizeLimit.run(against: greedy, environment: ConformanceEnvironment(maximumValueSize: 16 << 10))
        }
        #expect(failure?.message.contains("without reading the source far past it") == true)
    }

    @Test func hidingStoreRefusesExpiry() async throws {
        let store = ExpiryHidingStore(base: MemoryStore())
        #expect(!store.capabilities.contains(.expiration))
        let error = await #expect(throws: StoreError.self) {
            try await store.set(Data("v".utf8), for: "k", expiry: .after(.seconds(1)))
        }
        #expect(error?.code == .notSupported)
        #expect(try await store.read("k") == nil)
    }
}

/// A layer that collects a streamed value whole before passing it on: what a size limit must not do.
private struct StreamSwallowingStore<Base: KeyValueStore>: KeyValueStore {
    let base: Base
    var description: String { "swallowing \(base.description)" }
    var capabilities: StoreCapabilities { base.capabilities.subtracting(.passedOnOnlyByForwarding) }
    func read(_ key: StoreKey) async throws -> StoreEntry? { try await base.read(key) }
    func readStream(_ key: StoreKey, chunkSize: Int) async throws -> StreamedEntry? { try await base.readStream(key, chunkSize: chunkSize) }
    func metadata(for key: StoreKey) async throws -> EntryMetadata? { try await base.metadata(for: key) }
    func write(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        try await base.write(value, for: key, options: options)
    }
    func write<Chunks: AsyncSequence & Sendable>(
        contentsOf chunks: Chunks, for key: StoreKey, options: WriteOptions
    ) async throws -> EntryMetadata where Chunks.Element == Data {
        var whole = Data()
        for try await chunk in chunks { whole.append(chunk) }
        return try await base.write(whole, for: key, options: options)
    }
    func delete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool { try await base.delete(key, condition: condition) }
    func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
        try await base.listPage(query, after: cursor, limit: limit)
    }
    func list(_ query: ListQuery, pageSize: Int) -> StoreListing { base.list(query, pageSize: pageSize) }
    func url(for key: StoreKey, validFor lifetime: Duration) async throws -> URL? { try await base.url(for: key, validFor: lifetime) }
    func reclaimExpired() async throws -> Int { try await base.reclaimExpired() }
}

/// A thread-safe count, for the policy layers' tests.
final class PolicyTestCounter: Sendable {
    private let count = Mutex(0)
    var value: Int { count.withLock { $0 } }
    func increment() { count.withLock { $0 += 1 } }
}

/// Chunks that count how many of them were pulled, for the policy layers' tests.
struct PolicyTestChunks: AsyncSequence, Sendable {
    typealias Element = Data
    let chunks: [Data]
    let pulled: PolicyTestCounter

    struct AsyncIterator: AsyncIteratorProtocol {
        let chunks: [Data]
        let pulled: PolicyTestCounter
        var index = 0
        mutating func next() async throws -> Data? {
            guard index < chunks.count else { return nil }
            pulled.increment()
            defer { index += 1 }
            return chunks[index]
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(chunks: chunks, pulled: pulled) }
}
