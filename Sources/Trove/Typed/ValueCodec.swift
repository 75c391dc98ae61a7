public import Foundation

/// Turns values of one type into bytes and back, for a ``TypedStore``.
///
/// A codec is a value with a ``name`` (shown in errors, such as `json`), an ``encode(_:)`` and a
/// ``decode(_:)``. Trove ships ``JSONCodec``, ``PropertyListCodec``, ``DataCodec`` and
/// ``TextCodec``; conform a type of your own to store values in any other format:
///
///     struct PNGCodec: ValueCodec {
///         var name: String { "png" }
///         func encode(_ image: Bitmap) throws -> Data { try image.pngData() }
///         func decode(_ data: Data) throws -> Bitmap { try Bitmap(png: data) }
///     }
///     let images = store.prefixed("images").typed(as: Bitmap.self, codec: PNGCodec())
///
/// A codec must be `Sendable`: one typed view is used from many tasks at once, so `encode` and
/// `decode` may run concurrently.
public protocol ValueCodec<Value>: Sendable {
    /// The type of the values this codec encodes.
    associatedtype Value

    /// A short name for the format, such as `json`, used in error messages and descriptions.
    var name: String { get }

    /// The bytes that represent `value`.
    ///
    /// - Throws: Any error; a ``TypedStore`` reports it as ``StoreError/Code/invalidArgument``
    ///   with this error as ``StoreError/underlying``.
    func encode(_ value: Value) throws -> Data

    /// The value that `data` represents.
    ///
    /// - Throws: Any error when `data` is not a valid encoding; a ``TypedStore`` reports it as
    ///   ``StoreError/Code/decodingFailed`` with this error as ``StoreError/underlying``.
    func decode(_ data: Data) throws -> Value
}
