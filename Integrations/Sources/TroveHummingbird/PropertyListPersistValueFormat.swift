public import Foundation
public import Trove

/// Values as property lists, with Trove's ``PropertyListCodec``.
public struct PropertyListPersistValueFormat: PersistValueFormat {
    /// The property list format, `.binary` or `.xml`.
    public let format: PropertyListSerialization.PropertyListFormat

    /// Property lists in `format`. Defaults to `.binary`.
    public init(format: PropertyListSerialization.PropertyListFormat = .binary) {
        self.format = format
    }

    /// A ``PropertyListCodec`` for `type` in this format.
    public func codec<Value: Codable & Sendable>(for type: Value.Type) -> AnyValueCodec<Value> {
        .propertyList(format: format)
    }
}

extension PersistValueFormat where Self == PropertyListPersistValueFormat {
    /// Binary property lists (see ``PropertyListCodec``).
    public static var propertyList: PropertyListPersistValueFormat { PropertyListPersistValueFormat() }

    /// Property lists in `format`, `.binary` or `.xml` (see ``PropertyListCodec``).
    public static func propertyList(format: PropertyListSerialization.PropertyListFormat) -> PropertyListPersistValueFormat {
        PropertyListPersistValueFormat(format: format)
    }
}
