import Foundation
import Testing
import Trove
import TroveTestSupport

/// A `Codable` value with a bit of everything: text, numbers, arrays, nested data, a date.
struct Profile: Codable, Hashable, Sendable {
    var name: String
    var age: Int
    var tags: [String]
    var avatar: Data
    var joined: Date

    static let alice = Profile(
        name: "Alice Ø'Brien ✓", age: 34, tags: ["admin", "ops"],
        avatar: Data([0, 1, 2, 0xFE, 0xFF]), joined: Date(timeIntervalSince1970: 1_700_000_000)
    )
    static let bob = Profile(name: "Bob", age: 27, tags: [], avatar: Data(), joined: Date(timeIntervalSince1970: 1_600_000_000))
}

/// A point stored as the text `x,y`, through a codec of our own.
struct Point: Hashable, Sendable {
    var x: Int
    var y: Int
}

/// A hand-written codec, as a user would write one for a format Trove does not know.
struct PointCodec: ValueCodec {
    struct Malformed: Error {}

    var name: String { "point-csv" }

    func encode(_ point: Point) throws -> Data { Data("\(point.x),\(point.y)".utf8) }

    func decode(_ data: Data) throws -> Point {
        let parts = String(decoding: data, as: UTF8.self).split(separator: ",")
        guard parts.count == 2, let x = Int(parts[0]), let y = Int(parts[1]) else { throw Malformed() }
        return Point(x: x, y: y)
    }
}

/// The stores every typed test runs on: the reference store and files in a temporary directory.
let typedFixtures: [ConformanceFixture] = [StoreFixture.memory, StoreFixture.fileSystem]

/// Stores each of `values` under `key` in turn and reads it back through every read path, then
/// deletes it; the view must start without `key`.
func checkRoundTrips<Value: Equatable>(
    _ view: TypedStore<Value>, _ values: [Value], key: StoreKey = "round/trip"
) async throws {
    #expect(try await view[key] == nil)
    #expect(try await view.contains(key) == false)
    for value in values {
        let written = try await view.set(value, for: key)
        #expect(try await view[key] == value)
        #expect(try await view.value(for: key) == value)
        let entry = try #require(try await view.read(key))
        #expect(entry.value == value)
        #expect(entry.metadata.etag == written.etag)
        #expect(try await view.metadata(for: key)?.etag == written.etag)
        #expect(try await view.contains(key))
    }
    #expect(try await view.delete(key))
    #expect(try await view[key] == nil)
    #expect(try await view.delete(key) == false)
}

/// Runs `body` expecting it to throw a ``StoreError`` with `code`, and returns the error.
func expectTypedError(
    _ code: StoreError.Code, _ body: () async throws -> Void
) async throws -> StoreError {
    do {
        try await body()
    } catch let error as StoreError {
        #expect(error.code == code, "expected \(code), got \(error)")
        return error
    }
    Issue.record("expected \(code), but nothing was thrown")
    throw TestFailure("expected \(code), but nothing was thrown")
}
