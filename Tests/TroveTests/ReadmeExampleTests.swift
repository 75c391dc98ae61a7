import Foundation
import Testing
import Trove
import TroveTestSupport

/// The README's quick start, as a program that runs: if this test changes, change the README.
@Suite("README example")
struct ReadmeExampleTests {
    @Test func quickStartRuns() async throws {
        try await withScratchDirectory { directory in
            let store = try FileSystemStore(root: directory.appending(path: "data"))

            // Write, read, delete. A missing key is nil.
            try await store.set(Data("hello".utf8), for: "greetings/en")
            if let bytes = try await store["greetings/en"] {
                #expect(String(decoding: bytes, as: UTF8.self) == "hello")
            }

            // Conditional writes: create only if absent, or replace only the version you read.
            let first = try await store.set(Data("v1".utf8), for: "docs/readme", condition: .ifAbsent)
            try await store.set(Data("v2".utf8), for: "docs/readme", condition: .ifMatches(first.etag))

            // Compare-and-swap in a loop; safe across tasks and processes.
            try await store.update("counters/visits") { current in
                let count = current.flatMap { Int(String(decoding: $0, as: UTF8.self)) } ?? 0
                return .set(Data(String(count + 1).utf8))
            }

            // Expiry, listing (paged under the hood, byte-wise order), one level of a hierarchy.
            try await store.set(Data("token".utf8), for: "sessions/abc", expiry: .after(.seconds(3600)))
            var keys: [StoreKey] = []
            for try await key in try store.keys(withPrefix: "docs/") { keys.append(key) }
            #expect(keys == ["docs/readme"])
            var names: [String] = []
            for try await element in store.list(try ListQuery(prefix: "", delimiter: "/")) { names.append(element.name) }
            #expect(names == ["counters/", "docs/", "greetings/", "sessions/"])

            // A namespace, and large values in chunks without holding them in memory.
            let alice = store.prefixed("users/alice")
            try await alice.set(Data("avatar bytes".utf8), for: "avatar")     // users/alice/avatar
            var total = 0
            if let stream = try await store.readStream("users/alice/avatar") {
                for try await chunk in stream.chunks { total += chunk.count }
            }
            #expect(total == 12)

            let draft = Data("draft".utf8)
            do {
                try await store.set(draft, for: "docs/readme", condition: .ifAbsent)
                Issue.record("a second ifAbsent write must fail")
            } catch let error as StoreError where error.code == .conditionFailed {
                // someone else wrote it first; nothing was changed
                #expect(try await store["docs/readme"] == Data("v2".utf8))
            }
        }
    }

    @Test func batchesReadOptionsAndDictionaryOperations() async throws {
        let store = MemoryStore()
        let etag = try await store.set(Data("A0".utf8), for: "users/alice").etag
        try await store.set(Data("B0".utf8), for: "users/bob")
        try await store.set(Data("s".utf8), for: "sessions/old")

        // Batches: one result per entry; `atomicBatches` says whether a failure undoes the rest.
        let results = try await store.writeBatch([
            BatchWrite("users/alice", Data("A".utf8)),
            BatchWrite("users/bob", Data("B".utf8), options: WriteOptions(condition: .ifAbsent)),
        ])
        #expect(results.count == 2)
        #expect((try? results[1].get()) == nil)   // bob exists, so the memory store's atomic batch wrote neither
        #expect(try await store["users/alice"] == Data("A0".utf8))
        let entries = try await store.readBatch(["users/alice", "users/carol"])   // [entry, nil]
        #expect(entries.map { $0?.value } == [Data("A0".utf8), nil])

        // A byte range, or nothing at all when the value has not changed since you read it.
        let head = try await store.read("users/alice", options: ReadOptions(range: .bytes(0..<1)))
        #expect(head?.body?.value == Data("A".utf8))
        var current = false
        if case .unchanged? = try await store.read("users/alice", options: ReadOptions(ifNoneMatch: etag)) { current = true }
        #expect(current)

        // Dictionary operations, atomic on every store with conditional writes.
        _ = try await store.increment("counters/visits")
        let visits = try await store.increment("counters/visits")
        #expect(visits == 2)
        let session = try await store.value(for: "sessions/x", default: Data("new".utf8))
        #expect(session == Data("new".utf8))
        let popped = try await store.removeValue(for: "users/bob")
        #expect(popped == Data("B0".utf8))
        #expect(try await store.removeAll(withPrefix: "sessions/") == 2)
        let report = try await store.copy(to: MemoryStore(), withPrefix: "users/")
        #expect(report.copied == 1)
    }

    struct User: Codable { var name: String; var visits: Int }

    @Test func layersComposeInOneExpression() async throws {
        try await withScratchDirectory { directory in
            let users = try FileSystemStore(root: directory.appending(path: "data"))
                .prefixed("app/")
                .cached(in: BoundedMemoryStore(maximumBytes: 64 << 20, maximumEntries: 10_000), mode: .mutable)
                .typed(as: User.self)

            try await users.set(User(name: "Alice", visits: 0), for: "alice")
            try await users.update("alice") { user in
                guard var user else { return .keep }
                user.visits += 1
                return .set(user)
            }
            let alice = try await users["alice"]
            #expect(alice?.name == "Alice")
            #expect(alice?.visits == 1)
            let raw = try await FileSystemStore(root: directory.appending(path: "data"))["app/alice"]
            #expect(raw.map { String(decoding: $0, as: UTF8.self).contains("\"visits\":1") } == true)
        }
    }
}
