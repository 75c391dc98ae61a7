import Foundation
import Synchronization
import Testing
@testable import Trove
import TroveTestSupport

/// `TieredStore`: the order of writes through the tiers, promotion on read, the durable ETag
/// reported by copies, and the protocol that keeps copies from going stale.
@Suite("TieredStore")
struct TieredStoreTests {
    let clock = ManualWallClock()

    func memory(_ name: String) -> MemoryStore { MemoryStore(name: name, clock: clock.wallClock) }

    @Test("a write reaches the durable tier before any faster tier holds the value, slowest first")
    func writeOrder() async throws {
        let log = TierProbeStore.Log()
        let fast = TierProbeStore(memory("fast"), name: "fast", log: log)
        let middle = TierProbeStore(memory("middle"), name: "middle", log: log)
        let durable = TierProbeStore(memory("durable"), name: "durable", log: log)
        let store = durable.tiered(below: fast, middle)
        let value = Data("the value".utf8)

        try await store.set(value, for: "k")

        let carrying = log.events.enumerated().filter { $0.element.operation == "write" && $0.element.carries(value) }
        #expect(carrying.map(\.element.store) == ["durable", "middle", "fast"])
        let placeholders = log.events.filter { $0.operation == "write" && !$0.carries(value) }.map(\.store)
        #expect(placeholders == ["middle", "fast"], "each faster tier gets a placeholder before the durable write")
        #expect(try await fast.base.read("k")?.value.carries(value) == true)
        #expect(try await middle.base.read("k")?.value.carries(value) == true)
    }

    @Test("a failed durable write leaves no faster tier holding the value, and the old one readable")
    func failedDurableWrite() async throws {
        let log = TierProbeStore.Log()
        let fast = TierProbeStore(memory("fast"), name: "fast", log: log)
        let durable = TierProbeStore(memory("durable"), name: "durable", log: log)
        let store = durable.tiered(below: fast)
        let old = try await store.set(Data("old".utf8), for: "k")
        #expect(try await fast.base.read("k")?.value.carries(Data("old".utf8)) == true)

        log.failing = ["durable write"]
        let error = await #expect(throws: StoreError.self) {
            try await store.set(Data("new".utf8), for: "k")
        }
        #expect(error?.code == .unavailable)
        #expect(error?.key == "k")
        #expect(error?.store == store.description)
        let cached = try await fast.base.read("k")?.value
        #expect(cached?.carries(Data("new".utf8)) != true, "the cache tier must not hold a value the durable tier refused")
        #expect(cached?.carries(Data("old".utf8)) != true, "the copy was replaced by a placeholder: the write may have landed")
        #expect(!log.events.contains { $0.store == "fast" && $0.operation == "write" && $0.carries(Data("new".utf8)) })

        log.failing = []
        let entry = try await store.read("k")
        #expect(entry?.value == Data("old".utf8))
        #expect(entry?.metadata.etag == old.etag)
    }

    @Test("a conditional write refused by the durable tier changes no tier")
    func refusedConditionalWrite() async throws {
        let fast = memory("fast"), durable = memory("durable")
        let store = durable.tiered(below: fast)
        let first = try await store.set(Data("one".utf8), for: "k")
        try await store.set(Data("two".utf8), for: "k")

        let error = await #expect(throws: StoreError.self) {
            try await store.set(Data("three".utf8), for: "k", condition: .ifMatches(first.etag))
        }
        #expect(error?.code == .conditionFailed)
        #expect(error?.key == "k")
        #expect(try await fast.read("k")?.value.carries(Data("three".utf8)) != true)
        #expect(try await store.read("k")?.value == Data("two".utf8))
        #expect(try await durable.read("k")?.value == Data("two".utf8))
    }

    @Test("a delete goes to the durable tier first; if it fails the value stays readable")
    func deleteOrder() async throws {
        let log = TierProbeStore.Log()
        let fast = TierProbeStore(memory("fast"), name: "fast", log: log)
        let durable = TierProbeStore(memory("durable"), name: "durable", log: log)
        let store = durable.tiered(below: fast)
        try await store.set(Data("v".utf8), for: "k")

        log.failing = ["durable delete"]
        await #expect(throws: StoreError.self) { try await store.delete("k") }
        log.failing = []
        #expect(try await store.read("k")?.value == Data("v".utf8))

        log.clear()
        #expect(try await store.delete("k"))
        let changes = log.events.filter { $0.operation == "write" || $0.operation == "delete" }.map { "\($0.store) \($0.operation)" }
        #expect(changes.first == "durable delete")
        #expect(changes.dropFirst().allSatisfy { $0.hasPrefix("fast") } && changes.count > 1)
        #expect(try await store.read("k") == nil)
        #expect(try await fast.base.read("k")?.value.carries(Data("v".utf8)) != true)
    }

    @Test("a read served by a lower tier fills the tiers above; later reads stop there")
    func readPromotion() async throws {
        let log = TierProbeStore.Log()
        let durable = TierProbeStore(memory("durable"), name: "durable", log: log)
        let fast = memory("fast"), middle = memory("middle")
        let written = try await durable.base.set(Data("v".utf8), for: "k")   // behind the stack's back
        let store = durable.tiered(below: fast, middle)

        #expect(try await store.read("k")?.value == Data("v".utf8))
        #expect(log.count("read") == 1)
        #expect(try await fast.read("k")?.value.carries(Data("v".utf8)) == true)
        #expect(try await middle.read("k")?.value.carries(Data("v".utf8)) == true)
        for _ in 0..<3 {
            let entry = try await store.read("k")
            #expect(entry?.value == Data("v".utf8))
            #expect(entry?.metadata.etag == written.etag)
        }
        #expect(log.count("read") == 1, "reads after the first are served by the fastest tier")

        // A hit in the middle tier fills the fastest one, without reading the durable tier.
        let fresh = memory("fresh")
        let other = durable.tiered(below: fresh, middle)
        #expect(try await other.read("k")?.value == Data("v".utf8))
        #expect(log.count("read") == 1)
        #expect(try await fresh.read("k")?.value.carries(Data("v".utf8)) == true)
    }

    @Test("without promotion every miss reads the durable tier and no tier is filled")
    func noPromotion() async throws {
        let log = TierProbeStore.Log()
        let durable = TierProbeStore(memory("durable"), name: "durable", log: log)
        let fast = memory("fast")
        try await durable.base.set(Data("v".utf8), for: "k")
        let store = durable.tiered(below: fast, promotesOnRead: false)
        #expect(store.promotesOnRead == false)
        for _ in 0..<3 { #expect(try await store.read("k")?.value == Data("v".utf8)) }
        #expect(log.count("read") == 3)
        #expect(try await fast.read("k") == nil)
    }

    @Test("a copy in a faster tier reports the durable ETag: read, then ifMatches, works through the stack")
    func etagConsistency() async throws {
        let log = TierProbeStore.Log()
        let durable = TierProbeStore(memory("durable"), name: "durable", log: log)
        let fast = memory("fast")
        let store = durable.tiered(below: fast)
        let written = try await store.set(Data("v1".utf8), for: "doc")
        #expect(written.etag == (try await durable.base.metadata(for: "doc"))?.etag)
        #expect(written.etag != (try await fast.metadata(for: "doc"))?.etag, "the fast tier's own ETag differs")

        log.clear()
        let entry = try #require(try await store.read("doc"))
        #expect(log.count("read") == 0, "served by the fast tier")
        #expect(entry.metadata.etag == written.etag)
        #expect(try await store.metadata(for: "doc") == written)
        let streamed = try #require(try await store.readStream("doc", chunkSize: 1))
        #expect(streamed.metadata.etag == written.etag)
        #expect(try await streamed.chunks.collect() == Data("v1".utf8))
        #expect(log.count("read") == 0 && log.count("metadata") == 0)

        let updated = try await store.set(Data("v2".utf8), for: "doc", condition: .ifMatches(entry.metadata.etag))
        let reread = try await store.read("doc")
        #expect(reread?.value == Data("v2".utf8))
        #expect(reread?.metadata.etag == updated.etag)
        #expect(updated.etag == (try await durable.base.metadata(for: "doc"))?.etag)

        let stale = await #expect(throws: StoreError.self) {
            try await store.set(Data("v3".utf8), for: "doc", condition: .ifMatches(entry.metadata.etag))
        }
        #expect(stale?.code == .conditionFailed)
        #expect(stale?.key == "doc")
        #expect(try await store.read("doc")?.value == Data("v2".utf8))
        let deleteError = await #expect(throws: StoreError.self) {
            try await store.delete("doc", condition: .ifMatches(entry.metadata.etag))
        }
        #expect(deleteError?.code == .conditionFailed)
        #expect(try await store.delete("doc", condition: .ifMatches(updated.etag)))
        #expect(try await store.read("doc") == nil)
    }

    @Test("copies of an expiring entry expire with it, and only in tiers that keep expiry")
    func expiringCopies() async throws {
        let durable = memory("durable"), fast = memory("fast")
        let noExpiry = TierProbeStore(memory("no expiry"), name: "no expiry", log: .init(), removing: .expiration)
        let store = durable.tiered(below: fast, noExpiry)
        let written = try await store.set(Data("v".utf8), for: "k", expiry: .after(.seconds(10)))
        #expect(written.expirationDate == clock.now.addingTimeInterval(10))
        #expect(try await store.read("k")?.metadata.expirationDate == written.expirationDate)
        #expect(try await fast.read("k")?.value.carries(Data("v".utf8)) == true)
        #expect(try await noExpiry.base.read("k")?.value.carries(Data("v".utf8)) != true)
        clock.advance(by: .seconds(11))
        #expect(try await fast.read("k") == nil)
        #expect(try await store.read("k") == nil)
        #expect(try await store.metadata(for: "k") == nil)
    }

    @Test("capabilities are the durable tier's; sharing needs every tier shared")
    func capabilities() async throws {
        try await withScratchDirectory("trove-tiered") { directory in
            let file = try FileSystemStore(root: directory, clock: clock.wallClock)
            let store = file.tiered(below: memory("fast"))
            #expect(file.capabilities.contains(.sharedAcrossProcesses))
            #expect(store.capabilities == file.capabilities.subtracting(.sharedAcrossProcesses))
            #expect(file.tiered(below: file.prefixed("copies")).capabilities == file.capabilities)
            #expect(store.description == "tiered (memory fast, then \(file.description))")
        }
    }

    @Test("a reader's copy is refused once a write or delete has changed the tier's entry")
    func staleFillsAreRefused() async throws {
        let cache = memory("cache")
        let tier = CopyTier(store: cache)
        let old = StoreEntry(value: Data("old".utf8), metadata: EntryMetadata(key: "k", size: 3, etag: ETag("d1"), modificationDate: clock.now))
        let new = StoreEntry(value: Data("new".utf8), metadata: EntryMetadata(key: "k", size: 3, etag: ETag("d2"), modificationDate: clock.now))

        // A reader reserves, reads the old value below; a writer commits and settles first.
        let reserved = try #require(try await tier.reserve("k", seen: try await tier.look("k")))
        let writerCondition = try await tier.invalidate("k")
        try await tier.settle("k", with: new, condition: writerCondition)
        #expect(try await tier.fill("k", with: old, condition: reserved) == false)
        guard case .copy(let held, _) = try await tier.look("k") else { Issue.record("no copy"); return }
        #expect(held == new)

        // The reader fills first; the writer's settle then finds its placeholder gone.
        let second = try #require(try await tier.reserve("j", seen: try await tier.look("j")))
        let writer = try await tier.invalidate("j")
        let readerSawPlaceholder = try #require(try await tier.reserve("j", seen: try await tier.look("j")))
        #expect(try await tier.fill("j", with: old, condition: readerSawPlaceholder))
        try await tier.settle("j", with: new, condition: writer)
        guard case .placeholder = try await tier.look("j") else { Issue.record("a copy survived a lost race"); return }
        #expect(try await tier.fill("j", with: old, condition: second) == false)

        // A delete below while a reader holds a reservation: the reader's copy is refused.
        let third = try #require(try await tier.reserve("i", seen: try await tier.look("i")))
        try await tier.invalidate("i")
        #expect(try await tier.fill("i", with: old, condition: third) == false)
    }

    @Test("racing readers and writers leave every tier agreeing with the durable tier")
    func racingReadersAndWriters() async throws {
        let durable = memory("durable"), fast = memory("fast"), middle = memory("middle")
        let store = durable.tiered(below: fast, middle)
        let keys: [StoreKey] = ["a", "b", "c"]
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<6 {
                group.addTask {
                    for round in 0..<40 {
                        let key = keys[(writer + round) % keys.count]
                        if round % 7 == 6 { try await store.discard(key) } else {
                            try await store.set(Data("w\(writer) r\(round)".utf8), for: key)
                        }
                    }
                }
            }
            for reader in 0..<6 {
                group.addTask {
                    for round in 0..<80 { _ = try await store.read(keys[(reader + round) % keys.count]) }
                }
            }
            try await group.waitForAll()
        }
        for key in keys {
            let truth = try await durable.read(key)
            let seen = try await store.read(key)
            #expect(seen?.value == truth?.value, "key \(key)")
            #expect(seen?.metadata.etag == truth?.metadata.etag, "key \(key)")
            for tier in [fast, middle] {
                if let raw = try await tier.read(key), case .copy(let copy) = CacheEnvelope.decode(raw.value, key: key) {
                    #expect(copy.metadata.etag == truth?.metadata.etag, "a stale copy of \(key) in \(tier)")
                }
            }
        }
    }

    @Test("a key a faster tier cannot hold is served by the durable tier alone")
    func keyTooLongForATier() async throws {
        let durable = memory("durable"), copies = memory("copies")
        let store = durable.tiered(below: copies.prefixed("copies"))
        let key = try StoreKey(validating: String(repeating: "k", count: StoreKey.maximumByteCount))
        let written = try await store.set(Data("long".utf8), for: key)
        #expect(try await store.read(key)?.metadata.etag == written.etag)
        #expect(try await store.metadata(for: key) == written)
        #expect(try await store.readStream(key) != nil)
        #expect(try await copies.count() == 0)
        #expect(try await store.delete(key))
        #expect(try await store.read(key) == nil)
    }

    @Test("errors from a faster tier name the key, the layer and the tier")
    func tierErrorsAreRelabelled() async throws {
        let log = TierProbeStore.Log()
        let fast = TierProbeStore(memory("fast"), name: "fast", log: log)
        let store = memory("durable").tiered(below: fast)
        log.failing = ["fast read"]
        let error = await #expect(throws: StoreError.self) { try await store.read("some/key") }
        #expect(error?.key == "some/key")
        #expect(error?.store == store.description)
        #expect(error?.message.contains("faster tier 1 (probe fast)") == true)
    }
}

extension Data {
    /// Whether these bytes contain `needle` (a value inside a tier's envelope).
    func carries(_ needle: Data) -> Bool { range(of: needle) != nil }
}

/// A store that forwards to another, recording what is asked of it in a shared log and failing
/// the operations the log names, to watch and break a stack from the side.
struct TierProbeStore: KeyValueStore {
    /// What the probes of one test have seen, in order, and what they must fail (entries such as
    /// `durable write`: a probe's name and an operation).
    final class Log: Sendable {
        struct Event: Sendable {
            var store: String
            var operation: String
            var key: StoreKey?
            var value: Data?
            func carries(_ needle: Data) -> Bool { value?.carries(needle) ?? false }
        }

        private let state = Mutex<(events: [Event], failing: Set<String>)>(([], []))

        var events: [Event] { state.withLock { $0.events } }
        var failing: Set<String> {
            get { state.withLock { $0.failing } }
            set { state.withLock { $0.failing = newValue } }
        }

        func clear() { state.withLock { $0.events = [] } }
        func count(_ operation: String) -> Int { events.filter { $0.operation == operation }.count }

        func record(_ store: String, _ operation: String, _ key: StoreKey?, _ value: Data? = nil) throws {
            let fails = state.withLock { state in
                state.events.append(Event(store: store, operation: operation, key: key, value: value))
                return state.failing.contains("\(store) \(operation)")
            }
            if fails {
                throw StoreError(.unavailable, operation: StoreOperation(operation), key: key, store: store,
                                 message: "injected failure of \(operation)")
            }
        }
    }

    let base: any KeyValueStore
    let name: String
    let log: Log
    let removed: StoreCapabilities

    init(_ base: any KeyValueStore, name: String, log: Log, removing removed: StoreCapabilities = []) {
        self.base = base
        self.name = name
        self.log = log
        self.removed = removed
    }

    var description: String { "probe \(name)" }
    var capabilities: StoreCapabilities { base.capabilities.subtracting(removed).subtracting(.passedOnOnlyByForwarding) }

    func read(_ key: StoreKey) async throws -> StoreEntry? {
        try log.record(name, "read", key)
        return try await base.read(key)
    }

    func readStream(_ key: StoreKey, chunkSize: Int) async throws -> StreamedEntry? {
        try log.record(name, "readStream", key)
        return try await base.readStream(key, chunkSize: chunkSize)
    }

    func metadata(for key: StoreKey) async throws -> EntryMetadata? {
        try log.record(name, "metadata", key)
        return try await base.metadata(for: key)
    }

    func write(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        try log.record(name, "write", key, value)
        return try await base.write(value, for: key, options: options)
    }

    func write<Chunks: AsyncSequence & Sendable>(
        contentsOf chunks: Chunks, for key: StoreKey, options: WriteOptions
    ) async throws -> EntryMetadata where Chunks.Element == Data {
        try log.record(name, "writeStream", key)
        return try await base.write(contentsOf: chunks, for: key, options: options)
    }

    func delete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool {
        try log.record(name, "delete", key)
        return try await base.delete(key, condition: condition)
    }

    func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
        try log.record(name, "listPage", nil)
        return try await base.listPage(query, after: cursor, limit: limit)
    }

    func list(_ query: ListQuery, pageSize: Int) -> StoreListing {
        StoreListing(paging: self, query: query, pageSize: pageSize)
    }

    func url(for key: StoreKey, validFor lifetime: Duration) async throws -> URL? {
        try log.record(name, "url", key)
        return try await base.url(for: key, validFor: lifetime)
    }

    func reclaimExpired() async throws -> Int {
        try log.record(name, "reclaimExpired", nil)
        return try await base.reclaimExpired()
    }
}
