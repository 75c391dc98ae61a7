import Foundation

/// A JSON decoder for ``JSONCodec`` that decodes exactly like a default-configured Foundation
/// `JSONDecoder`, only faster, or refuses.
///
/// It parses the text once into a flat array of nodes and decodes from those without building
/// dictionaries or intermediate strings. It handles strict JSON and the common `Codable` shapes;
/// for anything it is not sure to decode exactly as Foundation would (trailing commas, `1.0` read
/// as an integer, `Decimal`, non-canonical Base64, a user type catching a decoding error, …) it
/// throws ``FastJSONRejection``, and the caller decodes the same bytes with Foundation instead.
/// So it never succeeds with a value Foundation would not produce, and never succeeds where
/// Foundation fails.
enum FastJSONDecoder {
    /// The value of type `type` that `data` encodes.
    ///
    /// - Throws: ``FastJSONRejection`` when the fast path cannot vouch for the result, or any
    ///   error a user's `init(from:)` throws. Either way, decode with Foundation instead.
    static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        let document = try data.withUnsafeBytes { text throws(FastJSONRejection) in
            try FastJSONDocument(parsing: text)
        }
        let decoder = FastJSONDecoding(document: document, node: 0, path: .root)
        let value = try decoder.decodeValue(T.self, at: 0, path: .root)
        guard !document.isRejected else {
            throw FastJSONRejection(reason: "a decoding error was caught while decoding")
        }
        return value
    }
}

/// Where a value sits, as `codingPath` reports it: the keys and array positions from the root.
indirect enum FastJSONCodingPath {
    case root
    case key(any CodingKey, parent: FastJSONCodingPath)
    case index(Int, parent: FastJSONCodingPath)

    /// The path as coding keys, outermost first; array positions appear as ``FastJSONKey``s.
    var keys: [any CodingKey] {
        var keys: [any CodingKey] = []
        var path = self
        while true {
            switch path {
            case .root:
                return keys.reversed()
            case .key(let key, let parent):
                keys.append(key)
                path = parent
            case .index(let index, let parent):
                keys.append(FastJSONKey(index: index))
                path = parent
            }
        }
    }
}

/// A coding key the decoder makes up itself, spelled as Foundation's: `Index 3` (with integer
/// value 3) for array positions and `super` for `superDecoder()`.
struct FastJSONKey: CodingKey {
    let stringValue: String
    let intValue: Int?

    init?(stringValue: String) {
        self.stringValue = stringValue
        intValue = nil
    }

    init?(intValue: Int) {
        stringValue = "\(intValue)"
        self.intValue = intValue
    }

    /// The key of the element at `index` of an array.
    init(index: Int) {
        stringValue = "Index \(index)"
        intValue = index
    }

    /// The key `superDecoder()` uses.
    static let superKey = FastJSONKey(stringValue: "super", intValue: nil)

    private init(stringValue: String, intValue: Int?) {
        self.stringValue = stringValue
        self.intValue = intValue
    }
}

/// The `Decoder` (and single value container) that user `init(from:)`s see.
///
/// Like Foundation's, one instance serves a whole decoding: before calling into a nested value's
/// `init(from:)` it points itself at that value and path, and back afterwards.
final class FastJSONDecoding: Decoder, SingleValueDecodingContainer {
    /// The parsed text.
    let document: FastJSONDocument
    /// The node of the value being decoded.
    private(set) var node: Int
    /// The path of the value being decoded.
    private(set) var path: FastJSONCodingPath

    /// A decoder for the value at `node`, whose path is `path`.
    init(document: FastJSONDocument, node: Int, path: FastJSONCodingPath) {
        self.document = document
        self.node = node
        self.path = path
    }

    var codingPath: [any CodingKey] { path.keys }

    /// Empty, as for a default `JSONDecoder`.
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        try keyedContainer(Key.self, at: node, path: path)
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try unkeyedContainer(at: node, path: path)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        self
    }

    /// A keyed container for the object at `node`.
    func keyedContainer<Key: CodingKey>(
        _ type: Key.Type, at node: Int, path: FastJSONCodingPath
    ) throws(FastJSONRejection) -> KeyedDecodingContainer<Key> {
        guard document.kind(at: node) == .object else { throw document.reject("not an object") }
        return KeyedDecodingContainer(FastJSONKeyedContainer<Key>(decoder: self, object: node, path: path))
    }

    /// An unkeyed container for the array at `node`.
    func unkeyedContainer(at node: Int, path: FastJSONCodingPath) throws(FastJSONRejection) -> any UnkeyedDecodingContainer {
        guard document.kind(at: node) == .array else { throw document.reject("not an array") }
        return FastJSONUnkeyedContainer(decoder: self, array: node, path: path)
    }

    /// Decodes the value at `node` as `type`, at `path`.
    ///
    /// Handles the types Foundation's `JSONDecoder` treats specially (`Data` as Base64, `URL`
    /// through `URL(string:)`; `Decimal` is rejected) and reads common scalars directly; for any
    /// other type calls its `init(from:)` with this decoder pointed at the value.
    func decodeValue<T: Decodable>(_ type: T.Type, at node: Int, path: @autoclosure () -> FastJSONCodingPath) throws -> T {
        if T.self == String.self { return Self.cast(try document.string(at: node), to: T.self) }
        if T.self == Int.self { return Self.cast(try document.integer(at: node, as: Int.self), to: T.self) }
        if T.self == Double.self { return Self.cast(try document.double(at: node), to: T.self) }
        if T.self == Bool.self { return Self.cast(try document.bool(at: node), to: T.self) }
        if T.self == Data.self { return Self.cast(try document.base64Data(at: node), to: T.self) }
        if T.self == Date.self {
            // Foundation's `.deferredToDate` strategy calls `Date(from:)`, which reads a `Double`
            // of seconds since the reference date.
            return Self.cast(Date(timeIntervalSinceReferenceDate: try document.double(at: node)), to: T.self)
        }
        if T.self == URL.self { return Self.cast(try document.url(at: node), to: T.self) }
        if T.self == Decimal.self { throw document.reject("Decimal") }

        let outerNode = self.node
        let outerPath = self.path
        self.node = node
        self.path = path()
        defer {
            self.node = outerNode
            self.path = outerPath
        }
        do {
            return try T(from: self)
        } catch let error as FastJSONRejection {
            throw error
        } catch {
            // A user's error: Foundation would throw it too, but let Foundation do so.
            document.markRejected()
            throw error
        }
    }

    /// `value` as a `T`, for a `T` the caller has checked is `Value` (cheaper than `as!` in
    /// unspecialized generic code).
    @inline(__always)
    private static func cast<Value, T>(_ value: Value, to type: T.Type) -> T {
        precondition(Value.self == T.self)
        return unsafeBitCast(value, to: T.self)
    }

    // MARK: SingleValueDecodingContainer

    func decodeNil() -> Bool {
        document.kind(at: node) == .null
    }

    func decode(_ type: Bool.Type) throws -> Bool { try document.bool(at: node) }
    func decode(_ type: String.Type) throws -> String { try document.string(at: node) }
    func decode(_ type: Double.Type) throws -> Double { try document.double(at: node) }
    func decode(_ type: Float.Type) throws -> Float { try document.float(at: node) }
    func decode(_ type: Int.Type) throws -> Int { try document.integer(at: node, as: Int.self) }
    func decode(_ type: Int8.Type) throws -> Int8 { try document.integer(at: node, as: Int8.self) }
    func decode(_ type: Int16.Type) throws -> Int16 { try document.integer(at: node, as: Int16.self) }
    func decode(_ type: Int32.Type) throws -> Int32 { try document.integer(at: node, as: Int32.self) }
    func decode(_ type: Int64.Type) throws -> Int64 { try document.integer(at: node, as: Int64.self) }
    func decode(_ type: Int128.Type) throws -> Int128 { try document.integer(at: node, as: Int128.self) }
    func decode(_ type: UInt.Type) throws -> UInt { try document.integer(at: node, as: UInt.self) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try document.integer(at: node, as: UInt8.self) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try document.integer(at: node, as: UInt16.self) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try document.integer(at: node, as: UInt32.self) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try document.integer(at: node, as: UInt64.self) }
    func decode(_ type: UInt128.Type) throws -> UInt128 { try document.integer(at: node, as: UInt128.self) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try decodeValue(T.self, at: node, path: path)
    }
}
