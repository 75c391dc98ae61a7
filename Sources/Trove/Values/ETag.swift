/// An opaque token that identifies one version of an entry.
///
/// Every write gives the entry a new ETag, even when the same bytes are written again, of the
/// same size, within the same nanosecond. Pass an ETag back in
/// ``WriteCondition/ifMatches(_:)`` or ``DeleteCondition/ifMatches(_:)`` to change an entry only
/// if nobody changed it since you read it.
///
/// Two ETags are equal when their ``rawValue`` texts are equal.
public struct ETag: Hashable, Sendable, CustomStringConvertible {
    private enum Storage: Sendable {
        case text(String)
        /// 128 bits shown as 32 lowercase hexadecimal digits, formatted only when asked for.
        case words(UInt64, UInt64)
    }

    private let storage: Storage

    /// Wraps a token produced by a store.
    public init(_ rawValue: String) { self.storage = .text(rawValue) }

    /// A token of 128 bits, written as 32 lowercase hexadecimal digits: a compact ETag for
    /// stores that make their own (a random instance identifier and a counter, say). It equals
    /// the text ETag of the same 32 digits.
    public init(high: UInt64, low: UInt64) { self.storage = .words(high, low) }

    /// The two 64-bit words of an ETag made by ``init(high:low:)``, or of a text ETag of exactly
    /// 32 lowercase hexadecimal digits (as ``rawValue`` writes them); `nil` for any other ETag.
    public var words: (high: UInt64, low: UInt64)? {
        switch storage {
        case .words(let high, let low):
            return (high, low)
        case .text(let text):
            let digits = text.utf8
            let isLowercaseHex = digits.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
            guard digits.count == 32, isLowercaseHex, let high = UInt64(text.prefix(16), radix: 16),
                  let low = UInt64(text.suffix(16), radix: 16) else { return nil }
            return (high, low)
        }
    }

    /// The token as text.
    public var rawValue: String {
        switch storage {
        case .text(let text): return text
        case .words(let high, let low): return Self.hex(high, low)
        }
    }

    /// The token.
    public var description: String { rawValue }

    public static func == (lhs: ETag, rhs: ETag) -> Bool {
        if case .words(let a, let b) = lhs.storage, case .words(let c, let d) = rhs.storage {
            return a == c && b == d
        }
        return lhs.rawValue == rhs.rawValue
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(rawValue)
    }

    private static func hex(_ high: UInt64, _ low: UInt64) -> String {
        String(unsafeUninitializedCapacity: 32) { buffer in
            let digits: StaticString = "0123456789abcdef"
            digits.withUTF8Buffer { table in
                for index in 0..<16 {
                    buffer[index] = table[Int((high >> UInt64(60 - index * 4)) & 0xF)]
                    buffer[16 + index] = table[Int((low >> UInt64(60 - index * 4)) & 0xF)]
                }
            }
            return 32
        }
    }
}
