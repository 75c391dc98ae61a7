import Foundation

/// A validated key: one or more non-empty segments joined by `/`.
///
/// The rules, checked before any I/O:
/// - at least one byte and at most ``maximumByteCount`` (1,024) bytes of UTF-8;
/// - no empty segment, so no leading, trailing or doubled `/`;
/// - no `.` or `..` segment;
/// - no control character (Unicode category Cc: NUL, U+0001–U+001F, DEL, U+0080–U+009F).
///
/// Keys compare, hash and sort by their UTF-8 bytes, so two strings that Swift considers equal
/// under Unicode canonical equivalence (a precomposed `é` and `e` + U+0301) are different keys,
/// as they are different file names and different S3 object names. Listing order is this byte
/// order: `a` < `a-c` < `a/b` < `a0`.
///
///     let key = try StoreKey(validating: userInput)   // throws StoreError.Code.invalidKey
///     let literal: StoreKey = "users/alice"             // an invalid literal is a programmer error
public struct StoreKey: Sendable, Hashable, Comparable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The longest key, in UTF-8 bytes.
    public static let maximumByteCount = 1024

    /// The key as a string, exactly as it was validated.
    public let rawValue: String

    /// Validates `string` as a key.
    ///
    /// - Throws: ``StoreError`` with code ``StoreError/Code/invalidKey``, naming the key and the
    ///   rule it breaks.
    public init(validating string: String) throws(StoreError) {
        if let violation = StoreKey.violation(in: string) {
            throw StoreError(
                .invalidKey,
                operation: .validate,
                message: "\(StoreKey.quoted(string)) is not a valid key: \(violation)"
            )
        }
        self.rawValue = string
    }

    /// Creates a key from a string literal.
    ///
    /// An invalid literal is a programmer error and stops the program; use
    /// ``init(validating:)`` for input that comes from outside.
    public init(stringLiteral value: String) {
        do {
            try self.init(validating: value)
        } catch {
            preconditionFailure(error.message)
        }
    }

    /// Creates a key from a string already known to be valid (used after validation elsewhere).
    init(unchecked rawValue: String) {
        self.rawValue = rawValue
    }

    /// The key's segments, in order: the parts between its `/` bytes.
    ///
    /// Split by bytes, as validation checks them, not by `Character`: a `/` followed by a
    /// combining mark (`/\u{301}`) is one `Character` but still ends a segment.
    public var segments: [Substring] {
        rawValue.slashSeparatedParts()
    }

    /// The last segment.
    public var lastSegment: Substring {
        if let slash = rawValue.utf8.lastIndex(of: UInt8(ascii: "/")) {
            return rawValue[rawValue.utf8.index(after: slash)...]
        }
        return rawValue[...]
    }

    /// The key of the parent level (`a/b` for `a/b/c`), or `nil` for a one-segment key.
    public var parent: StoreKey? {
        guard let slash = rawValue.utf8.lastIndex(of: UInt8(ascii: "/")) else { return nil }
        return StoreKey(unchecked: String(rawValue[..<slash]))
    }

    /// The number of UTF-8 bytes in the key.
    public var byteCount: Int { rawValue.utf8.count }

    /// This key followed by `/` and `other`: `"a".appending("b/c")` is `a/b/c`.
    ///
    /// - Throws: ``StoreError/Code/invalidKey`` when the result is longer than
    ///   ``maximumByteCount``.
    public func appending(_ other: StoreKey) throws(StoreError) -> StoreKey {
        let joined = rawValue + "/" + other.rawValue
        // Two keys joined by a slash are a key if not too long: each segment is one of theirs.
        guard joined.utf8.count <= Self.maximumByteCount else { return try StoreKey(validating: joined) }
        return StoreKey(unchecked: joined)
    }

    /// Whether the key's bytes start with `prefix`'s bytes (a plain byte prefix, as S3 has it).
    public func hasPrefix(_ prefix: String) -> Bool {
        rawValue.utf8.starts(with: prefix.utf8)
    }

    /// The key.
    public var description: String { rawValue }

    /// The key with control and non-printing characters escaped, for messages.
    var escapedDescription: String { StoreKey.escape(rawValue) }

    /// Whether the two keys have the same UTF-8 bytes (not Unicode canonical equivalence, which
    /// `String`'s `==` uses).
    public static func == (lhs: StoreKey, rhs: StoreKey) -> Bool {
        let left = lhs.rawValue.utf8, right = rhs.rawValue.utf8
        guard left.count == right.count else { return false }
        let same = left.withContiguousStorageIfAvailable { leftBytes in
            right.withContiguousStorageIfAvailable { rightBytes in
                leftBytes.count == 0 || memcmp(leftBytes.baseAddress!, rightBytes.baseAddress!, leftBytes.count) == 0
            }
        }
        return (same ?? nil) ?? left.elementsEqual(right)
    }

    public func hash(into hasher: inout Hasher) {
        var copy = rawValue
        copy.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// Byte-wise order of the UTF-8 encodings.
    public static func < (lhs: StoreKey, rhs: StoreKey) -> Bool {
        StoreKey.utf8Precedes(lhs.rawValue, rhs.rawValue)
    }
}

extension StoreKey {
    /// Whether `lhs` comes before `rhs` in byte-wise UTF-8 order.
    static func utf8Precedes(_ lhs: some StringProtocol, _ rhs: some StringProtocol) -> Bool {
        let order = lhs.utf8.withContiguousStorageIfAvailable { left in
            rhs.utf8.withContiguousStorageIfAvailable { right in
                let common = min(left.count, right.count)
                let compared = common == 0 ? 0 : memcmp(left.baseAddress!, right.baseAddress!, common)
                return compared != 0 ? compared < 0 : left.count < right.count
            }
        }
        return (order ?? nil) ?? lhs.utf8.lexicographicallyPrecedes(rhs.utf8)
    }

    /// Whether the UTF-8 bytes of `string` start with those of `prefix`.
    static func utf8HasPrefix(_ string: String, _ prefix: String) -> Bool {
        if prefix.isEmpty { return true }
        let answer = string.utf8.withContiguousStorageIfAvailable { bytes in
            prefix.utf8.withContiguousStorageIfAvailable { head in
                head.count <= bytes.count && memcmp(bytes.baseAddress!, head.baseAddress!, head.count) == 0
            }
        }
        return (answer ?? nil) ?? string.utf8.starts(with: prefix.utf8)
    }

    /// The first rule that `string` breaks, or `nil` if it is a valid key.
    static func violation(in string: String) -> String? {
        let bytes = string.utf8
        // Most keys are short ASCII: one pass over their bytes settles them.
        if let valid = bytes.withContiguousStorageIfAvailable(isValidASCIIKey), valid { return nil }
        if bytes.isEmpty { return "a key must not be empty" }
        if bytes.count > maximumByteCount {
            return "a key must be at most \(maximumByteCount) UTF-8 bytes (this one has \(bytes.count))"
        }
        if let bad = string.unicodeScalars.first(where: isControl) {
            return "a key must not contain control characters (found U+\(hex(bad.value)))"
        }
        for segment in bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            if segment.isEmpty {
                return "a key must not have an empty segment (no leading, trailing or doubled '/')"
            }
            if segment.elementsEqual(".".utf8) || segment.elementsEqual("..".utf8) {
                return "a key must not have a '.' or '..' segment"
            }
        }
        return nil
    }

    /// Whether `bytes` are a valid key made of ASCII alone: 1 to ``maximumByteCount`` bytes, no
    /// control character, no empty, `.` or `..` segment. `false` for any other key, valid or
    /// not, which ``violation(in:)`` then judges by its scalars.
    private static func isValidASCIIKey(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !bytes.isEmpty, bytes.count <= maximumByteCount else { return false }
        var segmentStart = 0
        for index in 0...bytes.count {
            let byte = index < bytes.count ? bytes[index] : UInt8(ascii: "/")
            if byte == UInt8(ascii: "/") {
                let length = index - segmentStart
                if length == 0 { return false }
                if bytes[segmentStart] == UInt8(ascii: "."),
                   length == 1 || (length == 2 && bytes[segmentStart + 1] == UInt8(ascii: ".")) {
                    return false
                }
                segmentStart = index + 1
            } else if byte < 0x20 || byte >= 0x7F {
                return false
            }
        }
        return true
    }

    /// Whether `scalar` is a control character (Unicode general category Cc).
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (scalar.value >= 0x7F && scalar.value <= 0x9F)
    }

    /// `string` with control characters and backslashes escaped, safe to print on one line.
    static func escape(_ string: String) -> String {
        var result = ""
        for scalar in string.unicodeScalars {
            if isControl(scalar) || scalar == "\\" {
                result += scalar == "\\" ? "\\\\" : "\\u{\(hex(scalar.value))}"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// `string` escaped and in quotes; a long one clipped to its first 64 characters, with its
    /// length, so that an error about a key of a thousand bytes stays readable.
    static func quoted(_ string: String) -> String {
        let limit = 64
        let scalars = string.unicodeScalars
        guard scalars.count > limit + 16 else { return "'" + escape(string) + "'" }
        let head = String(String.UnicodeScalarView(scalars.prefix(limit)))
        return "'\(escape(head))…' (\(string.utf8.count) bytes)"
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
