public import Foundation
public import Trove

/// Values as JSON, with Trove's ``JSONCodec``: the default format of a ``TrovePersistDriver``.
public struct JSONPersistValueFormat: PersistValueFormat {
    private let encoder: JSONEncoder
    private let decoder: JSONDecoder?

    /// JSON written by `encoder` and read by `decoder`.
    ///
    /// - Parameters:
    ///   - encoder: Defaults to a `JSONEncoder` with `.sortedKeys`, as ``JSONCodec`` has it.
    ///   - decoder: Defaults to `nil`: ``JSONCodec``'s default decoder, which decodes with
    ///     Trove's fast decoder where it gives the same result as Foundation's.
    public init(encoder: JSONEncoder = JSONCodec<Int>.makeDefaultEncoder(), decoder: JSONDecoder? = nil) {
        self.encoder = encoder
        self.decoder = decoder
    }

    /// A ``JSONCodec`` for `type` with this format's encoder and decoder.
    public func codec<Value: Codable & Sendable>(for type: Value.Type) -> AnyValueCodec<Value> {
        if let decoder { return .json(encoder: encoder, decoder: decoder) }
        return .json(encoder: encoder)
    }
}

extension PersistValueFormat where Self == JSONPersistValueFormat {
    /// JSON with sorted object keys (see ``JSONCodec``).
    public static var json: JSONPersistValueFormat { JSONPersistValueFormat() }

    /// JSON written by `encoder` and read by `decoder` (see ``JSONCodec``).
    ///
    /// - Parameters:
    ///   - encoder: Defaults to a `JSONEncoder` with `.sortedKeys`.
    ///   - decoder: Defaults to `nil`, ``JSONCodec``'s own default decoder.
    public static func json(
        encoder: JSONEncoder = JSONCodec<Int>.makeDefaultEncoder(), decoder: JSONDecoder? = nil
    ) -> JSONPersistValueFormat {
        JSONPersistValueFormat(encoder: encoder, decoder: decoder)
    }
}
