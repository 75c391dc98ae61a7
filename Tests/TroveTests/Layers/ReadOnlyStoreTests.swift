import Foundation
import Testing
import Trove
import TroveTestSupport

@Suite("ReadOnlyStore")
struct ReadOnlyStoreTests {
    static func bytes(_ text: String) -> Data { Data(text.utf8) }

    /// A memory store holding `a`, `b/c` and `b/d`, and a read-only view of it.
    static func populated() async throws -> (view: ReadOnlyStore<MemoryStore>, base: MemoryStore) {
        let base = MemoryStore()
        for key: StoreKey in ["a", "b/c", "b/d"] { try await base.set(bytes("value of \(key)"), for: key) }
        return (base.readOnly(), base)
    }

    @Test func readsAndListingsAreForwarded() async throws {
        let (view, base) = try await Self.populated()
        let entry = try #require(try await view.read("a"))
        #expect(entry.value == Self.bytes("value of a"))
        #expect(entry.metadata == (try await base.metadata(for: "a")))
        #expect(try await view.metadata(for: "b/c")?.size == 12)
        let stream = try #require(try await view.readStream("b/d", chunkSize: 3))
        #expect(try await stream.chunks.collect() == Self.bytes("value of b/d"))
        #expect(try await view.read("missing") == nil)
        var levels: [String] = []
        for try await element in view.list(try ListQuery(delimiter: "/")) { levels.append(element.name) }
        #expect(levels == ["a", "b/"])
        #expect(try await view.listPage(.all, after: nil, limit: 2).elements.map(\.name) == ["a", "b/c"])
        #expect(try await view.count() == 3)
    }

    @Test func everyWriteIsRefusedAndChangesNothing() async throws {
        let (view, base) = try await Self.populated()
        let before = try #require(try await base.metadata(for: "a"))
        let attempts: [(String, @Sendable () async throws -> Void)] = [
            ("overwrite", { try await view.set(Self.bytes("new"), for: "a") }),
            ("create", { try await view.set(Self.bytes("new"), for: "fresh") }),
            ("ifAbsent", { try await view.set(Self.bytes("new"), for: "fresh", condition: .ifAbsent) }),
            ("ifMatches", { try await view.set(Self.bytes("new"), for: "a", condition: .ifMatches(before.etag)) }),
            ("expiry", { try await view.set(Self.bytes("new"), for: "fresh", expiry: .after(.seconds(1))) }),
            ("delete", { try await view.delete("a") }),
            ("delete missing", { try await view.delete("fresh") }),
            ("conditional delete", { _ = try await view.delete("a", condition: .ifMatches(before.etag)) }),
        ]
        for (what, attempt) in attempts {
            let error = await #expect(throws: StoreError.self, "\(what)") { try await attempt() }
            #expect(error?.code == .readOnly, "\(what)")
            #expect(error?.store == view.description, "\(what)")
            #expect(error?.key != nil, "\(what)")
        }
        #expect(try await base.metadata(for: "a") == before)
        #expect(try await base.count() == 3)
    }

    @Test func aStreamedWriteIsRefusedWithoutReadingItsSource() async throws {
        let (view, base) = try await Self.populated()
        let pulled = PolicyTestCounter()
        let source = PolicyTestChunks(chunks: [Self.bytes("one"), Self.bytes("two")], pulled: pulled)
        let error = await #expect(throws: StoreError.self) { try await view.set(contentsOf: source, for: "streamed") }
        #expect(error?.code == .readOnly)
        #expect(error?.key == "streamed")
        #expect(pulled.value == 0)
        #expect(try await base.read("streamed") == nil)
    }

    @Test func reclaimingIsRefused() async throws {
        let clock = ManualWallClock()
        let base = MemoryStore(clock: clock.wallClock)
        try await base.set(Self.bytes("v"), for: "k", expiry: .after(.seconds(1)))
        clock.advance(by: .seconds(2))
        let error = await #expect(throws: StoreError.self) { try await base.readOnly().reclaimExpired() }
        #expect(error?.code == .readOnly)
        #expect(try await base.reclaimExpired() == 1, "the refused reclaim left the expired entry to the base")
    }

    @Test func capabilitiesDropTheWriteRelatedOnes() async throws {
        try await withScratchDirectory { directory in
            let file = try FileSystemStore(root: directory)
            let view = file.readOnly()
            #expect(view.capabilities.isDisjoint(with: [.conditionalWrites, .conditionalDeletes, .expiration]))
            #expect(view.capabilities.isSuperset(of: [.persistence, .streaming, .retention, .sharedAcrossProcesses]))
            #expect(view.capabilities == file.capabilities.subtracting([.conditionalWrites, .conditionalDeletes, .expiration]))
            #expect(view.description == "\(file.description) read-only")
        }
    }

    @Test func updateThroughAReadOnlyViewIsRefusedByCapability() async throws {
        let (view, base) = try await Self.populated()
        let error = await #expect(throws: StoreError.self) {
            try await view.update("a") { _ in .set(Self.bytes("changed")) }
        }
        #expect(error?.code == .notSupported)
        #expect(try await base["a"] == Self.bytes("value of a"))
    }
}
