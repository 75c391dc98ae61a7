public import Foundation

/// Stores `Codable` values as JSON.
///
/// By default the encoder sorts object keys, so equal values encode to equal bytes (which
/// content-addressed keys rely on, see ``TypedStore/setContentAddressed(_:)``), and dates and
/// data use Foundation's default strategies. Pass your own encoder and decoder to change that:
///
///     let encoder = JSONEncoder()
///     encoder.dateEncodingStrategy = .iso8601
///     let decoder = JSONDecoder()
///     decoder.dateDecodingStrategy = .iso8601
///     let events = store.typed(as: Event.self, codec: .json(encoder: encoder, decoder: decoder))
///
/// The codec keeps references to the encoder and decoder: configure them before handing them
/// over and do not change them afterwards. Top-level numbers, strings and Booleans are allowed.
///
/// A codec created without a decoder reads values with a faster decoder of its own, which gives
/// exactly the values and errors a default `JSONDecoder` gives: whatever it is not sure to decode
/// as Foundation would, it hands to Foundation. A type's `init(from:)` may then run twice for one
/// value, so it should not have side effects.
public struct JSONCodec<Value: Codable>: ValueCodec {
    private let encoder: JSONEncoder
    private let decoder: JSONDecoder
    /// Whether `decoder` is the default one, so the fast decoder may stand in for it.
    private let decodesWithFastDecoder: Bool

    /// Creates a JSON codec.
    ///
    /// - Parameters:
    ///   - encoder: The encoder to use. Defaults to a `JSONEncoder` with `.sortedKeys`.
    ///   - decoder: The decoder to use. Defaults to a plain `JSONDecoder`.
    public init(encoder: JSONEncoder = JSONCodec.makeDefaultEncoder(), decoder: JSONDecoder = defaultJSONDecoder) {
        self.encoder = encoder
        self.decoder = decoder
        decodesWithFastDecoder = decoder === defaultJSONDecoder
    }

    /// A `JSONEncoder` that sorts object keys, so that equal values give equal bytes.
    public static func makeDefaultEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }

    /// `json`.
    public var name: String { "json" }

    /// The JSON text of `value`, in UTF-8.
    ///
    /// - Throws: `EncodingError` when `value` cannot be represented (a non-finite `Double`,
    ///   say).
    public func encode(_ value: Value) throws -> Data {
        try encoder.encode(value)
    }

    /// The value whose JSON text is `data`.
    ///
    /// - Throws: `DecodingError` when `data` is not JSON or does not match `Value`.
    public func decode(_ data: Data) throws -> Value {
        if decodesWithFastDecoder, let value = try? FastJSONDecoder.decode(Value.self, from: data) {
            return value
        }
        return try decoder.decode(Value.self, from: data)
    }
}

/// The decoder of every ``JSONCodec`` created without one: a plain `JSONDecoder` that nothing
/// configures, so such a codec may decode with ``FastJSONDecoder`` instead. Foundation's decoder
/// is safe to use from many threads at once.
@usableFromInline let defaultJSONDecoder = JSONDecoder()
