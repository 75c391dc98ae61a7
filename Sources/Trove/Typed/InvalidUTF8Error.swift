/// The error ``TextCodec`` throws when stored bytes are not valid UTF-8.
///
/// A ``TypedStore`` reports it as the ``StoreError/underlying`` cause of a
/// ``StoreError/Code/decodingFailed`` error.
public struct InvalidUTF8Error: Error, Hashable, Sendable, CustomStringConvertible {
    /// How many bytes the invalid value has.
    public let byteCount: Int

    /// Creates the error for a value of `byteCount` bytes.
    public init(byteCount: Int) { self.byteCount = byteCount }

    /// What went wrong, without the bytes themselves.
    public var description: String { "\(byteCount) bytes that are not valid UTF-8" }
}
