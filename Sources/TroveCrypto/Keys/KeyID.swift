/// The name of one key in a ``Keyring``: an unsigned 32-bit integer, stored in every envelope so
/// that a value is always opened with the key that sealed it.
///
/// Key ids are integers rather than strings so that the envelope's overhead is the same for
/// every value (4 bytes of id), which lets ``SignedStore`` and ``EncryptedStore`` report a value's
/// size from its stored size without reading it. Number keys in the order you introduce them
/// (1, 2, 3, … or a date such as 20250601): the id is not secret and appears in error messages.
///
///     let keyring = try Keyring(current: 2, keys: [1: oldKey, 2: newKey])
public struct KeyID: RawRepresentable, Hashable, Comparable, Sendable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    /// The id as a number.
    public let rawValue: UInt32

    /// Creates the id `rawValue`.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Creates the id `rawValue`.
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    /// Creates an id from an integer literal, such as `2` in `Keyring(current: 2, …)`.
    public init(integerLiteral value: UInt32) { self.rawValue = value }

    /// Orders ids by their numbers.
    public static func < (lhs: KeyID, rhs: KeyID) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The number, in decimal.
    public var description: String { String(rawValue) }

    /// Reads an id from 4 big-endian bytes starting at `offset`; the caller has checked the length.
    init<Bytes: RandomAccessCollection>(bigEndian bytes: Bytes, at offset: Bytes.Index) where Bytes.Element == UInt8 {
        var value: UInt32 = 0
        var index = offset
        for _ in 0..<4 {
            value = value << 8 | UInt32(bytes[index])
            index = bytes.index(after: index)
        }
        self.rawValue = value
    }
}
