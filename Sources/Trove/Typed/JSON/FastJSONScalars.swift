import Foundation

/// Reading scalars out of a ``FastJSONDocument``, each exactly as Foundation's `JSONDecoder` does
/// with its default strategies, or not at all: every method throws (and marks the document
/// rejected) for a value it is not sure about, including ones Foundation would accept.
extension FastJSONDocument {
    /// The text of the string or number at `node`.
    @inline(__always)
    private func text(of node: FastJSONNode) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[Int(node.offset)..<Int(node.offset) + Int(node.length)])
    }

    /// The Boolean at `node`.
    func bool(at node: Int) throws(FastJSONRejection) -> Bool {
        switch nodes[node].kind {
        case .true: return true
        case .false: return false
        default: throw reject("not a Boolean")
        }
    }

    /// The string at `node`, with its escapes decoded.
    func string(at node: Int) throws(FastJSONRejection) -> String {
        let value = nodes[node]
        guard value.kind == .string else { throw reject("not a string") }
        return unescapedString(value)
    }

    /// The string that `node` (a string node) stands for. The parser has checked its UTF-8 and
    /// its escapes.
    func unescapedString(_ node: FastJSONNode) -> String {
        let text = text(of: node)
        guard node.flags & FastJSONNode.escaped != 0 else {
            return String(decoding: text.assumingMemoryBound(to: UInt8.self), as: UTF8.self)
        }
        // Every escape is at least as long as the UTF-8 it stands for, so the text's length is
        // enough room.
        return String(unsafeUninitializedCapacity: text.count) { output in
            var read = 0
            var written = 0
            while read < text.count {
                let byte = text[read]
                guard byte == UInt8(ascii: "\\") else {
                    output[written] = byte
                    written += 1
                    read += 1
                    continue
                }
                let escaped = text[read + 1]
                read += 2
                switch escaped {
                case UInt8(ascii: "b"): output[written] = 0x08
                case UInt8(ascii: "f"): output[written] = 0x0C
                case UInt8(ascii: "n"): output[written] = 0x0A
                case UInt8(ascii: "r"): output[written] = 0x0D
                case UInt8(ascii: "t"): output[written] = 0x09
                case UInt8(ascii: "u"):
                    var scalar = UInt32(Self.hexUnit(text, at: read))
                    read += 4
                    if scalar & 0xFC00 == 0xD800 {
                        // The parser checked that a low surrogate escape follows.
                        let low = UInt32(Self.hexUnit(text, at: read + 2))
                        read += 6
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    written += Self.writeUTF8(scalar, to: output, at: written)
                    continue
                default: output[written] = escaped  // " \ /
                }
                written += 1
            }
            return written
        }
    }

    /// The four hexadecimal digits at `offset` in `text` as a UTF-16 code unit.
    private static func hexUnit(_ text: UnsafeRawBufferPointer, at offset: Int) -> UInt16 {
        var unit: UInt16 = 0
        for index in offset..<offset + 4 {
            unit = unit << 4 | UInt16(FastJSONParser.hexDigitValue(text[index]) ?? 0)
        }
        return unit
    }

    /// Writes the UTF-8 form of `scalar` (not a surrogate) at `offset`; returns its length.
    private static func writeUTF8(_ scalar: UInt32, to output: UnsafeMutableBufferPointer<UInt8>, at offset: Int) -> Int {
        switch scalar {
        case ..<0x80:
            output[offset] = UInt8(scalar)
            return 1
        case ..<0x800:
            output[offset] = UInt8(0xC0 | scalar >> 6)
            output[offset + 1] = UInt8(0x80 | scalar & 0x3F)
            return 2
        case ..<0x10000:
            output[offset] = UInt8(0xE0 | scalar >> 12)
            output[offset + 1] = UInt8(0x80 | scalar >> 6 & 0x3F)
            output[offset + 2] = UInt8(0x80 | scalar & 0x3F)
            return 3
        default:
            output[offset] = UInt8(0xF0 | scalar >> 18)
            output[offset + 1] = UInt8(0x80 | scalar >> 12 & 0x3F)
            output[offset + 2] = UInt8(0x80 | scalar >> 6 & 0x3F)
            output[offset + 3] = UInt8(0x80 | scalar & 0x3F)
            return 4
        }
    }

    /// Whether the key node `node` spells `name`, compared the way Swift compares strings
    /// (canonical equivalence), as Foundation's dictionary of keys does.
    ///
    /// - Parameters:
    ///   - nameUTF8: The UTF-8 of `name`, and whether it is all ASCII.
    @inline(__always)
    func key(_ node: FastJSONNode, equals name: String, nameUTF8: UnsafeBufferPointer<UInt8>, nameIsASCII: Bool) -> Bool {
        if nameIsASCII && node.flags == 0 {
            // Two ASCII strings are equal exactly when their bytes are.
            guard Int(node.length) == nameUTF8.count else { return false }
            guard let name = nameUTF8.baseAddress, let text = bytes.baseAddress else { return node.length == 0 }
            return memcmp(text + Int(node.offset), name, nameUTF8.count) == 0
        }
        return unescapedString(node) == name
    }

    // MARK: Numbers

    /// The integer at `node`. Only plain integer texts are read (no fraction, no exponent, not
    /// `-0`); Foundation reads `1.0` and `1e2` too, through a slower path that this leaves to it.
    func integer<T: FixedWidthInteger>(at node: Int, as type: T.Type) throws(FastJSONRejection) -> T {
        let value = nodes[node]
        guard value.kind == .number, value.flags & FastJSONNode.integer != 0 else { throw reject("not an integer") }
        let text = text(of: value)
        let negative = text[0] == UInt8(ascii: "-")
        var magnitude: UInt64 = 0
        for index in (negative ? 1 : 0)..<text.count {
            let (product, overflow) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, carry) = product.addingReportingOverflow(UInt64(text[index] &- UInt8(ascii: "0")))
            guard !overflow, !carry else { throw reject("integer out of range") }
            magnitude = sum
        }
        if negative {
            guard T.isSigned, magnitude != 0, magnitude <= UInt64(Int64.max) + 1,
                  let result = T(exactly: Int64(bitPattern: 0 &- magnitude))
            else { throw reject("integer out of range") }
            return result
        }
        guard let result = T(exactly: magnitude) else { throw reject("integer out of range") }
        return result
    }

    /// The `Double` at `node`, rounded correctly from its decimal text as `strtod` does (which
    /// Foundation uses). Values that overflow or underflow to zero are rejected, as Foundation
    /// rejects them.
    func double(at node: Int) throws(FastJSONRejection) -> Double {
        let value = nodes[node]
        guard value.kind == .number else { throw reject("not a number") }
        let text = text(of: value)
        if let decimal = FastJSONDecimalText(text), let result = decimal.exactDouble() {
            return result
        }
        guard let result = Double(String(decoding: text.assumingMemoryBound(to: UInt8.self), as: UTF8.self)),
              result.isFinite, result != 0
        else { throw reject("number not representable as Double") }
        return result
    }

    /// The `Float` at `node`, rounded correctly from its decimal text as `strtof` does (which
    /// Foundation uses, rather than rounding a `Double`).
    func float(at node: Int) throws(FastJSONRejection) -> Float {
        let value = nodes[node]
        guard value.kind == .number else { throw reject("not a number") }
        let text = text(of: value)
        if let decimal = FastJSONDecimalText(text), let result = decimal.exactFloat() {
            return result
        }
        guard let result = Float(String(decoding: text.assumingMemoryBound(to: UInt8.self), as: UTF8.self)),
              result.isFinite, result != 0
        else { throw reject("number not representable as Float") }
        return result
    }

    // MARK: Data and URL

    /// The bytes of the Base64 string at `node`, as Foundation's default `.base64` strategy reads
    /// them. Only canonical Base64 is read: padded to a multiple of four, no whitespace, unused
    /// bits zero. (Escapes such as `\/`, which `JSONEncoder` writes, are fine: Foundation then
    /// decodes the unescaped string.)
    func base64Data(at node: Int) throws(FastJSONRejection) -> Data {
        let value = nodes[node]
        guard value.kind == .string else { throw reject("not a string") }
        let data: Data?
        if value.flags == 0 {
            data = Self.canonicalBase64(text(of: value))
        } else {
            var string = unescapedString(value)
            data = string.withUTF8 { Self.canonicalBase64(UnsafeRawBufferPointer($0)) }
        }
        guard let data else { throw reject("not canonical Base64") }
        return data
    }

    /// The bytes that `text` encodes in canonical Base64, or `nil` when it is anything else.
    private static func canonicalBase64(_ text: UnsafeRawBufferPointer) -> Data? {
        guard text.count % 4 == 0 else { return nil }
        guard text.count > 0 else { return Data() }
        var padding = 0
        if text[text.count - 1] == UInt8(ascii: "=") { padding += 1 }
        if text[text.count - 2] == UInt8(ascii: "=") { padding += 1 }
        let table = FastJSONBase64.decodingTable
        var data = Data(count: text.count / 4 * 3 - padding)
        var valid = true
        data.withUnsafeMutableBytes { (output: UnsafeMutableRawBufferPointer) -> Void in
            var written = 0
            var read = 0
            while read < text.count {
                let isLast = read + 4 == text.count
                let a = table[Int(text[read])], b = table[Int(text[read + 1])]
                let c = isLast && padding == 2 ? 0 : table[Int(text[read + 2])]
                let d = isLast && padding >= 1 ? 0 : table[Int(text[read + 3])]
                // Canonical only: the bits that padding leaves over must be zero.
                guard a | b | c | d < 64, !isLast || padding == 0 || (padding == 2 ? b & 0x0F : c & 0x03) == 0 else {
                    valid = false
                    return
                }
                let group = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                let count = isLast ? 3 - padding : 3
                for index in 0..<count {
                    output[written + index] = UInt8(truncatingIfNeeded: group >> (16 - 8 * UInt32(index)))
                }
                written += count
                read += 4
            }
        }
        return valid ? data : nil
    }

    /// The URL at `node`: `URL(string:)` of the string, as Foundation decodes URLs.
    func url(at node: Int) throws(FastJSONRejection) -> URL {
        guard let url = URL(string: try string(at: node)) else { throw reject("not a URL") }
        return url
    }
}

/// The Base64 alphabet as a lookup table.
enum FastJSONBase64 {
    /// The 6-bit value of each byte of the standard alphabet; 0xFF for every other byte, `=`
    /// included.
    static let decodingTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        for (value, byte) in alphabet.enumerated() {
            table[Int(byte)] = UInt8(value)
        }
        return table
    }()
}

/// A JSON number (already checked against the grammar) split into sign, decimal significand
/// and power of ten, for the conversions that are exact without a general algorithm.
struct FastJSONDecimalText {
    /// Whether the text starts with `-`.
    let negative: Bool
    /// The significant digits, at most 19 of them.
    let significand: UInt64
    /// The power of ten to scale ``significand`` by.
    let exponent: Int

    /// Exact powers of ten as `Double`s (every one up to 10^22 is representable).
    private static let doublePowers: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    /// Exact powers of ten as `Float`s (every one up to 10^10 is representable).
    private static let floatPowers: [Float] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10]

    /// Splits `text`, or returns `nil` when it has more than 19 significant digits.
    init?(_ text: UnsafeRawBufferPointer) {
        let negative = text[0] == UInt8(ascii: "-")
        var index = negative ? 1 : 0
        var significand: UInt64 = 0
        var digits = 0
        var exponent = 0
        var inFraction = false
        while index < text.count {
            let byte = text[index]
            if byte == UInt8(ascii: ".") {
                inFraction = true
            } else if byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                break
            } else {
                let digit = UInt64(byte &- UInt8(ascii: "0"))
                if significand != 0 || digit != 0 {
                    guard digits < 19 else { return nil }
                    significand = significand * 10 + digit
                    digits += 1
                }
                if inFraction { exponent -= 1 }
            }
            index += 1
        }
        if index < text.count {
            index += 1
            var exponentIsNegative = false
            if text[index] == UInt8(ascii: "+") {
                index += 1
            } else if text[index] == UInt8(ascii: "-") {
                exponentIsNegative = true
                index += 1
            }
            var written = 0
            while index < text.count {
                // Saturate: anything this large is out of every fast path anyway.
                written = min(written * 10 + Int(text[index] &- UInt8(ascii: "0")), 100_000)
                index += 1
            }
            exponent += exponentIsNegative ? -written : written
        }
        self.negative = negative
        self.significand = significand
        self.exponent = exponent
    }

    /// The correctly rounded `Double`, when one IEEE operation on exact operands gives it.
    func exactDouble() -> Double? {
        if significand == 0 { return negative ? -0.0 : 0.0 }
        guard significand <= 1 << 53, exponent >= -22, exponent <= 22 else { return nil }
        let magnitude = exponent < 0
            ? Double(significand) / Self.doublePowers[-exponent]
            : Double(significand) * Self.doublePowers[exponent]
        return negative ? -magnitude : magnitude
    }

    /// The correctly rounded `Float`, when one IEEE operation on exact operands gives it.
    func exactFloat() -> Float? {
        if significand == 0 { return negative ? -0.0 : 0.0 }
        guard significand <= 1 << 24, exponent >= -10, exponent <= 10 else { return nil }
        let magnitude = exponent < 0
            ? Float(significand) / Self.floatPowers[-exponent]
            : Float(significand) * Self.floatPowers[exponent]
        return negative ? -magnitude : magnitude
    }
}
