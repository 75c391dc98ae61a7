import Foundation
import NIOCore
import Testing
import Trove
import TroveIntegrationTestSupport
import TroveVapor
import Vapor
import VaporTesting

/// The Vapor `Cache` contract (the cases of Vapor's own `AsyncCacheTests`, with a manual clock
/// instead of a sleep) and what the adapter adds, on each kind of store.
@Suite("TroveCache")
struct TroveCacheTests {
    /// An application whose cache is a ``TroveCache`` over a fresh store of `fixture`.
    static func withCache(
        _ fixture: StoreFixture, _ body: (Application, ManualWallClock, any KeyValueStore) async throws -> Void
    ) async throws {
        try await withScratchDirectory { directory in
            let clock = ManualWallClock()
            let store = try await fixture.make(directory, clock.wallClock)
            try await withApp(configure: { app in try app.caches.use(.trove(store)) }) { app in
                try await body(app, clock, store)
            }
        }
    }

    @Test(arguments: StoreFixture.all)
    func vaporsCacheContract(_ fixture: StoreFixture) async throws {
        try await Self.withCache(fixture) { app, clock, _ in
            let value1 = try await app.cache.get("foo", as: String.self)
            #expect(value1 == nil)
            try await app.cache.set("foo", to: "bar")
            let value2: String? = try await app.cache.get("foo")
            #expect(value2 == "bar")

            // Expiration
            try await app.cache.set("foo2", to: "bar2", expiresIn: .seconds(1))
            let value3: String? = try await app.cache.get("foo2")
            #expect(value3 == "bar2")
            clock.advance(by: .seconds(1))
            let value4 = try await app.cache.get("foo2", as: String.self)
            #expect(value4 == nil)

            // Resetting a value
            try await app.cache.set("foo3", to: "bar3")
            let value5: String? = try await app.cache.get("foo3")
            #expect(value5 == "bar3")
            try await app.cache.delete("foo3")
            let value6 = try await app.cache.get("foo3", as: String.self)
            #expect(value6 == nil)
        }
    }

    @Test(arguments: StoreFixture.all)
    func settingNilDeletesTheKey(_ fixture: StoreFixture) async throws {
        try await Self.withCache(fixture) { app, _, store in
            try await app.cache.set("k", to: "v")
            try await app.cache.set("k", to: String?.none)
            #expect(try await app.cache.get("k", as: String.self) == nil)
            #expect(try await store.count(withPrefix: "") == 0)
        }
    }

    @Test(arguments: StoreFixture.all)
    func expiresInBecomesTheEntrysExpiryAndASetWithoutItNeverExpires(_ fixture: StoreFixture) async throws {
        try await Self.withCache(fixture) { app, clock, store in
            try await app.cache.set("k", to: 1, expiresIn: .minutes(2))
            let metadata = try #require(try await store.metadata(for: "k"))
            let expiration = try #require(metadata.expirationDate)
            #expect(abs(expiration.timeIntervalSince(clock.now) - 120) < 0.001)
            try await app.cache.set("k", to: 2)  // replaces the value and its expiry
            clock.advance(by: .seconds(86_400))
            #expect(try await app.cache.get("k", as: Int.self) == 2)
        }
    }

    @Test(arguments: StoreFixture.all)
    func codableValuesRoundTripAsJSON(_ fixture: StoreFixture) async throws {
        struct Profile: Codable, Equatable, Sendable { var name: String; var tags: [String] }
        try await Self.withCache(fixture) { app, _, store in
            let profile = Profile(name: "alice", tags: ["admin", "ops"])
            try await app.cache.set("profile:alice", to: profile)
            #expect(try await app.cache.get("profile:alice", as: Profile.self) == profile)
            #expect(try await store.value(for: "profile:alice") == Data(#"{"name":"alice","tags":["admin","ops"]}"#.utf8))
        }
    }

    @Test(arguments: StoreFixture.all)
    func aValueOfAnotherTypeThrowsDecodingFailed(_ fixture: StoreFixture) async throws {
        try await Self.withCache(fixture) { app, _, _ in
            try await app.cache.set("k", to: "text")
            let error = await #expect(throws: StoreError.self) { try await app.cache.get("k", as: Int.self) }
            #expect(error?.code == .decodingFailed)
            #expect(error?.key == "k")
        }
    }

    @Test(arguments: StoreFixture.all)
    func keysOfAnyShapeAreKeptApart(_ fixture: StoreFixture) async throws {
        let keys = ["", ".", "..", "/", "a/b", "a%2Fb", "user:42", "line\nbreak", "caf\u{E9}", "cafe\u{301}"]
        try await Self.withCache(fixture) { app, _, store in
            for (index, key) in keys.enumerated() { try await app.cache.set(key, to: index) }
            for (index, key) in keys.enumerated() {
                #expect(try await app.cache.get(key, as: Int.self) == index, "key \(key.debugDescription)")
            }
            #expect(try await store.count(withPrefix: "") == keys.count)
            let overlong = String(repeating: "x", count: 1025)
            let error = await #expect(throws: StoreError.self) { try await app.cache.set(overlong, to: 1) }
            #expect(error?.code == .invalidKey)
        }
    }

    @Test func theCacheForARequestCompletesOnItsEventLoop() async throws {
        try await withApp { app in
            let cache = try TroveCache(store: MemoryStore(), on: app.eventLoopGroup.next())
            let request = Request(application: app, on: app.eventLoopGroup.next())
            #expect(cache.for(request).eventLoop === request.eventLoop)
            try await cache.for(request).set("k", to: "v").get()
            #expect(try await cache.get("k", as: String.self).get() == "v")
        }
    }

    @Test func aStoreWithoutExpiryIsRefusedAtConfiguration() async throws {
        try await withApp { app in
            let error = #expect(throws: StoreError.self) { try app.caches.use(.trove(StoreWithoutExpiry(base: MemoryStore()))) }
            #expect(error?.code == .notSupported)
            #expect(error?.message.contains("expiration") == true)
            try app.caches.use(.trove(StoreWithoutExpiry(base: MemoryStore()).expiring()))
        }
    }
}
