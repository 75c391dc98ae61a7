public import Foundation

/// Stores `String` values as UTF-8 text, without quotes or escapes.
///
///     let notes = store.prefixed("notes").typed(codec: .text)   // TypedStore<String>
///     try await notes.set("buy milk", for: "today")             // the bytes "buy milk"
///
/// Offered only for views whose value type is `String`. Reading bytes that are not valid UTF-8
/// fails rather than repairing them.
public struct TextCodec: ValueCodec {
    /// Creates a UTF-8 text codec.
    public init() {}

    /// `utf8-text`.
    public var name: String { "utf8-text" }

    /// The UTF-8 bytes of `value`. Never throws.
    public func encode(_ value: String) throws -> Data { Data(value.utf8) }

    /// The text whose UTF-8 bytes are `data`.
    ///
    /// - Throws: ``InvalidUTF8Error`` when `data` is not valid UTF-8.
    public func decode(_ data: Data) throws -> String {
        guard let text = String(validating: data, as: UTF8.self) else {
            throw InvalidUTF8Error(byteCount: data.count)
        }
        return text
    }
}
