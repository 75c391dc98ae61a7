import Foundation
import Testing
import Trove

/// `BoundedMemoryStore`: least-recently-used eviction by bytes and by entries, recency kept by
/// reads, and the contract for what it holds.
@Suite("BoundedMemoryStore")
struct BoundedMemoryStoreTests {
    let clock = ManualWallClock()

    func store(bytes: Int = 1 << 20, entries: Int = 1000) -> BoundedMemoryStore {
        BoundedMemoryStore(maximumBytes: bytes, maximumEntries: entries, clock: clock.wallClock)
    }

    /// 30 bytes of `letter`: with a one-byte key, an entry of 31 bytes.
    func value(_ letter: Character) -> Data { Data(String(repeating: letter, count: 30).utf8) }

    func held(_ store: BoundedMemoryStore) async throws -> [String] {
        var names: [String] = []
        for try await key in try store.keys() { names.append(key.rawValue) }
        return names
    }

    @Test("the least recently used entries go when the bytes run out")
    func evictionByBytes() async throws {
        let store = store(bytes: 100)
        for letter in "abc" { try await store.set(value(letter), for: StoreKey(validating: String(letter))) }
        #expect(store.usage == .init(byteCount: 93, entryCount: 3, evictionCount: 0))

        try await store.set(value("d"), for: "d")
        #expect(try await held(store) == ["b", "c", "d"])
        #expect(try await store.read("a") == nil)
        #expect(store.usage == .init(byteCount: 93, entryCount: 3, evictionCount: 1))

        // A larger value makes room for itself by evicting as many entries as it needs.
        try await store.set(Data(repeating: 1, count: 60), for: "e")
        #expect(try await held(store) == ["d", "e"])
        #expect(store.usage == .init(byteCount: 92, entryCount: 2, evictionCount: 3))
    }

    @Test("the least recently used entries go when the entries run out")
    func evictionByEntries() async throws {
        let store = store(entries: 3)
        for name in ["k1", "k2", "k3", "k4", "k5"] { try await store.set(Data(name.utf8), for: StoreKey(validating: name)) }
        #expect(try await held(store) == ["k3", "k4", "k5"])
        #expect(store.usage.entryCount == 3)
        #expect(store.usage.evictionCount == 2)
        #expect(try await store.read("k5")?.value == Data("k5".utf8))
    }

    @Test("reading an entry makes it the most recently used; metadata and listing do not")
    func readsUpdateRecency() async throws {
        let store = store(entries: 3)
        for name in ["a", "b", "c"] { try await store.set(Data(name.utf8), for: StoreKey(validating: name)) }
        #expect(try await store.read("a")?.value == Data("a".utf8))
        try await store.set(Data("d".utf8), for: "d")
        #expect(try await held(store) == ["a", "c", "d"], "b was the least recently used")

        // A streamed read counts as a read.
        _ = try await store.readStream("c")
        try await store.set(Data("e".utf8), for: "e")
        #expect(try await held(store) == ["c", "d", "e"])

        // Metadata, contains and listing leave recency alone: d stays the least recently used.
        #expect(try await store.metadata(for: "d") != nil)
        #expect(try await store.contains("d"))
        _ = try await held(store)
        try await store.set(Data("f".utf8), for: "f")
        #expect(try await held(store) == ["c", "e", "f"])

        // An overwrite makes the entry the most recently used.
        try await store.set(Data("c2".utf8), for: "c")
        try await store.set(Data("g".utf8), for: "g")
        #expect(try await held(store) == ["c", "f", "g"])
        #expect(store.usage.byteCount == 3 + 2 + 2)
    }

    @Test("a value larger than the store is refused and evicts nothing")
    func valueTooLarge() async throws {
        let store = store(bytes: 100)
        try await store.set(value("a"), for: "a")
        try await store.set(value("b"), for: "big")
        let error = await #expect(throws: StoreError.self) {
            try await store.set(Data(repeating: 0, count: 100), for: "big")
        }
        #expect(error?.code == .valueTooLarge)
        #expect(error?.key == "big")
        let streamed = await #expect(throws: StoreError.self) {
            try await store.set(contentsOf: ValueChunks(chunksOf: Data(repeating: 0, count: 200), chunkSize: 10), for: "big")
        }
        #expect(streamed?.code == .valueTooLarge)
        #expect(try await store.read("big")?.value == value("b"))
        #expect(try await held(store) == ["a", "big"])
        #expect(store.usage.evictionCount == 0)
        // Exactly the bound fits, evicting everything else.
        try await store.set(Data(repeating: 0, count: 97), for: "max")
        #expect(try await held(store) == ["max"])
        #expect(store.usage.byteCount == 100)
    }

    @Test("conditions hold for what the store holds; an evicted entry counts as absent")
    func conditionsAndEviction() async throws {
        let store = store(entries: 2)
        let first = try await store.set(Data("1".utf8), for: "k", condition: .ifAbsent)
        let ifAbsent = await #expect(throws: StoreError.self) { try await store.set(Data("2".utf8), for: "k", condition: .ifAbsent) }
        #expect(ifAbsent?.code == .conditionFailed)
        let second = try await store.set(Data("2".utf8), for: "k", condition: .ifMatches(first.etag))
        #expect(second.etag != first.etag)
        #expect(second.creationDate == first.creationDate)

        try await store.set(Data("x".utf8), for: "x")
        try await store.set(Data("y".utf8), for: "y")   // evicts k
        let stale = await #expect(throws: StoreError.self) {
            try await store.set(Data("3".utf8), for: "k", condition: .ifMatches(second.etag))
        }
        #expect(stale?.code == .conditionFailed)
        let delete = await #expect(throws: StoreError.self) { try await store.delete("k", condition: .ifMatches(second.etag)) }
        #expect(delete?.code == .conditionFailed)
        let again = try await store.set(Data("4".utf8), for: "k", condition: .ifAbsent)
        #expect(again.etag != first.etag && again.etag != second.etag)
        #expect(try await store.delete("k", condition: .ifMatches(again.etag)))
        #expect(try await store.delete("k") == false)
        #expect(store.usage.entryCount == 1)
    }

    @Test("expired entries are invisible at once and free their bytes when reclaimed")
    func expiry() async throws {
        let store = store(bytes: 100)
        let written = try await store.set(value("a"), for: "a", expiry: .after(.seconds(10)))
        try await store.set(value("b"), for: "b")
        #expect(written.expirationDate == clock.now.addingTimeInterval(10))
        clock.advance(by: .seconds(10))
        #expect(try await store.read("a") == nil)
        #expect(try await held(store) == ["b"])
        try await store.set(value("c"), for: "c", expiry: .after(.seconds(5)))
        clock.advance(by: .seconds(5))
        #expect(store.usage.byteCount == 62, "c has expired but is not reclaimed yet")
        #expect(try await store.reclaimExpired() == 1)
        #expect(try await store.reclaimExpired() == 0)
        #expect(store.usage == .init(byteCount: 31, entryCount: 1, evictionCount: 0))
    }

    @Test("listing is in byte-wise order, with and without delimiter, after evictions")
    func listing() async throws {
        let store = store(entries: 5)
        for name in ["z", "a/b", "a", "a-c", "a0", "é", "b/1", "b/2"] {
            try await store.set(Data(name.utf8), for: StoreKey(validating: name))
        }
        #expect(try await held(store) == ["a-c", "a0", "b/1", "b/2", "é"])
        var level: [String] = []
        for try await element in store.list(try ListQuery(delimiter: "/")) { level.append(element.name) }
        #expect(level == ["a-c", "a0", "b/", "é"])
        let page = try await store.listPage(.all, after: nil, limit: 2)
        #expect(page.elements.map(\.name) == ["a-c", "a0"])
        #expect(page.nextCursor != nil)
    }

    @Test("many tasks writing at once never take the store over its bounds")
    func concurrentWritesStayWithinBounds() async throws {
        let store = store(bytes: 4096, entries: 50)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for round in 0..<200 {
                        let key = try StoreKey(validating: "t\(task)/\(round % 70)")
                        try await store.set(Data(repeating: UInt8(task), count: (round * 37) % 300), for: key)
                        _ = try await store.read(try StoreKey(validating: "t\((task + 1) % 8)/\(round % 70)"))
                        #expect(store.usage.byteCount <= 4096)
                        #expect(store.usage.entryCount <= 50)
                    }
                }
            }
            try await group.waitForAll()
        }
        var total = 0, count = 0
        for try await metadata in try store.metadata() {
            total += Int(metadata.size) + metadata.key.byteCount
            count += 1
        }
        #expect(store.usage.byteCount == total)
        #expect(store.usage.entryCount == count)
    }

    @Test("description and capabilities")
    func descriptionAndCapabilities() {
        let store = BoundedMemoryStore(maximumBytes: 64 << 20, maximumEntries: 10_000, name: "cache")
        #expect(store.description == "cache (67108864 bytes, 10000 entries)")
        #expect(store.capabilities == [.conditionalWrites, .conditionalDeletes, .expiration, .creationDate, .retention, .distinctETagPerWrite, .modificationDate])
    }
}
