import Foundation
import Testing
import Trove
import TroveTestSupport

/// Typed views share stores, list their own keys, and pass conditions, expiry and URLs through.
@Suite("TypedStore views")
struct TypedStoreViewTests {
    @Test(arguments: typedFixtures)
    func viewsWithDifferentCodecsShareOneStore(_ fixture: ConformanceFixture) async throws {
        try await fixture.withFreshStore { store, _ in
            let profiles = AnyKeyValueStore(store).prefixed("profiles").typed(as: Profile.self, codec: .json)
            let settings = AnyKeyValueStore(store).prefixed("settings").typed(as: Profile.self, codec: .propertyList)
            let bios = AnyKeyValueStore(store).prefixed("bios").typed(as: String.self, codec: .text)
            let avatars = AnyKeyValueStore(store).prefixed("avatars").typed(as: Data.self, codec: .data)

            for name in ["alice", "bob"] as [StoreKey] {
                try await profiles.set(name == "alice" ? .alice : .bob, for: name)
                try await settings.set(name == "alice" ? .bob : .alice, for: name)
                try await bios.set("bio of \(name)", for: name)
                try await avatars.set(Data(name.rawValue.utf8.reversed()), for: name)
            }

            // Each view reads its own value under the same relative key.
            #expect(try await profiles["alice"] == .alice)
            #expect(try await settings["alice"] == .bob)
            #expect(try await bios["alice"] == "bio of alice")
            #expect(try await avatars["alice"] == Data("ecila".utf8))

            // The shared store holds every view's entries, each in its own format.
            var all: [String] = []
            for try await key in try store.keys() { all.append(key.rawValue) }
            #expect(all == [
                "avatars/alice", "avatars/bob", "bios/alice", "bios/bob",
                "profiles/alice", "profiles/bob", "settings/alice", "settings/bob",
            ])
            #expect(try await store["bios/bob"] == Data("bio of bob".utf8))
            #expect(try #require(try await store["settings/bob"]).starts(with: Data("bplist00".utf8)))
            #expect(try #require(try await store["profiles/bob"]).first == UInt8(ascii: "{"))

            // Each view lists only its own keys, without its prefix.
            var bioItems: [String] = []
            for try await (key, bio) in try bios.items() { bioItems.append("\(key)=\(bio)") }
            #expect(bioItems == ["alice=bio of alice", "bob=bio of bob"])
            #expect(try await profiles.count() == 2)

            // Deleting in one view leaves the others alone.
            #expect(try await bios.delete("alice"))
            #expect(try await bios["alice"] == nil)
            #expect(try await profiles["alice"] == .alice)
            #expect(try await avatars.contains("alice"))
            #expect(try await store.count() == 7)
        }
    }

    @Test(arguments: typedFixtures)
    func keysValuesAndItemsComeInKeyOrder(_ fixture: ConformanceFixture) async throws {
        try await fixture.withFreshStore { store, _ in
            let scores = AnyKeyValueStore(store).prefixed("scores").typed(as: Int.self)
            let names: [StoreKey] = ["b", "a/x", "c", "a", "a/y"]
            for (index, name) in names.enumerated() { try await scores.set(index * 10, for: name) }

            var keys: [StoreKey] = []
            for try await key in try scores.keys() { keys.append(key) }
            #expect(keys == ["a", "a/x", "a/y", "b", "c"])

            var values: [Int] = []
            for try await value in try scores.values() { values.append(value) }
            #expect(values == [30, 10, 40, 0, 20])

            var items: [String] = []
            for try await item in try scores.items(withPrefix: "a/") { items.append("\(item.key):\(item.value)") }
            #expect(items == ["a/x:10", "a/y:40"])

            #expect(try await scores.count() == 5)
            #expect(try await scores.count(withPrefix: "a") == 3)
            #expect(try await scores.isEmpty(withPrefix: "z"))
            #expect(try await scores.isEmpty() == false)

            // Stopping early is fine.
            var first: Int?
            for try await value in try scores.values() {
                first = value
                break
            }
            #expect(first == 30)
        }
    }

    @Test func conditionsAndExpiryPassThrough() async throws {
        let clock = ManualWallClock()
        let users = MemoryStore(clock: clock.wallClock).typed(as: Profile.self)
        let first = try await users.set(.alice, for: "alice", condition: .ifAbsent)
        _ = try await expectTypedError(.conditionFailed) {
            try await users.set(.bob, for: "alice", condition: .ifAbsent)
        }
        let second = try await users.set(.bob, for: "alice", condition: .ifMatches(first.etag))
        _ = try await expectTypedError(.conditionFailed) {
            try await users.set(.alice, for: "alice", condition: .ifMatches(first.etag))
        }
        _ = try await expectTypedError(.conditionFailed) {
            try await users.delete("alice", condition: .ifMatches(first.etag))
        }
        #expect(try await users["alice"] == .bob)
        #expect(try await users.delete("alice", condition: .ifMatches(second.etag)))

        try await users.set(.alice, for: "temporary", expiry: .after(.seconds(10)))
        #expect(try await users["temporary"] == .alice)
        clock.advance(by: .seconds(11))
        #expect(try await users["temporary"] == nil)
        #expect(try await users.count() == 0)
    }

    @Test func sugarStacksReadAsOneExpression() async throws {
        let memory = MemoryStore()
        let users = memory.prefixed("app").typed(as: Profile.self)
        try await users.set(.alice, for: "alice")
        #expect(try await memory.contains("app/alice"))
        #expect(users.description == "Profile values as json in memory prefix app/")
        #expect(users.codec.name == "json")

        let nested = memory.prefixed("app").prefixed("users").typed(as: Profile.self)
        try await nested.set(.bob, for: "bob")
        #expect(try await memory.contains("app/users/bob"))
        #expect(try await nested["bob"] == .bob)

        let typedByInit = TypedStore<Profile>(base: memory.prefixed("app"), codec: .json)
        #expect(try await typedByInit["alice"] == Profile.alice)
    }

    @Test func urlsComeFromTheStoreBeneath() async throws {
        let linked = LinkedStore(base: MemoryStore())
        let photos = linked.prefixed("photos").typed(as: Data.self, codec: .data)
        #expect(try await photos.url(for: "cat") == URL(string: "https://objects.example/photos/cat"))
        #expect(try await linked.typed(as: Profile.self).url(for: "alice") == URL(string: "https://objects.example/alice"))

        try await withScratchDirectory { directory in
            let files = try FileSystemStore(root: directory)
            #expect(try await files.prefixed("users").typed(as: Profile.self).url(for: "alice") == nil)
        }
    }
}

/// A store that forwards everything to a memory store and has a URL for every key, as an
/// object store with public or presigned URLs does.
private struct LinkedStore: KeyValueStore {
    let base: MemoryStore
    var description: String { "linked \(base.description)" }
    var capabilities: StoreCapabilities { base.capabilities.subtracting(.passedOnOnlyByForwarding) }
    func read(_ key: StoreKey) async throws -> StoreEntry? { try await base.read(key) }
    func metadata(for key: StoreKey) async throws -> EntryMetadata? { try await base.metadata(for: key) }
    func write(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        try await base.write(value, for: key, options: options)
    }
    func delete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool {
        try await base.delete(key, condition: condition)
    }
    func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
        try await base.listPage(query, after: cursor, limit: limit)
    }
    func url(for key: StoreKey, validFor lifetime: Duration) async throws -> URL? { URL(string: "https://objects.example/\(key.rawValue)") }
    func reclaimExpired() async throws -> Int { try await base.reclaimExpired() }
}
