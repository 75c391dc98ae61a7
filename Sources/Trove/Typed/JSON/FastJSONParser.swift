/// Parses strict RFC 8259 JSON into ``FastJSONNode``s in one pass.
///
/// The parser is deliberately stricter than Foundation's scanner, which accepts trailing commas
/// and checks strings and numbers only when they are decoded: whatever this parser refuses,
/// Foundation decodes instead. It checks every string for valid UTF-8, valid escapes and paired
/// surrogates, and every number against the JSON grammar, so the decoding step can rely on both.
struct FastJSONParser {
    /// Arrays and objects nested deeper than this are left to Foundation (which allows 512).
    static let maximumDepth = 256

    /// The text.
    let bytes: UnsafeRawBufferPointer
    /// The offset of the next byte to read.
    private var position = 0
    /// The nodes parsed so far.
    var nodes: [FastJSONNode] = []

    /// A parser for `bytes`.
    init(bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        nodes.reserveCapacity(bytes.count / 8 + 4)
    }

    /// Parses one value surrounded by optional whitespace, the whole text.
    mutating func parseDocument() throws(FastJSONRejection) {
        try parseValue(depth: 0)
        skipWhitespace()
        guard position == bytes.count else { throw FastJSONRejection(reason: "text after the top-level value") }
    }

    /// The byte at `position`, or `nil` at the end of the text.
    @inline(__always)
    private func peek() -> UInt8? {
        position < bytes.count ? bytes[position] : nil
    }

    /// Moves past spaces, tabs, line feeds and carriage returns.
    @inline(__always)
    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    /// Appends a node for a value whose text ends at `position`.
    @inline(__always)
    private mutating func appendScalar(_ kind: FastJSONNode.Kind, flags: UInt8 = 0, offset: Int = 0, length: Int = 0) {
        nodes.append(FastJSONNode(
            kind: kind, flags: flags, offset: UInt32(offset), length: UInt32(length), next: UInt32(nodes.count + 1)
        ))
    }

    /// Parses the value that starts after optional whitespace.
    private mutating func parseValue(depth: Int) throws(FastJSONRejection) {
        skipWhitespace()
        guard let byte = peek() else { throw FastJSONRejection(reason: "unexpected end of text") }
        switch byte {
        case UInt8(ascii: "\""):
            try parseString()
        case UInt8(ascii: "{"):
            try parseObject(depth: depth + 1)
        case UInt8(ascii: "["):
            try parseArray(depth: depth + 1)
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            appendScalar(.true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            appendScalar(.false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            appendScalar(.null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try parseNumber()
        default:
            throw FastJSONRejection(reason: "unexpected character")
        }
    }

    /// Moves past `literal`, which must come next.
    private mutating func expectLiteral(_ literal: StaticString) throws(FastJSONRejection) {
        let count = literal.utf8CodeUnitCount
        guard bytes.count - position >= count else { throw FastJSONRejection(reason: "unexpected end of text") }
        let expected = literal.utf8Start
        for index in 0..<count where bytes[position + index] != expected[index] {
            throw FastJSONRejection(reason: "invalid literal")
        }
        position += count
    }

    /// Parses an object; `position` is at its `{`.
    private mutating func parseObject(depth: Int) throws(FastJSONRejection) {
        guard depth <= Self.maximumDepth else { throw FastJSONRejection(reason: "nested too deeply") }
        let head = nodes.count
        nodes.append(FastJSONNode(kind: .object, flags: 0, offset: UInt32(position), length: 0, next: 0))
        position += 1
        var members = 0
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            position += 1
        } else {
            while true {
                skipWhitespace()
                guard peek() == UInt8(ascii: "\"") else { throw FastJSONRejection(reason: "expected a key") }
                try parseString()
                skipWhitespace()
                guard peek() == UInt8(ascii: ":") else { throw FastJSONRejection(reason: "expected a colon") }
                position += 1
                try parseValue(depth: depth)
                members += 1
                skipWhitespace()
                switch peek() {
                case UInt8(ascii: ","):
                    position += 1
                case UInt8(ascii: "}"):
                    position += 1
                    nodes[head].length = UInt32(members)
                    nodes[head].next = UInt32(nodes.count)
                    return
                default:
                    throw FastJSONRejection(reason: "expected a comma or a closing brace")
                }
            }
        }
        nodes[head].length = UInt32(members)
        nodes[head].next = UInt32(nodes.count)
    }

    /// Parses an array; `position` is at its `[`.
    private mutating func parseArray(depth: Int) throws(FastJSONRejection) {
        guard depth <= Self.maximumDepth else { throw FastJSONRejection(reason: "nested too deeply") }
        let head = nodes.count
        nodes.append(FastJSONNode(kind: .array, flags: 0, offset: UInt32(position), length: 0, next: 0))
        position += 1
        var elements = 0
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            position += 1
        } else {
            while true {
                try parseValue(depth: depth)
                elements += 1
                skipWhitespace()
                switch peek() {
                case UInt8(ascii: ","):
                    position += 1
                case UInt8(ascii: "]"):
                    position += 1
                    nodes[head].length = UInt32(elements)
                    nodes[head].next = UInt32(nodes.count)
                    return
                default:
                    throw FastJSONRejection(reason: "expected a comma or a closing bracket")
                }
            }
        }
        nodes[head].length = UInt32(elements)
        nodes[head].next = UInt32(nodes.count)
    }

    /// Parses a string; `position` is at its opening quote.
    private mutating func parseString() throws(FastJSONRejection) {
        position += 1
        let start = position
        var flags: UInt8 = 0
        while true {
            // Plain ASCII first, the common case: eight bytes at a time while none of them is a
            // quote, a backslash, a control character or outside ASCII, then byte by byte.
            while bytes.count - position >= 8 {
                let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self))
                guard !Self.needsAttention(word) else { break }
                position += 8
            }
            while position < bytes.count {
                let byte = bytes[position]
                guard byte >= 0x20, byte < 0x80, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") else { break }
                position += 1
            }
            guard let byte = peek() else { throw FastJSONRejection(reason: "unterminated string") }
            switch byte {
            case UInt8(ascii: "\""):
                appendScalar(.string, flags: flags, offset: start, length: position - start)
                position += 1
                return
            case UInt8(ascii: "\\"):
                flags |= FastJSONNode.escaped
                try skipEscape()
            case 0x80...:
                flags |= FastJSONNode.nonASCII
                try skipUTF8Sequence()
            default:
                throw FastJSONRejection(reason: "unescaped control character in string")
            }
        }
    }

    /// Whether any of the eight bytes in `word` is a quote, a backslash, below 0x20 or above
    /// 0x7F. May answer `true` when none is (never the other way round), which only sends the
    /// caller to its byte-by-byte loop.
    @inline(__always)
    private static func needsAttention(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highBits: UInt64 = 0x8080_8080_8080_8080
        /// Nonzero when some byte of `value` is zero.
        func hasZeroByte(_ value: UInt64) -> UInt64 { (value &- ones) & ~value & highBits }
        let quote = hasZeroByte(word ^ (ones &* 0x22))
        let backslash = hasZeroByte(word ^ (ones &* 0x5C))
        let control = (word &- ones &* 0x20) & ~word & highBits
        return (quote | backslash | control | word & highBits) != 0
    }

    /// Checks the escape sequence at `position` (a backslash) and moves past it.
    private mutating func skipEscape() throws(FastJSONRejection) {
        guard position + 1 < bytes.count else { throw FastJSONRejection(reason: "unterminated escape") }
        switch bytes[position + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"),
             UInt8(ascii: "b"), UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            position += 2
        case UInt8(ascii: "u"):
            let unit = try hexEscape(at: position)
            position += 6
            switch unit {
            case 0xD800...0xDBFF:
                guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"),
                      bytes[position + 1] == UInt8(ascii: "u"),
                      case 0xDC00...0xDFFF = try hexEscape(at: position)
                else { throw FastJSONRejection(reason: "high surrogate without a low surrogate") }
                position += 6
            case 0xDC00...0xDFFF:
                throw FastJSONRejection(reason: "low surrogate without a high surrogate")
            default:
                break
            }
        default:
            throw FastJSONRejection(reason: "invalid escape")
        }
    }

    /// The UTF-16 code unit of the `\uXXXX` escape whose backslash is at `offset`.
    private func hexEscape(at offset: Int) throws(FastJSONRejection) -> UInt16 {
        guard bytes.count - offset >= 6 else { throw FastJSONRejection(reason: "unterminated escape") }
        var unit: UInt16 = 0
        for index in offset + 2..<offset + 6 {
            guard let digit = FastJSONParser.hexDigitValue(bytes[index]) else {
                throw FastJSONRejection(reason: "invalid hexadecimal digit in escape")
            }
            unit = unit << 4 | UInt16(digit)
        }
        return unit
    }

    /// The value of an ASCII hexadecimal digit, or `nil`.
    @inline(__always)
    static func hexDigitValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte &- UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte &- UInt8(ascii: "a") &+ 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte &- UInt8(ascii: "A") &+ 10
        default: nil
        }
    }

    /// Checks the multi-byte UTF-8 sequence at `position` and moves past it: no overlong forms,
    /// no encoded surrogates, nothing above U+10FFFF.
    private mutating func skipUTF8Sequence() throws(FastJSONRejection) {
        let lead = bytes[position]
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; secondRange = 0x80...0x9F
        case 0xF0: length = 4; secondRange = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; secondRange = 0x80...0x8F
        default: throw FastJSONRejection(reason: "invalid UTF-8")
        }
        guard bytes.count - position >= length, secondRange.contains(bytes[position + 1]) else {
            throw FastJSONRejection(reason: "invalid UTF-8")
        }
        for index in position + 2..<position + length where bytes[index] & 0xC0 != 0x80 {
            throw FastJSONRejection(reason: "invalid UTF-8")
        }
        position += length
    }

    /// Parses a number against the JSON grammar; `position` is at its first byte.
    private mutating func parseNumber() throws(FastJSONRejection) {
        let start = position
        var flags = FastJSONNode.integer
        if peek() == UInt8(ascii: "-") { position += 1 }
        guard let first = peek(), isDigit(first) else { throw FastJSONRejection(reason: "invalid number") }
        position += 1
        if first != UInt8(ascii: "0") {
            skipDigits()
        }
        if peek() == UInt8(ascii: ".") {
            flags = 0
            position += 1
            guard let digit = peek(), isDigit(digit) else { throw FastJSONRejection(reason: "invalid number") }
            skipDigits()
        }
        if let byte = peek(), byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
            flags = 0
            position += 1
            if let sign = peek(), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { position += 1 }
            guard let digit = peek(), isDigit(digit) else { throw FastJSONRejection(reason: "invalid number") }
            skipDigits()
        }
        appendScalar(.number, flags: flags, offset: start, length: position - start)
    }

    /// Whether `byte` is an ASCII digit.
    @inline(__always)
    private func isDigit(_ byte: UInt8) -> Bool {
        byte &- UInt8(ascii: "0") < 10
    }

    /// Moves past ASCII digits.
    @inline(__always)
    private mutating func skipDigits() {
        while position < bytes.count, isDigit(bytes[position]) { position += 1 }
    }
}
