import Foundation
import Testing
@testable import Trove

// Codable types for the fast JSON decoder tests: every shape the decoder must read as
// Foundation reads it.

/// One value of every integer width.
struct FJIntegers: Codable, Equatable {
    var int8: Int8, int16: Int16, int32: Int32, int64: Int64, int: Int
    var uint8: UInt8, uint16: UInt16, uint32: UInt32, uint64: UInt64, uint: UInt

    static func extremes(max: Bool) -> FJIntegers {
        max
            ? FJIntegers(int8: .max, int16: .max, int32: .max, int64: .max, int: .max,
                         uint8: .max, uint16: .max, uint32: .max, uint64: .max, uint: .max)
            : FJIntegers(int8: .min, int16: .min, int32: .min, int64: .min, int: .min,
                         uint8: .min, uint16: .min, uint32: .min, uint64: .min, uint: .min)
    }
}

/// A `Double` and a `Float`.
struct FJFloats: Codable, Equatable {
    var double: Double
    var float: Float
}

/// A floating-point value compared bit for bit (so `-0.0` differs from `0.0`).
struct FJBits<Value: BinaryFloatingPoint & Codable>: Codable, Equatable {
    var value: Value
    init(_ value: Value) { self.value = value }
    static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.value == rhs.value && lhs.value.sign == rhs.value.sign
    }
}

/// The record a typical store holds.
struct FJInner: Codable, Equatable {
    var id: Int
    var payload: String
}

/// Data in every position.
struct FJBlob: Codable, Equatable {
    var bytes: Data
    var optional: Data?
    var list: [Data]
}

/// A URL property.
struct FJLink: Codable, Equatable {
    var url: URL
}

/// A date property.
struct FJStamped: Codable, Equatable {
    var at: Date
}

/// A camel-case property, for snake-case keys.
struct FJSnake: Codable, Equatable {
    var userName: String
}

/// Arrays of arrays of any depth.
struct FJNested: Codable, Equatable {
    var children: [FJNested]
    init(from decoder: any Decoder) throws {
        children = try [FJNested](from: decoder)
    }
    func encode(to encoder: any Encoder) throws {
        try children.encode(to: encoder)
    }
}

/// A recursive optional.
final class FJWrapper: Codable, Equatable {
    let inner: FJWrapper?
    init(inner: FJWrapper?) { self.inner = inner }
    static func == (lhs: FJWrapper, rhs: FJWrapper) -> Bool { lhs.inner == rhs.inner }
}

/// Optional properties of several kinds.
struct FJOptionals: Codable, Equatable {
    var number: Int?
    var text: String?
    var list: [Int?]?
    var inner: FJInner?
}

/// An enum with a raw value.
enum FJColour: String, Codable {
    case red, green, blue
}

/// An enum with associated values (synthesized `Codable` nests keyed containers).
enum FJShape: Codable, Equatable {
    case circle(radius: Double)
    case rectangle(width: Int, height: Int)
    case point
    case labelled(String, FJInner?)
}

/// Keys that are equal to other spellings under canonical equivalence.
struct FJAccent: Codable, Equatable {
    var accented: Int
    var kelvin: Int
    enum CodingKeys: String, CodingKey {
        case accented = "é"
        case kelvin = "K"
    }
}

/// A bit of everything.
struct FJEverything: Codable, Equatable {
    var name: String
    var count: Int
    var ratio: Double
    var small: Float
    var flag: Bool
    var bytes: Data
    var when: Date
    var link: URL
    var maybe: Int?
    var missing: String?
    var list: [Int]
    var nested: [FJInner]
    var byName: [String: Double]
    var byNumber: [Int: String]
    var shape: FJShape
    var colour: FJColour
    var matrix: [[Double]]
    var optionalList: [String?]
    var tiny: Int8
    var huge: UInt64

    static let sample = FJEverything(
        name: "Zoë \"Q\" ✓ 🚀", count: -42, ratio: 0.1, small: 1.25, flag: true, bytes: Data([0, 1, 2, 254, 255]),
        when: Date(timeIntervalSince1970: 1_700_000_000.25), link: URL(string: "https://example.com/a?b=c")!, maybe: 7,
        missing: nil, list: [1, 2, 3], nested: [FJInner(id: 1, payload: "a"), FJInner(id: 2, payload: "b\n")],
        byName: ["π": 3.14159, "e": 2.71828, "": 0], byNumber: [1: "one", 22: "twenty-two"], shape: .rectangle(width: 3, height: 4),
        colour: .green, matrix: [[1, 2], [], [1e-300, -1e300]], optionalList: ["x", nil], tiny: -128, huge: .max
    )

    static let sparse = FJEverything(
        name: "", count: 0, ratio: -0.0, small: -0.0, flag: false, bytes: Data(), when: Date(timeIntervalSinceReferenceDate: 0),
        link: URL(string: "relative")!, maybe: nil, missing: nil, list: [], nested: [], byName: [:], byNumber: [:], shape: .point,
        colour: .red, matrix: [], optionalList: [], tiny: 0, huge: 0
    )
}

/// A base class that decodes its own properties.
class FJAnimal: Codable {
    var name: String
    init(name: String) { self.name = name }
}

/// A subclass that decodes its superclass through `superDecoder()`.
final class FJDog: FJAnimal, Equatable {
    var breed: String
    enum CodingKeys: String, CodingKey { case breed }

    init(name: String, breed: String) {
        self.breed = breed
        super.init(name: name)
    }

    required init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        breed = try container.decode(String.self, forKey: .breed)
        try super.init(from: container.superDecoder())
    }

    override func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(breed, forKey: .breed)
        try super.encode(to: container.superEncoder())
    }

    static func == (lhs: FJDog, rhs: FJDog) -> Bool { lhs.name == rhs.name && lhs.breed == rhs.breed }
}

/// A subclass that decodes its superclass through `superDecoder(forKey:)`.
final class FJCat: FJAnimal, Equatable {
    var lives: Int
    enum CodingKeys: String, CodingKey { case lives, base }

    init(name: String, lives: Int) {
        self.lives = lives
        super.init(name: name)
    }

    required init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        lives = try container.decode(Int.self, forKey: .lives)
        try super.init(from: container.superDecoder(forKey: .base))
    }

    override func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(lives, forKey: .lives)
        try super.encode(to: container.superEncoder(forKey: .base))
    }

    static func == (lhs: FJCat, rhs: FJCat) -> Bool { lhs.name == rhs.name && lhs.lives == rhs.lives }
}

/// An `Int` that also notes the coding path its decoder reports.
struct FJPathProbe: Decodable, Equatable {
    var path: String
    var value: Int
    init(from decoder: any Decoder) throws {
        path = describe(decoder.codingPath)
        value = try decoder.singleValueContainer().decode(Int.self)
    }
}

/// A hand-written `init(from:)` that notes what the container APIs answer.
struct FJInspector: Decodable, Equatable {
    var observations: [String] = []

    init(from decoder: any Decoder) throws {
        func note(_ text: String) { observations.append(text) }
        note("root \(describe(decoder.codingPath)) userInfo \(decoder.userInfo.count)")
        let container = try decoder.container(keyedBy: FJAnyKey.self)
        note("keys \(container.allKeys.map(\.stringValue).sorted()) path \(describe(container.codingPath))")
        note("contains a \(container.contains("a")) zz \(container.contains("zz")) é \(container.contains("é"))")
        if container.contains("a") {
            note("nil n \(try container.decodeNil(forKey: "n")) a \(try container.decodeNil(forKey: "a"))")
            note("a \(try container.decode(FJPathProbe.self, forKey: "a"))")
            note("a optional \(String(describing: try container.decodeIfPresent(Int.self, forKey: "a")))")
        }
        note("n optional \(String(describing: try container.decodeIfPresent(Int.self, forKey: "n")))")
        note("zz optional \(String(describing: try container.decodeIfPresent(FJPathProbe.self, forKey: "zz")))")
        var list = try container.nestedUnkeyedContainer(forKey: "list")
        note("list count \(String(describing: list.count)) atEnd \(list.isAtEnd) index \(list.currentIndex) path \(describe(list.codingPath))")
        while !list.isAtEnd {
            let index = list.currentIndex
            if try list.decodeNil() {
                note("null at \(index), now \(list.currentIndex)")
                continue
            }
            switch index {
            case 1:
                let nested = try list.nestedContainer(keyedBy: FJAnyKey.self)
                note("nested \(describe(nested.codingPath)) x \(try nested.decode(FJPathProbe.self, forKey: "x"))")
            case 2:
                var inner = try list.nestedUnkeyedContainer()
                note("inner \(describe(inner.codingPath)) \(try inner.decodeIfPresent(Int.self) as Any) \(try inner.decode(FJPathProbe.self))")
            default:
                note("element \(try list.decode(FJPathProbe.self)) then \(list.currentIndex)")
            }
        }
        let object = try container.nestedContainer(keyedBy: FJAnyKey.self, forKey: "object")
        note("object \(describe(object.codingPath)) deep \(try object.decode(FJPathProbe.self, forKey: "deep"))")
        let parent = try container.superDecoder()
        note("super \(describe(parent.codingPath)) nil \(try parent.singleValueContainer().decodeNil())")
        let missing = try container.superDecoder(forKey: "missing")
        note("missing \(describe(missing.codingPath)) nil \(try missing.singleValueContainer().decodeNil())")
        if container.contains("super") {
            note("super value \(try FJPathProbe(from: parent))")
        }
        if container.contains("é") {
            note("é \(try container.decode(Bool.self, forKey: "é"))")
        }
    }
}

/// Reads an array element by element through single value decoders.
struct FJSingleValues: Decodable, Equatable {
    var notes: [String] = []
    init(from decoder: any Decoder) throws {
        var list = try decoder.unkeyedContainer()
        notes.append("\(try list.decode(Int.self)) \(try list.decode(String.self)) \(try list.decode(Double.self)) \(try list.decode(Bool.self))")
        notes.append("\(try list.decodeIfPresent(Int.self) as Any)")
        let element = try list.superDecoder()
        notes.append("\(describe(element.codingPath)) \(try element.unkeyedContainer().count as Any)")
        let last = try list.superDecoder()
        let value = try last.singleValueContainer()
        notes.append("\(describe(last.codingPath)) \(value.decodeNil()) \(try value.decode([String: Int].self))")
        notes.append("at end \(list.isAtEnd) \(list.currentIndex)")
    }
}

/// Falls back to -1 when `a` is not an integer, catching the error.
struct FJLenient: Codable, Equatable {
    var a: Int
    func encode(to encoder: any Encoder) throws {}
    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: FJAnyKey.self)
        a = (try? container.decode(Int.self, forKey: "a")) ?? -1
    }
}

/// Reads one element more than the array has.
struct FJPastTheEnd: Codable, Equatable {
    var values: [Int?] = []
    func encode(to encoder: any Encoder) throws {}
    init(from decoder: any Decoder) throws {
        var list = try decoder.unkeyedContainer()
        values.append(try list.decode(Int.self))
        values.append(try list.decodeIfPresent(Int.self))
    }
}

/// Keeps its decoder beyond `init(from:)`.
struct FJEscaper: Decodable {
    let decoder: any Decoder
    init(from decoder: any Decoder) throws {
        self.decoder = decoder
    }
}
