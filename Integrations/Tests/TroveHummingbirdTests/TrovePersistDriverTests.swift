import Foundation
import Hummingbird
import Testing
import Trove
import TroveHummingbird
import TroveIntegrationTestSupport

/// What the adapter promises beyond Hummingbird's own tests: atomic creates, expiry kept by
/// `set`, keys of any shape, stores it refuses, sweeping in `run()`.
@Suite("TrovePersistDriver")
struct TrovePersistDriverTests {
    static func withDriver(
        _ fixture: StoreFixture, reclaimInterval: Duration? = nil,
        _ body: (TrovePersistDriver, ManualWallClock, any KeyValueStore, URL) async throws -> Void
    ) async throws {
        try await withScratchDirectory { directory in
            let clock = ManualWallClock()
            let store = try await fixture.make(directory, clock.wallClock)
            let persist = try TrovePersistDriver(store: store, clock: clock.wallClock, reclaimInterval: reclaimInterval)
            try await body(persist, clock, store, directory)
        }
    }

    // MARK: create

    @Test(arguments: StoreFixture.all)
    func ofManyConcurrentCreatesExactlyOneSucceeds(_ fixture: StoreFixture) async throws {
        try await Self.withDriver(fixture) { persist, _, _, _ in
            let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                for writer in 0..<16 {
                    group.addTask {
                        do {
                            try await persist.create(key: "lock", value: writer, expires: nil)
                            return true
                        } catch let error as PersistError where error == .duplicate {
                            return false
                        }
                    }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == 1)
            #expect(outcomes.filter { !$0 }.count == 15)
            #expect(try await persist.get(key: "lock", as: Int.self) != nil)
        }
    }

    @Test(arguments: StoreFixture.all)
    func aDuplicateCreateChangesNothing(_ fixture: StoreFixture) async throws {
        try await Self.withDriver(fixture) { persist, _, _, _ in
            try await persist.create(key: "k", value: "first", expires: .seconds(30))
            await #expect(throws: PersistError.duplicate) {
                try await persist.create(key: "k", value: "second", expires: nil)
            }
            let (value, ttl) = try #require(try await persist.getWithTTL(key: "k", as: String.self))
            #expect(value == "first")
            #expect(isAbout(ttl, seconds: 30))
        }
    }

    @Test(arguments: StoreFixture.all)
    func anExpiredEntryCanBeCreatedAgain(_ fixture: StoreFixture) async throws {
        try await Self.withDriver(fixture) { persist, clock, _, _ in
            try await persist.create(key: "k", value: "first", expires: .seconds(5))
            clock.advance(by: .seconds(6))
            try await persist.create(key: "k", value: "second", expires: nil)
            #expect(try await persist.get(key: "k", as: String.self) == "second")
        }
    }

    // MARK: set and expiry

    @Test(arguments: StoreFixture.all)
    func setWithoutExpiryKeepsTheCurrentExpiry(_ fixture: StoreFixture) async throws {
        try await Self.withDriver(fixture) { persist, clock, _, _ in
            try await persist.set(key: "k", value: "first", expires: .seconds(10))
            clock.advance(by: .seconds(4))
            try await persist.set(key: "k", value: "second", expires: nil)
            let (value, ttl) = try #require(try await persist.getWithTTL(key: "k", as: String.self))
            #expect(value == "second")
            #expect(isAbout(ttl, seconds: 6))
            clock.advance(by: .seconds(7))
            #expect(try await persist.get(key: "k", as: String.self) == nil)
        }
    }

    @Test(arguments: StoreFixture.all)
    func setWithExpiryReplacesTheExpiry(_ fixture: StoreFixture) async throws {
        try await Self.withDriver(fixture) { persist, clock, _, _ in
            try await persist.set(key: "k", value: "first", expires: .seconds(10))
            try await persist.set(key: "k", value: "second", expires: .seconds(100))
            clock.advance(by: .seconds(50))
            let (value, ttl) = try #require(try await persist.getWithTTL(key: "k", as: String.self))
            #expect(value == "second")
            #expect(isAbout(ttl, seconds: 50))
        }
    }

    @Test(arguments: StoreFixture.all)
    func aNewEntrySetWithoutExpiryNeverExpires(_ fixture: StoreFixture) async throws {
        try await Self.withDriver(fixture) { persist, clock, _, _ in
            try await persist.set(key: "k", value: "v", expires: nil)
            let entry = try #require(try await persist.getWithTTL(key: "k", as: String.self))
            #expect(entry.ttl == nil)
            clock.advance(by: .seconds(86_400 * 365))
            #expect(try await persist.get(key: "k", as: String.self) == "v")
        }
    }

    @Test(arguments: StoreFixture.all)
    func setWithoutExpiryAfterTheEntryExpiredStartsAnEntryThatNeverExpires(_ fixture: StoreFixture) async throws {
        try await Self.withDriver(fixture) { persist, clock, _, _ in
            try await persist.set(key: "k", value: "old", expires: .seconds(1))
            clock.advance(by: .seconds(2))
            try await persist.set(key: "k", value: "new", expires: nil)
            let entry = try #require(try await persist.getWithTTL(key: "k", as: String.self))
            #expect(entry.object == "new")
            #expect(entry.ttl == nil)
        }
    }

    /// Concurrent `set`s without expiry all land (none is lost to a failed compare-and-swap),
    /// and the entry keeps the expiry it was created with.
    @Test(arguments: StoreFixture.all)
    func concurrentSetsKeepTheExpiryAndEndWithOneOfTheirValues(_ fixture: StoreFixture) async throws {
        try await Self.withDriver(fixture) { persist, _, _, _ in
            try await persist.set(key: "k", value: -1, expires: .seconds(60))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<12 {
                    group.addTask { try await persist.set(key: "k", value: writer, expires: nil) }
                }
                try await group.waitForAll()
            }
            let entry = try #require(try await persist.getWithTTL(key: "k", as: Int.self))
            #expect((0..<12).contains(entry.object))
            #expect(isAbout(entry.ttl, seconds: 60))
        }
    }

    /// Another writer replaces the entry, with a new expiry, between `set`'s read of the current
    /// expiry and its write: `set` must not put the old expiry on the new entry.
    @Test(arguments: StoreFixture.all)
    func setKeepsTheExpiryOfTheEntryItReplacesNotOfAnEarlierOne(_ fixture: StoreFixture) async throws {
        try await withScratchDirectory { directory in
            let clock = ManualWallClock()
            let base = try await fixture.make(directory, clock.wallClock)
            let key = try StoreKey(validating: "session")
            try await base.set(Data(#""first""#.utf8), for: key, expiry: .after(.seconds(10)))
            let store = InterleavingStore(base: AnyKeyValueStore(base), key: key) { base in
                try await base.set(Data(#""interloper""#.utf8), for: key, expiry: .after(.seconds(100)))
            }
            let persist = try TrovePersistDriver(store: store, clock: clock.wallClock)
            try await persist.set(key: "session", value: "mine", expires: nil)
            #expect(store.didInterleave)
            let entry = try #require(try await persist.getWithTTL(key: "session", as: String.self))
            #expect(entry.object == "mine")
            #expect(isAbout(entry.ttl, seconds: 100))
        }
    }

    @Test(arguments: StoreFixture.all)
    func theExpiryIsTheStoresOwn(_ fixture: StoreFixture) async throws {
        try await Self.withDriver(fixture) { persist, clock, store, _ in
            try await persist.set(key: "k", value: "v", expires: .seconds(30))
            let metadata = try #require(try await store.metadata(for: persist.storeKey(for: "k")))
            let expiration = try #require(metadata.expirationDate)
            #expect(abs(expiration.timeIntervalSince(clock.now) - 30) < 0.001)
        }
    }

    // MARK: keys

    /// Rate-limit and session keys with characters a store key cannot hold.
    static let oddKeys = [
        "ratelimit:203.0.113.7/24:GET /api/v1/items?x=1&y=%2F", "", ".", "..", "/", "//", "a/../b", "%", "%2F",
        "hbs.Zm9v/YmFy+==", "line\nbreak", "\u{0}", "tab\tand\u{7F}", "caf\u{E9}", "cafe\u{301}", "日本/語", "a", "a/b",
    ]

    @Test(arguments: StoreFixture.all)
    func keysOfAnyShapeAreKeptApartAndListBackAsThemselves(_ fixture: StoreFixture) async throws {
        try await Self.withDriver(fixture) { persist, _, store, _ in
            for (index, key) in Self.oddKeys.enumerated() {
                try await persist.create(key: key, value: index, expires: nil)
            }
            for (index, key) in Self.oddKeys.enumerated() {
                #expect(try await persist.get(key: key, as: Int.self) == index, "key \(key.debugDescription)")
            }
            var listed: [[Unicode.Scalar]] = []
            for try await element in store.list(try ListQuery(prefix: ""), pageSize: 100) {
                let storeKey = try #require(element.key)
                let key = try #require(persist.key(for: storeKey), "\(storeKey) does not map back")
                listed.append(Array(key.unicodeScalars))
            }
            #expect(Set(listed) == Set(Self.oddKeys.map { Array($0.unicodeScalars) }))
            #expect(listed.count == Self.oddKeys.count)
            for key in Self.oddKeys {
                try await persist.remove(key: key)
                #expect(try await persist.get(key: key, as: Int.self) == nil)
            }
        }
    }

    @Test func aSlashInAKeyDoesNotMakeADirectory() async throws {
        try await Self.withDriver(.file) { persist, _, _, directory in
            try await persist.set(key: "hbs.ab/cd", value: "v", expires: nil)
            let names = try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("store").path)
                .filter { !$0.hasPrefix(".") }
            #expect(names.count == 1)
            #expect(names.first?.contains("/") == false)
            #expect(try persist.storeKey(for: "hbs.ab/cd").rawValue == "hbs.ab%2Fcd")
        }
    }

    @Test(arguments: StoreFixture.all)
    func anOverlongKeyThrowsAnInvalidKeyError(_ fixture: StoreFixture) async throws {
        try await Self.withDriver(fixture) { persist, _, _, _ in
            let overlong = String(repeating: "k", count: 2000)
            for operation in ["create", "set", "get", "remove"] {
                let error = await #expect(throws: StoreError.self, "\(operation)") {
                    switch operation {
                    case "create": try await persist.create(key: overlong, value: 1, expires: nil)
                    case "set": try await persist.set(key: overlong, value: 1, expires: nil)
                    case "get": _ = try await persist.get(key: overlong, as: Int.self)
                    default: try await persist.remove(key: overlong)
                    }
                }
                #expect(error?.code == .invalidKey)
            }
        }
    }

    // MARK: stores the driver refuses

    @Test func aStoreWithoutConditionalWritesIsRefused() throws {
        let error = #expect(throws: StoreError.self) { try TrovePersistDriver(store: MemoryStore().readOnly()) }
        #expect(error?.code == .notSupported)
        #expect(error?.message.contains("conditionalWrites") == true)
    }

    @Test func aStoreWithoutExpiryIsRefusedAndAcceptedOnceWrapped() async throws {
        let clock = ManualWallClock()
        let plain = StoreWithoutExpiry(base: MemoryStore(clock: clock.wallClock))
        let error = #expect(throws: StoreError.self) { try TrovePersistDriver(store: plain) }
        #expect(error?.code == .notSupported)
        #expect(error?.message.contains("expiration") == true)
        #expect(error?.message.contains("store.expiring()") == true)

        let persist = try TrovePersistDriver(store: plain.expiring(clock: clock.wallClock), clock: clock.wallClock)
        try await persist.set(key: "k", value: "v", expires: .seconds(10))
        #expect(isAbout(try await persist.getWithTTL(key: "k", as: String.self)?.ttl, seconds: 10))
        clock.advance(by: .seconds(11))
        #expect(try await persist.get(key: "k", as: String.self) == nil)
    }

    // MARK: values

    @Test func aFormatOfOtherCodecsIsUsedForEveryType() async throws {
        struct Point: Codable, Equatable { var x, y: Int }
        let store = MemoryStore()
        let persist = try TrovePersistDriver(store: store, format: .propertyList)
        try await persist.set(key: "p", value: Point(x: 1, y: 2), expires: nil)
        #expect(try await persist.get(key: "p", as: Point.self) == Point(x: 1, y: 2))
        let bytes = try #require(try await store.value(for: "p"))
        #expect(bytes.starts(with: Data("bplist".utf8)))
    }

    @Test func valuesAreSortedKeyJSONByDefault() async throws {
        struct Pair: Codable { var b = 2, a = 1 }
        let store = MemoryStore()
        let persist = try TrovePersistDriver(store: store)
        try await persist.set(key: "p", value: Pair(), expires: nil)
        #expect(try await store.value(for: "p") == Data(#"{"a":1,"b":2}"#.utf8))
    }

    // MARK: run()

    @Test func runReclaimsExpiredEntriesUntilGracefulShutdown() async throws {
        try await Self.withDriver(.file, reclaimInterval: .milliseconds(5)) { persist, clock, _, directory in
            try await persist.set(key: "short", value: "v", expires: .seconds(1))
            try await persist.set(key: "long", value: "v", expires: .seconds(100))
            clock.advance(by: .seconds(2))
            let root = directory.appendingPathComponent("store")
            func files() throws -> [String] {
                try FileManager.default.contentsOfDirectory(atPath: root.path).filter { !$0.hasPrefix(".") }.sorted()
            }
            #expect(try files() == ["long", "short"])  // expired, invisible, but still on disk
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await persist.run() }
                let deadline = ContinuousClock.now + .seconds(10)
                while try files() != ["long"], ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(5))
                }
                group.cancelAll()
                try await group.waitForAll()
            }
            #expect(try files() == ["long"])
        }
    }
}
