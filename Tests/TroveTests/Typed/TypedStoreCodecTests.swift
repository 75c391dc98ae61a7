import Foundation
import Testing
import Trove
import TroveTestSupport

/// Every codec stores and reads back what it was given, on memory and on files, and garbage
/// bytes are a `.decodingFailed` error naming the key and the codec, never a crash.
@Suite("TypedStore codecs")
struct TypedStoreCodecTests {
    @Test(arguments: typedFixtures)
    func jsonRoundTrips(_ fixture: ConformanceFixture) async throws {
        try await fixture.withFreshStore { store, _ in
            try await checkRoundTrips(store.typed(as: Profile.self, codec: .json), [.alice, .bob])
            try await checkRoundTrips(store.typed(as: Int.self), [0, -1, .max, .min])
            try await checkRoundTrips(store.typed(as: [String: Double].self), [[:], ["π": 3.141592653589793, "e": 2.718281828459045]])
            try await checkRoundTrips(store.typed(as: String?.self, codec: .json), ["x"])

            // The bytes are JSON with sorted keys, so equal values give equal bytes.
            let profiles = store.typed(as: Profile.self)
            try await profiles.set(.alice, for: "alice")
            let text = String(decoding: try #require(try await store["alice"]), as: UTF8.self)
            #expect(text.hasPrefix(#"{"age":34,"avatar":"#))
        }
    }

    @Test(arguments: typedFixtures)
    func jsonWithCustomEncoderAndDecoder(_ fixture: ConformanceFixture) async throws {
        try await fixture.withFreshStore { store, _ in
            let encoder = JSONEncoder()
            encoder.dateEncodingStrategy = .iso8601
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            let profiles = store.typed(as: Profile.self, codec: .json(encoder: encoder, decoder: decoder))
            try await checkRoundTrips(profiles, [.alice, .bob])
            try await profiles.set(.alice, for: "alice")
            let text = String(decoding: try #require(try await store["alice"]), as: UTF8.self)
            #expect(text.contains("2023-11-14T22:13:20Z"))
        }
    }

    @Test(arguments: typedFixtures)
    func propertyListRoundTrips(_ fixture: ConformanceFixture) async throws {
        try await fixture.withFreshStore { store, _ in
            let binary = store.typed(as: Profile.self, codec: .propertyList)
            try await checkRoundTrips(binary, [.alice, .bob])
            try await checkRoundTrips(store.typed(as: [Int].self, codec: .propertyList), [[], [1, 2, 3]])
            try await binary.set(.alice, for: "alice")
            #expect(try #require(try await store["alice"]).starts(with: Data("bplist00".utf8)))

            let xml = store.typed(as: Profile.self, codec: .propertyList(format: .xml))
            try await checkRoundTrips(xml, [.alice, .bob])
            try await xml.set(.bob, for: "bob")
            #expect(String(decoding: try #require(try await store["bob"]), as: UTF8.self).hasPrefix("<?xml"))
            // Either format reads whatever the other wrote.
            #expect(try await binary["bob"] == .bob)
            #expect(try await xml["alice"] == .alice)
        }
    }

    @Test(arguments: typedFixtures)
    func dataIsStoredAsItIs(_ fixture: ConformanceFixture) async throws {
        try await fixture.withFreshStore { store, _ in
            let blobs = store.typed(codec: .data)
            let bytes = Data((0...255).map { UInt8($0) } + [0xFF, 0xFE, 0])
            try await checkRoundTrips(blobs, [bytes, Data(), Data(repeating: 0, count: 70_000)])
            try await blobs.set(bytes, for: "raw")
            #expect(try await store["raw"] == bytes)
        }
    }

    @Test(arguments: typedFixtures)
    func textIsStoredAsUTF8(_ fixture: ConformanceFixture) async throws {
        try await fixture.withFreshStore { store, _ in
            let notes = store.typed(codec: .text)
            try await checkRoundTrips(notes, ["buy milk", "", "naïve café 日本 🚀\n\"quoted\"\u{0}"])
            try await notes.set("héllo", for: "note")
            #expect(try await store["note"] == Data("héllo".utf8))
        }
    }

    @Test(arguments: typedFixtures)
    func customCodecsRoundTrip(_ fixture: ConformanceFixture) async throws {
        try await fixture.withFreshStore { store, _ in
            let points = AnyKeyValueStore(store).prefixed("points").typed(as: Point.self, codec: PointCodec())
            try await checkRoundTrips(points, [Point(x: 1, y: -2), Point(x: 0, y: 0)])
            try await points.set(Point(x: 3, y: 4), for: "p")
            #expect(try await store["points/p"] == Data("3,4".utf8))
            #expect(points.codec.name == "point-csv")

            // The same format through closures.
            let closures = AnyKeyValueStore(store).prefixed("points").typed(as: Point.self, codec: .custom(named: "xy", encode: { point in
                Data("\(point.x),\(point.y)".utf8)
            }, decode: { data in
                try PointCodec().decode(data)
            }))
            #expect(try await closures["p"] == Point(x: 3, y: 4))
            try await checkRoundTrips(closures, [Point(x: 7, y: 8)])
        }
    }

    @Test(arguments: typedFixtures)
    func garbageIsADecodingErrorNamingKeyAndCodec(_ fixture: ConformanceFixture) async throws {
        try await fixture.withFreshStore { store, _ in
            let garbage = Data([0xFF, 0xFE, 0x00, 0x7B, 0x22, 0xC3])
            try await store.set(garbage, for: "users/alice")

            let json = AnyKeyValueStore(store).prefixed("users").typed(as: Profile.self, codec: .json)
            let jsonError = try await expectTypedError(.decodingFailed) { _ = try await json["alice"] }
            #expect(jsonError.key == "alice")
            #expect(jsonError.operation == .read)
            #expect(jsonError.message.contains("'json'"))
            #expect(jsonError.message.contains("Profile"))
            #expect(jsonError.underlying is DecodingError)

            let plist = AnyKeyValueStore(store).prefixed("users").typed(as: Profile.self, codec: .propertyList)
            let plistError = try await expectTypedError(.decodingFailed) { _ = try await plist.read("alice") }
            #expect(plistError.key == "alice")
            #expect(plistError.message.contains("'plist-binary'"))
            #expect(plistError.underlying != nil)

            let text = AnyKeyValueStore(store).prefixed("users").typed(as: String.self, codec: .text)
            let textError = try await expectTypedError(.decodingFailed) { _ = try await text.value(for: "alice") }
            #expect(textError.key == "alice")
            #expect(textError.message.contains("'utf8-text'"))
            #expect(textError.underlying as? InvalidUTF8Error == InvalidUTF8Error(byteCount: garbage.count))

            let points = AnyKeyValueStore(store).prefixed("users").typed(as: Point.self, codec: PointCodec())
            let pointError = try await expectTypedError(.decodingFailed) { _ = try await points["alice"] }
            #expect(pointError.message.contains("'point-csv'"))
            #expect(pointError.underlying is PointCodec.Malformed)

            // Iterating stops at the value that does not decode, with the same error.
            let listError = try await expectTypedError(.decodingFailed) {
                for try await _ in try json.values() {}
            }
            #expect(listError.key == "alice")

            // Nothing was repaired or removed, and the raw bytes are still readable.
            #expect(try await store["users/alice"] == garbage)
            #expect(try await json.contains("alice"))
            #expect(try await AnyKeyValueStore(store).prefixed("users").typed(as: Data.self, codec: .data)["alice"] == garbage)
        }
    }

    @Test func valuesThatCannotBeEncodedAreRefusedBeforeAnyWrite() async throws {
        let store = MemoryStore()
        let numbers = store.typed(as: Double.self)
        let error = try await expectTypedError(.invalidArgument) { try await numbers.set(.nan, for: "n") }
        #expect(error.key == "n")
        #expect(error.operation == .write)
        #expect(error.message.contains("'json'"))
        #expect(error.underlying is EncodingError)
        #expect(try await store.contains("n") == false)

        // Foundation's property-list encoder wants a container at the top level.
        let counts = store.typed(as: Int.self, codec: .propertyList)
        _ = try await expectTypedError(.invalidArgument) { try await counts.set(1, for: "c") }
        #expect(try await store.contains("c") == false)
    }

    @Test func aCustomCodecInstanceCanBeErasedAndKeepsItsName() async throws {
        let erased = AnyValueCodec(PointCodec())
        #expect(erased.name == "point-csv")
        #expect(try erased.decode(try erased.encode(Point(x: 5, y: 6))) == Point(x: 5, y: 6))
        let twice = AnyValueCodec(erased)
        #expect(twice.name == "point-csv")
        #expect(AnyValueCodec<Profile>.json.name == "json")
        #expect(AnyValueCodec<Profile>.propertyList.name == "plist-binary")
        #expect(AnyValueCodec<Data>.data.name == "data")
        #expect(AnyValueCodec<String>.text.name == "utf8-text")
        #expect(TypedStore(base: MemoryStore(), codec: PointCodec()).description == "Point values as point-csv in memory")
    }
}
