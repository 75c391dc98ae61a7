public import Foundation

/// A codec of any kind for values of type `Value`: what a ``TypedStore`` keeps, and where the
/// built-in codecs are offered by name.
///
/// You rarely spell this type: write `.json`, `.propertyList`, `.data` or `.text` where a
/// codec is expected, or pass any ``ValueCodec``. Each built-in is offered only where it fits
/// the value type, so `.data` does not compile for a `TypedStore<User>`:
///
///     store.typed(as: User.self, codec: .json)             // any Codable type
///     store.typed(as: User.self, codec: .propertyList)     // any Codable type
///     store.typed(as: Data.self, codec: .data)             // Data only
///     store.typed(as: String.self, codec: .text)           // String only
///     store.typed(as: Point.self, codec: .custom(named: "xy",
///         encode: { Data("\($0.x),\($0.y)".utf8) },
///         decode: { try Point(csv: $0) }))
public struct AnyValueCodec<Value>: ValueCodec {
    /// The wrapped codec's name, such as `json`.
    public let name: String
    private let encodeValue: @Sendable (Value) throws -> Data
    private let decodeValue: @Sendable (Data) throws -> Value

    /// Wraps `codec`.
    public init(_ codec: some ValueCodec<Value>) {
        if let erased = codec as? AnyValueCodec<Value> {
            self = erased
            return
        }
        self.name = codec.name
        self.encodeValue = { try codec.encode($0) }
        self.decodeValue = { try codec.decode($0) }
    }

    /// A codec made of a name and two closures.
    ///
    /// - Parameters:
    ///   - name: A short name for the format, shown in errors.
    ///   - encode: Returns the bytes of a value.
    ///   - decode: Returns the value of some bytes; throws when they are not a valid encoding.
    public init(
        name: String,
        encode: @escaping @Sendable (Value) throws -> Data,
        decode: @escaping @Sendable (Data) throws -> Value
    ) {
        self.name = name
        self.encodeValue = encode
        self.decodeValue = decode
    }

    /// The bytes of `value`, as the wrapped codec writes them.
    public func encode(_ value: Value) throws -> Data { try encodeValue(value) }

    /// The value of `data`, as the wrapped codec reads it.
    public func decode(_ data: Data) throws -> Value { try decodeValue(data) }

    /// `codec`, for a parameter that expects an `AnyValueCodec`.
    public static func custom(_ codec: some ValueCodec<Value>) -> AnyValueCodec<Value> {
        AnyValueCodec(codec)
    }

    /// A codec made of a name and two closures; see ``init(name:encode:decode:)``.
    public static func custom(
        named name: String,
        encode: @escaping @Sendable (Value) throws -> Data,
        decode: @escaping @Sendable (Data) throws -> Value
    ) -> AnyValueCodec<Value> {
        AnyValueCodec(name: name, encode: encode, decode: decode)
    }
}
