public import Foundation

extension AnyValueCodec where Value: Codable {
    /// JSON with sorted object keys; see ``JSONCodec``.
    public static var json: AnyValueCodec<Value> { AnyValueCodec(JSONCodec<Value>()) }

    /// JSON written by `encoder` and read by `decoder`; see ``JSONCodec``.
    ///
    /// - Parameters:
    ///   - encoder: Defaults to a `JSONEncoder` with `.sortedKeys`.
    ///   - decoder: Defaults to a plain `JSONDecoder`.
    public static func json(
        encoder: JSONEncoder = JSONCodec<Value>.makeDefaultEncoder(), decoder: JSONDecoder = defaultJSONDecoder
    ) -> AnyValueCodec<Value> {
        AnyValueCodec(JSONCodec<Value>(encoder: encoder, decoder: decoder))
    }

    /// Binary property lists; see ``PropertyListCodec``.
    public static var propertyList: AnyValueCodec<Value> { AnyValueCodec(PropertyListCodec<Value>()) }

    /// Property lists in `format` (`.binary` or `.xml`); see ``PropertyListCodec``.
    public static func propertyList(format: PropertyListSerialization.PropertyListFormat) -> AnyValueCodec<Value> {
        AnyValueCodec(PropertyListCodec<Value>(format: format))
    }
}

extension AnyValueCodec where Value == Data {
    /// The bytes as they are; see ``DataCodec``. Offered only when the value type is `Data`.
    public static var data: AnyValueCodec<Data> { AnyValueCodec(DataCodec()) }
}

extension AnyValueCodec where Value == String {
    /// UTF-8 text; see ``TextCodec``. Offered only when the value type is `String`.
    public static var text: AnyValueCodec<String> { AnyValueCodec(TextCodec()) }
}
