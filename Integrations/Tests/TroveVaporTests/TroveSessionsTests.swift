import Foundation
import Testing
import Trove
import TroveIntegrationTestSupport
import TroveVapor
import Vapor
import VaporTesting

/// The session driver on its own: fresh random ids, updates that never resurrect, lifetimes.
@Suite("TroveSessions")
struct TroveSessionsTests {
    static func withDriver(
        _ fixture: StoreFixture, lifetime: Duration? = nil,
        _ body: (TroveSessions, Request, ManualWallClock, any KeyValueStore) async throws -> Void
    ) async throws {
        try await withScratchDirectory { directory in
            let clock = ManualWallClock()
            let store = try await fixture.make(directory, clock.wallClock)
            let driver = try TroveSessions(store: store, lifetime: lifetime)
            try await withApp { app in
                try await body(driver, Request(application: app, on: app.eventLoopGroup.next()), clock, store)
            }
        }
    }

    @Test(arguments: StoreFixture.all)
    func createReadUpdateDelete(_ fixture: StoreFixture) async throws {
        try await Self.withDriver(fixture) { driver, request, _, _ in
            let id = try await driver.createSession(["name": "alice"], for: request)
            #expect(try await driver.readSession(id, for: request) == ["name": "alice"])
            #expect(try await driver.updateSession(id, to: ["name": "bob"], for: request) == id)
            #expect(try await driver.readSession(id, for: request) == ["name": "bob"])
            try await driver.deleteSession(id, for: request)
            #expect(try await driver.readSession(id, for: request) == nil)
            try await driver.deleteSession(id, for: request)  // deleting again does nothing
        }
    }

    @Test(arguments: StoreFixture.all)
    func anUpdateAfterADeleteDoesNotBringTheSessionBack(_ fixture: StoreFixture) async throws {
        try await Self.withDriver(fixture) { driver, request, _, store in
            let id = try await driver.createSession(["name": "alice"], for: request)
            try await driver.deleteSession(id, for: request)
            _ = try await driver.updateSession(id, to: ["name": "alice", "cart": "3 items"], for: request)
            #expect(try await driver.readSession(id, for: request) == nil)
            #expect(try await store.count(withPrefix: "") == 0)
        }
    }

    @Test func idsAre32RandomBytesInBase64AndStoredUnderTheirMappedKey() async throws {
        try await Self.withDriver(.memory) { driver, request, _, store in
            var ids = Set<String>()
            for _ in 0..<50 {
                let id = try await driver.createSession([:], for: request)
                #expect(Data(base64Encoded: id.string)?.count == 32)
                #expect(try await store.metadata(for: driver.storeKey(for: id)) != nil)
                ids.insert(id.string)
            }
            #expect(ids.count == 50)
            #expect(try await store.count(withPrefix: "") == 50)
        }
    }

    @Test(arguments: StoreFixture.all)
    func aSessionLivesItsLifetimeFromItsLastUpdate(_ fixture: StoreFixture) async throws {
        try await Self.withDriver(fixture, lifetime: .seconds(100)) { driver, request, clock, _ in
            let id = try await driver.createSession(["n": "1"], for: request)
            clock.advance(by: .seconds(60))
            _ = try await driver.updateSession(id, to: ["n": "2"], for: request)
            clock.advance(by: .seconds(60))  // 120 s after creation, 60 s after the update
            #expect(try await driver.readSession(id, for: request) == ["n": "2"])
            clock.advance(by: .seconds(41))
            #expect(try await driver.readSession(id, for: request) == nil)
        }
    }

    @Test func withoutALifetimeAnUpdateKeepsTheEntrysExpiry() async throws {
        try await Self.withDriver(.file) { driver, request, clock, store in
            let id = try await driver.createSession(["n": "1"], for: request)
            let key = try driver.storeKey(for: id)
            // An entry that expires, as another writer (or an earlier configuration) left it.
            try await store.set(Data(#"{"n":"1"}"#.utf8), for: key, expiry: .after(.seconds(30)))
            _ = try await driver.updateSession(id, to: ["n": "2"], for: request)
            let expiration = try #require(try await store.metadata(for: key)?.expirationDate)
            #expect(abs(expiration.timeIntervalSince(clock.now) - 30) < 0.001)
        }
    }

    @Test func anIdTooLongToBeAKeyNamesNoSession() async throws {
        try await Self.withDriver(.memory) { driver, request, _, _ in
            let forged = SessionID(string: String(repeating: "A", count: 5000))
            #expect(try await driver.readSession(forged, for: request) == nil)
            try await driver.deleteSession(forged, for: request)
            let error = #expect(throws: StoreError.self) { try driver.storeKey(for: forged) }
            #expect(error?.code == .invalidKey)
        }
    }

    @Test func anEntryThatIsNotSessionDataThrowsDecodingFailed() async throws {
        try await Self.withDriver(.memory) { driver, request, _, store in
            let id = try await driver.createSession([:], for: request)
            try await store.set(Data("[1, 2]".utf8), for: driver.storeKey(for: id))
            let error = await #expect(throws: StoreError.self) { try await driver.readSession(id, for: request) }
            #expect(error?.code == .decodingFailed)
        }
    }

    @Test func aLifetimeNeedsAStoreWithExpiry() throws {
        let plain = StoreWithoutExpiry(base: MemoryStore())
        let error = #expect(throws: StoreError.self) { try TroveSessions(store: plain, lifetime: .seconds(60)) }
        #expect(error?.code == .notSupported)
        #expect(error?.message.contains("expiration") == true)
        _ = try TroveSessions(store: plain)
        let readOnly = #expect(throws: StoreError.self) { try TroveSessions(store: MemoryStore().readOnly()) }
        #expect(readOnly?.message.contains("conditionalWrites") == true)
    }
}
