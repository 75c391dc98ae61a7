package import Trove

/// How the string keys of web frameworks (session ids, cache keys, rate-limit keys) become
/// ``StoreKey``s, and back: the one mapping that every adapter of this package uses.
///
/// A framework's key is any `String`: empty, with `/` (base64 session ids have them), with
/// control characters, `.` or `..`. A ``StoreKey`` allows none of those. The mapping turns every
/// string into a key of exactly one segment, so that each framework key is one entry directly
/// under the store (one file directly under a ``FileSystemStore``'s root), and it is a bijection
/// between strings and the keys it produces:
///
/// - `%` becomes `%25`, `/` becomes `%2F`, and each control character (Unicode category Cc:
///   U+0000–U+001F, U+007F–U+009F) becomes the percent-encoding of its UTF-8 bytes, in
///   upper-case hexadecimal (`%0A`, `%C2%85`);
/// - the whole string `.` becomes `%2E`, and `..` becomes `%2E%2E` (a dot anywhere else stays);
/// - the empty string becomes `%` alone, which no other string produces (every other `%` of the
///   result starts a three-character escape);
/// - every other character is kept as it is, so `user:42`, `hbs.Zm9v` or `café` stay readable.
///
/// Strings are compared by their Unicode scalars, as ``StoreKey`` compares bytes: a precomposed
/// `é` and `e` followed by U+0301 are different keys, although Swift's `==` calls the strings
/// equal. A string whose mapping is longer than ``StoreKey/maximumByteCount`` is refused with
/// ``StoreError/Code/invalidKey``; nothing is truncated or hashed, so two strings never share a
/// key.
package enum StringKeyEncoding {
    /// The store key for `string`.
    ///
    /// - Throws: ``StoreError`` with code ``StoreError/Code/invalidKey`` when the key would be
    ///   longer than ``StoreKey/maximumByteCount`` bytes. A longer string cannot be stored under
    ///   its own key; shorten it (or hash it) before handing it over.
    package static func storeKey(for string: String) throws(StoreError) -> StoreKey {
        let encoded = encode(string)
        let length = encoded.utf8.count
        guard length <= StoreKey.maximumByteCount else {
            throw StoreError(
                .invalidKey, operation: .validate,
                message: "the string key \(clipped(string)) (\(string.utf8.count) UTF-8 bytes) maps to a store key of "
                    + "\(length) bytes, more than the \(StoreKey.maximumByteCount) a key may have; "
                    + "use a shorter key, or hash long ones before using them"
            )
        }
        return try StoreKey(validating: encoded)
    }

    /// The string that ``storeKey(for:)`` maps to `key`, or `nil` if `key` is not one of its
    /// results (a key with a `/`, a lower-case or unneeded escape, a malformed `%`).
    package static func string(for key: StoreKey) -> String? {
        let raw = key.rawValue
        if raw == "%" { return "" }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(raw.utf8.count)
        var iterator = raw.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                return nil
            }
            bytes.append(high << 4 | low)
        }
        let decoded = String(decoding: bytes, as: UTF8.self)
        // Only the canonical spelling of a string decodes: re-encoding must give the key back,
        // which also rejects invalid UTF-8, lower-case hex and escapes of kept characters.
        return encode(decoded) == raw ? decoded : nil
    }

    /// The mapping of `string`, before its length is checked.
    static func encode(_ string: String) -> String {
        switch string {
        case "": return "%"
        case ".": return "%2E"
        case "..": return "%2E%2E"
        default: break
        }
        var result = ""
        result.unicodeScalars.reserveCapacity(string.unicodeScalars.count)
        for scalar in string.unicodeScalars {
            if scalar == "%" || scalar == "/" || isControl(scalar) {
                for byte in String(scalar).utf8 {
                    result.unicodeScalars.append("%")
                    result.unicodeScalars.append(hexDigits[Int(byte >> 4)])
                    result.unicodeScalars.append(hexDigits[Int(byte & 0x0F)])
                }
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    private static let hexDigits: [Unicode.Scalar] = Array("0123456789ABCDEF".unicodeScalars)

    /// The value of an upper-case hexadecimal digit, `nil` for any other byte.
    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// Whether `scalar` is a control character (Unicode general category Cc), as ``StoreKey``
    /// defines them.
    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    /// `string` in quotes for a message, escaped and clipped to its first 48 characters.
    private static func clipped(_ string: String) -> String {
        let head = String(String.UnicodeScalarView(string.unicodeScalars.prefix(48)))
        let escaped = encode(head)
        return "'" + escaped + (string.unicodeScalars.count > 48 ? "…'" : "'")
    }
}
