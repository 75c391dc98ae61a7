import Foundation
import Testing
import Trove
import TroveTestSupport

/// `CachedStore`: mutable mode confirms every hit with the backing store, so a value another
/// process replaced is never served; append-only mode skips that check.
@Suite("CachedStore")
struct CachedStoreTests {
    let clock = ManualWallClock()

    func boundedCache() -> BoundedMemoryStore {
        BoundedMemoryStore(maximumBytes: 1 << 20, maximumEntries: 100, clock: clock.wallClock)
    }

    @Test("mutable mode never serves a value that another process replaced or deleted")
    func mutableSeesOtherProcesses() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let root = scratch.directory.appendingPathComponent("store", isDirectory: true)
        let file = try FileSystemStore(root: root)
        let mutableCache = boundedCache(), appendOnlyCache = boundedCache()
        let mutable = file.cached(in: mutableCache, mode: .mutable)
        let appendOnly = file.cached(in: appendOnlyCache, mode: .appendOnly)

        try await mutable.set(Data("first".utf8), for: "greeting")
        #expect(try await mutable.read("greeting")?.value == Data("first".utf8))
        #expect(try await appendOnly.read("greeting")?.value == Data("first".utf8))
        #expect(try await mutableCache.read("greeting")?.value.carries(Data("first".utf8)) == true)
        #expect(try await appendOnlyCache.read("greeting")?.value.carries(Data("first".utf8)) == true)

        // Another process replaces the value.
        let input = try scratch.file("second.txt", Data("second".utf8))
        let put = try await scratch.trove(["--store", scratch.storeURL, "put", "greeting", input.path])
        #expect(put.status == 0, "trove put failed: \(put.stderr)")
        let onDisk = try #require(try await file.metadata(for: "greeting"))

        let entry = try await mutable.read("greeting")
        #expect(entry?.value == Data("second".utf8), "mutable mode served a value another process replaced")
        #expect(entry?.metadata.etag == onDisk.etag)
        #expect(try await mutableCache.read("greeting")?.value.carries(Data("second".utf8)) == true, "the copy is refreshed")
        let streamed = try #require(try await mutable.readStream("greeting", chunkSize: 2))
        #expect(try await streamed.chunks.collect() == Data("second".utf8))
        // Append-only mode skips the check by design, so its copy is still the first value.
        #expect(try await appendOnly.read("greeting")?.value == Data("first".utf8))

        // Another process deletes the key: the mutable cache drops its copy.
        let deleted = try await scratch.trove(["--store", scratch.storeURL, "delete", "greeting"])
        #expect(deleted.status == 0, "trove delete failed: \(deleted.stderr)")
        #expect(try await mutable.read("greeting") == nil)
        #expect(try await mutableCache.read("greeting") == nil, "the copy of a deleted key is dropped")
        #expect(try await mutable.readStream("greeting") == nil)
    }

    @Test("append-only mode serves hits without asking the backing store; mutable mode asks with a metadata call")
    func appendOnlySkipsTheCheck() async throws {
        let log = TierProbeStore.Log()
        let base = TierProbeStore(MemoryStore(clock: clock.wallClock), name: "base", log: log)
        let appendOnly = base.cached(in: boundedCache(), mode: .appendOnly)
        let written = try await appendOnly.set(Data("blob".utf8), for: "blobs/1")

        log.clear()
        for _ in 0..<3 { #expect(try await appendOnly.read("blobs/1")?.value == Data("blob".utf8)) }
        let streamed = try #require(try await appendOnly.readStream("blobs/1", chunkSize: 3))
        #expect(try await streamed.chunks.collect() == Data("blob".utf8))
        #expect(try await appendOnly.metadata(for: "blobs/1")?.etag == written.etag)
        #expect(try await appendOnly.contains("blobs/1"))
        #expect(log.events.isEmpty, "append-only hits asked the backing store: \(log.events.map(\.operation))")

        let mutable = base.cached(in: boundedCache(), mode: .mutable)
        try await mutable.set(Data("blob".utf8), for: "blobs/2")
        log.clear()
        for _ in 0..<3 { #expect(try await mutable.read("blobs/2")?.value == Data("blob".utf8)) }
        #expect(log.count("metadata") == 3)
        #expect(log.count("read") == 0, "a confirmed hit is not read from the backing store")
    }

    @Test("mutable mode refreshes a stale copy and drops the copy of a vanished key")
    func mutableRefreshesAndDrops() async throws {
        let log = TierProbeStore.Log()
        let memory = MemoryStore(clock: clock.wallClock)
        let base = TierProbeStore(memory, name: "base", log: log)
        let cache = boundedCache()
        let store = base.cached(in: cache)
        #expect(store.mode == .mutable)
        try await store.set(Data("v1".utf8), for: "k")

        let replaced = try await memory.set(Data("v2".utf8), for: "k")   // behind the cache's back
        log.clear()
        let entry = try await store.read("k")
        #expect(entry?.value == Data("v2".utf8))
        #expect(entry?.metadata.etag == replaced.etag)
        #expect(log.count("read") == 1)
        #expect(try await store.read("k")?.value == Data("v2".utf8))
        #expect(log.count("read") == 1, "the refreshed copy serves the next read")

        try await memory.discard("k")
        #expect(try await store.read("k") == nil)
        #expect(try await cache.read("k") == nil)
        #expect(try await store.metadata(for: "k") == nil)
    }

    @Test("a value read from the cache carries the backing ETag: ifMatches succeeds, a stale ETag fails")
    func etagConsistency() async throws {
        for mode in [CacheMode.mutable, .appendOnly] {
            let base = MemoryStore(clock: clock.wallClock)
            let store = base.cached(in: boundedCache(), mode: mode)
            let first = try await store.set(Data("v1".utf8), for: "doc")
            let entry = try #require(try await store.read("doc"))
            #expect(entry.metadata.etag == first.etag)
            #expect(entry.metadata.etag == (try await base.metadata(for: "doc"))?.etag)
            let second = try await store.set(Data("v2".utf8), for: "doc", condition: .ifMatches(entry.metadata.etag))
            #expect(try await store.read("doc")?.metadata.etag == second.etag)
            let error = await #expect(throws: StoreError.self, "\(mode)") {
                try await store.set(Data("v3".utf8), for: "doc", condition: .ifMatches(first.etag))
            }
            #expect(error?.code == .conditionFailed)
            #expect(error?.key == "doc")
            #expect(error?.store == store.description)
            #expect(try await store.read("doc")?.value == Data("v2".utf8))
        }
    }

    @Test("a failed backing write leaves the cache without the value")
    func failedBackingWrite() async throws {
        let log = TierProbeStore.Log()
        let base = TierProbeStore(MemoryStore(clock: clock.wallClock), name: "base", log: log)
        let cache = boundedCache()
        let store = base.cached(in: cache, mode: .appendOnly)
        try await store.set(Data("old".utf8), for: "k")
        log.failing = ["base write"]
        await #expect(throws: StoreError.self) { try await store.set(Data("new".utf8), for: "k") }
        log.failing = []
        #expect(try await cache.read("k")?.value.carries(Data("new".utf8)) != true)
        #expect(try await store.read("k")?.value == Data("old".utf8))
    }

    @Test("a value too large for the cache is served by the backing store, uncached")
    func valueTooLargeForTheCache() async throws {
        let log = TierProbeStore.Log()
        let base = TierProbeStore(MemoryStore(clock: clock.wallClock), name: "base", log: log)
        let cache = BoundedMemoryStore(maximumBytes: 100, maximumEntries: 10, clock: clock.wallClock)
        let store = base.cached(in: cache)
        let large = Data(repeating: 7, count: 1000)
        let written = try await store.set(large, for: "large")
        for _ in 0..<2 { #expect(try await store.read("large")?.metadata.etag == written.etag) }
        #expect(log.count("read") == 2)
        #expect((try await cache.read("large"))?.value.carries(large) != true)
        #expect(cache.usage.byteCount < 100)
    }

    @Test("a bounded cache's copy is read afresh after every change: rewrites, foreign bytes, eviction, expiry")
    func boundedCacheCopiesFollowChanges() async throws {
        let log = TierProbeStore.Log()
        let base = TierProbeStore(MemoryStore(clock: clock.wallClock), name: "base", log: log)
        let cache = BoundedMemoryStore(maximumBytes: 1 << 20, maximumEntries: 2, clock: clock.wallClock)
        let store = base.cached(in: cache, mode: .appendOnly)

        let first = try await store.set(Data("one".utf8), for: "k")
        for _ in 0..<2 { #expect(try await store.read("k") == StoreEntry(value: Data("one".utf8), metadata: first)) }
        let second = try await store.set(Data("two, longer".utf8), for: "k")
        let hit = try #require(try await store.read("k"))
        #expect(hit.value == Data("two, longer".utf8))
        #expect(hit.metadata == second)
        #expect(hit.value.startIndex == 0, "a hit's value is Data of its own, not a slice of the envelope")

        // Another program writes bytes that are not an envelope into the cache: the layer reads
        // the backing store and puts its copy back.
        try await cache.set(Data("not an envelope".utf8), for: "k")
        log.clear()
        #expect(try await store.read("k")?.value == Data("two, longer".utf8))
        #expect(log.count("read") == 1)
        #expect(try await store.read("k")?.value == Data("two, longer".utf8))
        #expect(log.count("read") == 1, "the copy was put back")

        // Evicted by two other keys, then read again from the backing store.
        try await store.set(Data("a".utf8), for: "a")
        try await store.set(Data("b".utf8), for: "b")
        log.clear()
        #expect(try await store.read("k")?.value == Data("two, longer".utf8))
        #expect(log.count("read") == 1)

        // A copy that expires with its durable entry is not served after the expiry.
        try await store.set(Data("brief".utf8), for: "k", expiry: .after(.seconds(10)))
        #expect(try await store.read("k")?.value == Data("brief".utf8))
        clock.advance(by: .seconds(11))
        #expect(try await store.read("k") == nil)
    }

    @Test("capabilities and description")
    func capabilities() async throws {
        try await withScratchDirectory("trove-cached") { directory in
            let file = try FileSystemStore(root: directory)
            let cache = boundedCache()
            #expect(file.cached(in: cache, mode: .mutable).capabilities == file.capabilities)
            #expect(file.cached(in: cache, mode: .appendOnly).capabilities == file.capabilities.subtracting(.sharedAcrossProcesses))
            #expect(file.cached(in: cache).description == "\(file.description) cached in \(cache.description) (mutable)")
        }
    }
}
