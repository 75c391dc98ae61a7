public import Foundation

/// Stores `Codable` values as property lists, binary by default.
///
/// Binary property lists are compact and fast to read, and keep `Data` and `Date` values
/// natively. Foundation's encoder needs a keyed or unkeyed container at the top level (a struct,
/// an array, a dictionary): a bare number or string fails to encode, so use ``JSONCodec`` or
/// ``TextCodec`` for those. Dictionary entries are written in the dictionary's own order, which
/// varies between processes; prefer ``JSONCodec`` when equal values must give equal bytes.
///
///     let settings = store.prefixed("settings").typed(as: Settings.self, codec: .propertyList)
public struct PropertyListCodec<Value: Codable>: ValueCodec {
    private let format: PropertyListSerialization.PropertyListFormat

    /// Creates a property-list codec.
    ///
    /// - Parameter format: The format to write: `.binary` (the default) or `.xml`; Foundation's
    ///   encoder cannot write `.openStep`, so every encode with it throws. Reading accepts every
    ///   format whatever this is.
    public init(format: PropertyListSerialization.PropertyListFormat = .binary) {
        self.format = format
    }

    /// `plist-binary`, `plist-xml` or `plist-openstep`.
    public var name: String {
        switch format {
        case .binary: return "plist-binary"
        case .xml: return "plist-xml"
        default: return "plist-openstep"
        }
    }

    /// The property list of `value`.
    ///
    /// - Throws: `EncodingError` when `value` is not a container at the top level or cannot be
    ///   represented in a property list.
    public func encode(_ value: Value) throws -> Data {
        let encoder = PropertyListEncoder()
        encoder.outputFormat = format
        return try encoder.encode(value)
    }

    /// The value whose property list is `data`.
    ///
    /// - Throws: `DecodingError` when `data` is not a property list or does not match `Value`.
    public func decode(_ data: Data) throws -> Value {
        try PropertyListDecoder().decode(Value.self, from: data)
    }
}
