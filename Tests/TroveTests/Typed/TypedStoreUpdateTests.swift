import Foundation
import Testing
import Trove
import TroveTestSupport

/// `update` is a compare-and-swap loop whose closure sets, keeps or deletes a typed value.
@Suite("TypedStore update")
struct TypedStoreUpdateTests {
    @Test(arguments: typedFixtures)
    func setKeepAndDelete(_ fixture: ConformanceFixture) async throws {
        try await fixture.withFreshStore { store, _ in
            let profiles = AnyKeyValueStore(store).prefixed("profiles").typed(as: Profile.self)

            // Set on an empty key: the closure sees nil.
            var seen: [Profile?] = []
            let created = try await profiles.update("alice") { current in
                seen.append(current)
                return .set(.alice)
            }
            #expect(seen == [nil])
            guard case .stored(let stored, let metadata) = created else {
                Issue.record("expected .stored, got \(created)")
                return
            }
            #expect(stored == .alice)
            #expect(try await profiles.metadata(for: "alice")?.etag == metadata.etag)
            #expect(try await profiles["alice"] == .alice)

            // Set again from the current value.
            let renamed = try await profiles.update("alice") { current in
                seen.append(current)
                guard var user = current else { return .keep }
                user.name = "Alice"
                return .set(user)
            }
            #expect(seen.last == .alice)
            #expect(renamed.value?.name == "Alice")
            let etagAfterRename = try #require(renamed.metadata?.etag)

            // Keep: nothing is written, the ETag stays.
            let kept = try await profiles.update("alice") { _ in .keep }
            #expect(kept.value?.name == "Alice")
            #expect(kept.metadata == nil)
            if case .kept = kept {} else { Issue.record("expected .kept, got \(kept)") }
            #expect(try await profiles.metadata(for: "alice")?.etag == etagAfterRename)

            // Delete: the value is gone.
            let deleted = try await profiles.update("alice") { _ in .delete }
            if case .deleted = deleted {} else { Issue.record("expected .deleted, got \(deleted)") }
            #expect(deleted.value == nil)
            #expect(try await profiles.contains("alice") == false)

            // Keep and delete on an empty key change nothing.
            let keptNothing = try await profiles.update("nobody") { _ in .keep }
            if case .kept(nil) = keptNothing {} else { Issue.record("expected .kept(nil), got \(keptNothing)") }
            let deletedNothing = try await profiles.update("nobody") { _ in .delete }
            if case .deleted = deletedNothing {} else { Issue.record("expected .deleted, got \(deletedNothing)") }
            #expect(try await profiles.isEmpty())
        }
    }

    @Test(arguments: typedFixtures)
    func concurrentIncrementsAreNeverLost(_ fixture: ConformanceFixture) async throws {
        try await fixture.withFreshStore { store, _ in
            let counters = AnyKeyValueStore(store).prefixed("counters").typed(as: Int.self)
            let stores = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        var stores = 0
                        for _ in 0..<100 {
                            let outcome = try await counters.update("hits") { current in .set((current ?? 0) + 1) }
                            if case .stored = outcome { stores += 1 }
                        }
                        return stores
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(stores == 800)
            #expect(try await counters["hits"] == 800)
        }
    }

    @Test(arguments: typedFixtures)
    func updateWithADefaultIncrementsInPlace(_ fixture: ConformanceFixture) async throws {
        try await fixture.withFreshStore { store, _ in
            let counters = store.typed(as: Int.self)
            #expect(try await counters.update("visits", default: 10) { $0 += 1 } == 11)
            #expect(try await counters.update("visits", default: 10) { $0 *= 2 } == 22)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        for _ in 0..<25 { try await counters.update("visits", default: 0) { $0 += 1 } }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await counters["visits"] == 222)
        }
    }

    @Test func aValueThatDoesNotDecodeStopsTheUpdateAndStaysAsItIs() async throws {
        let store = MemoryStore()
        try await store.set(Data("not json".utf8), for: "counters/hits")
        let counters = store.prefixed("counters").typed(as: Int.self)
        var calls = 0
        let error = try await expectTypedError(.decodingFailed) {
            try await counters.update("hits") { _ in
                calls += 1
                return .set(1)
            }
        }
        #expect(calls == 0)
        #expect(error.key == "hits")
        #expect(error.operation == .update)
        #expect(error.message.contains("'json'"))
        #expect(error.underlying is DecodingError)
        #expect(try await store["counters/hits"] == Data("not json".utf8))
    }

    @Test func errorsFromTheClosureOrTheCodecWriteNothing() async throws {
        struct Refused: Error {}
        let store = MemoryStore()
        let numbers = store.typed(as: Double.self)
        try await numbers.set(1.5, for: "x")
        let before = try #require(try await numbers.metadata(for: "x"))
        await #expect(throws: Refused.self) {
            try await numbers.update("x") { _ in throw Refused() }
        }
        let error = try await expectTypedError(.invalidArgument) {
            try await numbers.update("x") { _ in .set(.infinity) }
        }
        #expect(error.operation == .update)
        #expect(try await numbers.metadata(for: "x")?.etag == before.etag)
        #expect(try await numbers["x"] == 1.5)
    }

    @Test func anUpdateKeepsTheEntrysExpiry() async throws {
        let clock = ManualWallClock()
        let store = MemoryStore(clock: clock.wallClock)
        let sessions = store.typed(as: String.self, codec: .text)
        try await sessions.set("fresh", for: "s", expiry: .after(.seconds(60)))
        let expiry = try #require(try await sessions.metadata(for: "s")?.expirationDate)
        try await sessions.update("s") { _ in .set("renewed") }
        #expect(try await sessions.metadata(for: "s")?.expirationDate == expiry)
        clock.advance(by: .seconds(61))
        #expect(try await sessions["s"] == nil)
    }
}
