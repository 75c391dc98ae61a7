public import Trove

/// How a ``TrovePersistDriver`` turns values into bytes: a source of Trove codecs, one for each
/// `Codable` type the driver is asked to store.
///
/// A `PersistDriver` stores values of any `Codable` type, while a Trove ``ValueCodec`` encodes
/// one type; a format makes the codec for each type as it is needed. Use ``json`` (the
/// default), ``json(encoder:decoder:)`` or ``propertyList``, or conform a type of your own to
/// store values with any other codec:
///
///     struct CompactJSON: PersistValueFormat {
///         func codec<Value: Codable & Sendable>(for type: Value.Type) -> AnyValueCodec<Value> {
///             .json(encoder: JSONEncoder(), decoder: JSONDecoder())   // no sorted keys
///         }
///     }
///     let persist = try TrovePersistDriver(store: store, format: CompactJSON())
///
/// A format is used from many tasks at once, so it must be `Sendable`, and `codec(for:)` must
/// give codecs that read back what earlier codecs of the same format wrote.
public protocol PersistValueFormat: Sendable {
    /// The codec for values of `type`.
    func codec<Value: Codable & Sendable>(for type: Value.Type) -> AnyValueCodec<Value>
}
