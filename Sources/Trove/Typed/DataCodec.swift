public import Foundation

/// Stores `Data` values as they are: the identity codec.
///
///     let blobs = store.prefixed("blobs").typed(codec: .data)   // TypedStore<Data>
///
/// Offered only for views whose value type is `Data`.
public struct DataCodec: ValueCodec {
    /// Creates the identity codec.
    public init() {}

    /// `data`.
    public var name: String { "data" }

    /// `value` itself. Never throws.
    public func encode(_ value: Data) throws -> Data { value }

    /// `data` itself. Never throws.
    public func decode(_ data: Data) throws -> Data { data }
}
