public import NIOCore

/// Decodes RESP2 and RESP3 replies from bytes as they arrive: a pure value, no I/O.
///
/// Feed it whatever the socket gave, as often as bytes come; each call to ``decode(_:)``
/// consumes what it can and returns the next complete top-level value, or `nil` when more bytes
/// are needed. A reply split at any byte boundary decodes the same as in one piece. Elements of
/// an aggregate that are complete are consumed at once and kept in the decoder, so a large
/// array arriving in many pieces is read once, not re-read from its start on every piece.
///
/// It is strict: anything that is not RESP, or that breaks ``Limits``, throws a
/// ``RESPProtocolError``, after which the decoder must not be used again (the connection is
/// dropped). Buffering is bounded by the limits: a line is refused once it is longer than
/// ``Limits/maximumLineLength`` without its end, and a string's payload is awaited only up to
/// ``Limits/maximumBulkLength`` bytes.
///
/// RESP3 attributes (`|`) are read and dropped; the value after them is returned. A RESP2 null
/// bulk string or null array, and RESP3's null, all decode as ``RESPValue/null``.
public struct RESPDecoder: Sendable {
    /// Bounds on what one reply may hold, so a broken or hostile server cannot make the client
    /// buffer without end.
    public struct Limits: Hashable, Sendable {
        /// The longest bulk, verbatim or blob-error string, in bytes. Defaults to 512 MiB
        /// (Redis's own `proto-max-bulk-len`).
        public var maximumBulkLength: Int
        /// The most elements one aggregate may announce (a map's pairs count twice). Defaults
        /// to 4,194,304.
        public var maximumAggregateCount: Int
        /// The most elements one reply may hold at all depths. Defaults to 16,777,216.
        public var maximumReplyElements: Int
        /// The deepest nesting of aggregates. Defaults to 64.
        public var maximumDepth: Int
        /// The longest line (a simple string, an error, a number), in bytes. Defaults to 64 KiB.
        public var maximumLineLength: Int

        /// Creates limits; see each property for its default.
        public init(
            maximumBulkLength: Int = 512 << 20,
            maximumAggregateCount: Int = 1 << 22,
            maximumReplyElements: Int = 1 << 24,
            maximumDepth: Int = 64,
            maximumLineLength: Int = 64 << 10
        ) {
            self.maximumBulkLength = maximumBulkLength
            self.maximumAggregateCount = maximumAggregateCount
            self.maximumReplyElements = maximumReplyElements
            self.maximumDepth = maximumDepth
            self.maximumLineLength = maximumLineLength
        }
    }

    private enum AggregateKind: Sendable {
        case array, set, push, map, attribute
    }

    /// An aggregate whose elements are still arriving.
    private struct Frame: Sendable {
        var kind: AggregateKind
        var remaining: Int
        var elements: [RESPValue]
        var pendingKey: RESPValue?
        var pairs: [RESPPair]
    }

    /// The decoder's limits.
    public let limits: Limits
    private var stack: [Frame] = []
    private var elementsInReply = 0

    /// Creates a decoder.
    ///
    /// - Parameter limits: Bounds on one reply. Defaults to ``Limits/init(maximumBulkLength:maximumAggregateCount:maximumReplyElements:maximumDepth:maximumLineLength:)``'s defaults.
    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Whether the decoder holds part of a reply (the elements of an unfinished aggregate).
    public var isMidReply: Bool { !stack.isEmpty }

    /// Consumes bytes from `buffer` and returns the next complete value, or `nil` when
    /// `buffer` ends before one does (what was consumed stays in the decoder; the rest stays in
    /// `buffer` for the next call, with more bytes appended).
    ///
    /// - Throws: ``RESPProtocolError`` for bytes that are not RESP or break ``limits``.
    public mutating func decode(_ buffer: inout ByteBuffer) throws(RESPProtocolError) -> RESPValue? {
        while true {
            guard let item = try decodeItem(&buffer) else { return nil }
            switch item {
            case .value(var value):
                // Complete the aggregates this value finishes, innermost first.
                while true {
                    guard !stack.isEmpty else {
                        elementsInReply = 0
                        return value
                    }
                    let finished = append(value)
                    guard let finished else { break }
                    guard let completed = finished else { break }
                    value = completed
                }
            case .opened:
                continue
            }
        }
    }

    private enum Item {
        case value(RESPValue)
        /// An aggregate was opened (or an empty one completed and was appended).
        case opened
    }

    /// Appends `value` to the innermost open aggregate. Returns `nil` when that aggregate needs
    /// more elements, `.some(nil)` when it completed as an attribute (dropped), and
    /// `.some(value)` when it completed as that value.
    private mutating func append(_ value: RESPValue) -> RESPValue?? {
        let top = stack.count - 1
        switch stack[top].kind {
        case .map, .attribute:
            if let key = stack[top].pendingKey {
                stack[top].pairs.append(RESPPair(key: key, value: value))
                stack[top].pendingKey = nil
                stack[top].remaining -= 1
            } else {
                stack[top].pendingKey = value
                return nil
            }
        case .array, .set, .push:
            stack[top].elements.append(value)
            stack[top].remaining -= 1
        }
        guard stack[top].remaining == 0 else { return nil }
        let frame = stack.removeLast()
        switch frame.kind {
        case .array, .set: return .some(.array(frame.elements))
        case .push: return .some(.push(frame.elements))
        case .map: return .some(.map(frame.pairs))
        case .attribute: return .some(nil)
        }
    }

    private static let typeBytes: Set<UInt8> = Set("+-:$!=_#,(*~>%|".utf8)

    private mutating func decodeItem(_ buffer: inout ByteBuffer) throws(RESPProtocolError) -> Item? {
        let start = buffer.readerIndex
        guard let type = buffer.getInteger(at: start, as: UInt8.self) else { return nil }
        // A byte that starts no RESP value fails at once, not after a line's worth of bytes.
        guard Self.typeBytes.contains(type) else {
            throw RESPProtocolError(.unknownType, "a value starting with byte 0x\(String(type, radix: 16))")
        }
        guard let line = try lineEnd(in: buffer, from: start + 1) else { return nil }
        let contentStart = start + 1, contentLength = line - contentStart
        let afterLine = line + 2

        func text() -> String { buffer.getString(at: contentStart, length: contentLength) ?? "" }

        switch type {
        case UInt8(ascii: "+"):
            let value = buffer.getSlice(at: contentStart, length: contentLength)!
            buffer.moveReaderIndex(to: afterLine)
            return try counted(.simpleString(value))
        case UInt8(ascii: "-"):
            let message = text()
            buffer.moveReaderIndex(to: afterLine)
            return try counted(.error(RedisServerError(message)))
        case UInt8(ascii: ":"):
            let value = try integer(buffer, at: contentStart, length: contentLength, what: "integer")
            buffer.moveReaderIndex(to: afterLine)
            return try counted(.integer(value))
        case UInt8(ascii: "$"), UInt8(ascii: "!"), UInt8(ascii: "="):
            if contentLength == 1, buffer.getInteger(at: contentStart, as: UInt8.self) == UInt8(ascii: "?") {
                throw RESPProtocolError(.unsupported, "streamed strings ($?) are not supported")
            }
            let length = try integer(buffer, at: contentStart, length: contentLength, what: "string length")
            if length == -1, type == UInt8(ascii: "$") {
                buffer.moveReaderIndex(to: afterLine)
                return try counted(.null)
            }
            guard length >= 0 else { throw RESPProtocolError(.invalidLength, "a string length of \(length)") }
            guard length <= limits.maximumBulkLength else {
                throw RESPProtocolError(.bulkTooLong, "a string of \(length) bytes, over the limit of \(limits.maximumBulkLength)")
            }
            let count = Int(length)
            guard buffer.writerIndex - afterLine >= count + 2 else { return nil }
            guard buffer.getInteger(at: afterLine + count, as: UInt16.self) == 0x0D0A else {
                throw RESPProtocolError(.missingLineEnd, "a string of \(count) bytes is not followed by CR LF")
            }
            let payload = buffer.getSlice(at: afterLine, length: count)!
            buffer.moveReaderIndex(to: afterLine + count + 2)
            switch type {
            case UInt8(ascii: "$"): return try counted(.bulkString(payload))
            case UInt8(ascii: "!"): return try counted(.error(RedisServerError(String(buffer: payload))))
            default:
                guard count >= 4, payload.getInteger(at: payload.readerIndex + 3, as: UInt8.self) == UInt8(ascii: ":") else {
                    throw RESPProtocolError(.invalidValue, "a verbatim string without its three-letter format and ':'")
                }
                let format = payload.getString(at: payload.readerIndex, length: 3) ?? ""
                return try counted(.verbatimString(format: format, text: payload.getSlice(at: payload.readerIndex + 4, length: count - 4)!))
            }
        case UInt8(ascii: "_"):
            guard contentLength == 0 else { throw RESPProtocolError(.invalidValue, "a null (_) with content") }
            buffer.moveReaderIndex(to: afterLine)
            return try counted(.null)
        case UInt8(ascii: "#"):
            let byte = contentLength == 1 ? buffer.getInteger(at: contentStart, as: UInt8.self) : nil
            guard byte == UInt8(ascii: "t") || byte == UInt8(ascii: "f") else {
                throw RESPProtocolError(.invalidValue, "a boolean that is neither #t nor #f")
            }
            buffer.moveReaderIndex(to: afterLine)
            return try counted(.boolean(byte == UInt8(ascii: "t")))
        case UInt8(ascii: ","):
            let value = try double(text())
            buffer.moveReaderIndex(to: afterLine)
            return try counted(.double(value))
        case UInt8(ascii: "("):
            let digits = text()
            let body = digits.utf8.first == UInt8(ascii: "-") || digits.utf8.first == UInt8(ascii: "+") ? digits.utf8.dropFirst() : digits.utf8[...]
            guard !body.isEmpty, body.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                throw RESPProtocolError(.invalidNumber, "a big number that is not digits")
            }
            buffer.moveReaderIndex(to: afterLine)
            return try counted(.bigNumber(digits))
        case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "%"), UInt8(ascii: "|"):
            if contentLength == 1, buffer.getInteger(at: contentStart, as: UInt8.self) == UInt8(ascii: "?") {
                throw RESPProtocolError(.unsupported, "streamed aggregates (?) are not supported")
            }
            let count = try integer(buffer, at: contentStart, length: contentLength, what: "aggregate count")
            buffer.moveReaderIndex(to: afterLine)
            if count == -1, type == UInt8(ascii: "*") { return try counted(.null) }
            guard count >= 0 else { throw RESPProtocolError(.invalidLength, "an aggregate count of \(count)") }
            let isMap = type == UInt8(ascii: "%") || type == UInt8(ascii: "|")
            let elements = isMap ? count.multipliedReportingOverflow(by: 2) : (partialValue: count, overflow: false)
            guard !elements.overflow, elements.partialValue <= limits.maximumAggregateCount else {
                throw RESPProtocolError(.aggregateTooLarge, "an aggregate of \(count) elements, over the limit of \(limits.maximumAggregateCount)")
            }
            let kind: AggregateKind
            switch type {
            case UInt8(ascii: "*"): kind = .array
            case UInt8(ascii: "~"): kind = .set
            case UInt8(ascii: ">"): kind = .push
            case UInt8(ascii: "%"): kind = .map
            default: kind = .attribute
            }
            if count == 0 {
                switch kind {
                case .array, .set: return try counted(.array([]))
                case .push: return try counted(.push([]))
                case .map: return try counted(.map([]))
                case .attribute: return .opened
                }
            }
            guard stack.count < limits.maximumDepth else {
                throw RESPProtocolError(.nestingTooDeep, "aggregates nested deeper than \(limits.maximumDepth)")
            }
            if kind != .attribute { try countElements(0) }
            let reserve = Swift.min(Int(count), 1024)
            var frame = Frame(kind: kind, remaining: Int(count), elements: [], pendingKey: nil, pairs: [])
            if isMap { frame.pairs.reserveCapacity(reserve) } else { frame.elements.reserveCapacity(reserve) }
            stack.append(frame)
            return .opened
        default:
            throw RESPProtocolError(.unknownType, "a value starting with byte 0x\(String(type, radix: 16))")
        }
    }

    /// Counts one more element of the current reply against ``Limits/maximumReplyElements``.
    private mutating func counted(_ value: RESPValue) throws(RESPProtocolError) -> Item {
        try countElements(1)
        return .value(value)
    }

    private mutating func countElements(_ elements: Int) throws(RESPProtocolError) {
        elementsInReply += Swift.max(elements, 1)
        if elementsInReply > limits.maximumReplyElements {
            throw RESPProtocolError(.replyTooLarge, "a reply of more than \(limits.maximumReplyElements) elements")
        }
    }

    /// The index of the CR of the CR LF that ends the line starting at `index`, or `nil` when
    /// the buffer ends first (within the line-length limit).
    private func lineEnd(in buffer: ByteBuffer, from index: Int) throws(RESPProtocolError) -> Int? {
        let available = buffer.writerIndex - index
        let searched = Swift.min(available, limits.maximumLineLength + 2)
        let found: Int? = buffer.withUnsafeReadableBytes { bytes in
            let offset = index - buffer.readerIndex
            guard searched > 0 else { return nil }
            for position in offset..<(offset + searched) where bytes[position] == 0x0D || bytes[position] == 0x0A {
                return position + buffer.readerIndex
            }
            return nil
        }
        guard let found else {
            if available > limits.maximumLineLength + 1 {
                throw RESPProtocolError(.lineTooLong, "a line longer than \(limits.maximumLineLength) bytes")
            }
            return nil
        }
        guard buffer.getInteger(at: found, as: UInt8.self) == 0x0D else {
            throw RESPProtocolError(.missingLineEnd, "a line feed without a carriage return before it")
        }
        guard let next = buffer.getInteger(at: found + 1, as: UInt8.self) else { return nil }
        guard next == 0x0A else { throw RESPProtocolError(.missingLineEnd, "a carriage return not followed by a line feed") }
        guard found - index <= limits.maximumLineLength else {
            throw RESPProtocolError(.lineTooLong, "a line longer than \(limits.maximumLineLength) bytes")
        }
        return found
    }

    /// A decimal integer with an optional sign, nothing else, within Int64.
    private func integer(_ buffer: ByteBuffer, at index: Int, length: Int, what: String) throws(RESPProtocolError) -> Int64 {
        let parsed: Int64? = buffer.withUnsafeReadableBytes { bytes in
            var position = index - buffer.readerIndex
            let end = position + length
            guard position < end else { return nil }
            var negative = false
            if bytes[position] == UInt8(ascii: "-") || bytes[position] == UInt8(ascii: "+") {
                negative = bytes[position] == UInt8(ascii: "-")
                position += 1
            }
            guard position < end else { return nil }
            var value: Int64 = 0
            while position < end {
                let digit = bytes[position] &- 0x30
                guard digit < 10 else { return nil }
                let (times, o1) = value.multipliedReportingOverflow(by: 10)
                let (sum, o2) = negative ? times.subtractingReportingOverflow(Int64(digit)) : times.addingReportingOverflow(Int64(digit))
                guard !o1, !o2 else { return nil }
                value = sum
                position += 1
            }
            return value
        }
        guard let parsed else {
            throw RESPProtocolError(.invalidNumber, "\(what) '\(buffer.getString(at: index, length: Swift.min(length, 40)) ?? "")' is not a decimal integer")
        }
        return parsed
    }

    private func double(_ text: String) throws(RESPProtocolError) -> Double {
        switch text {
        case "inf", "+inf": return .infinity
        case "-inf": return -.infinity
        case "nan", "-nan": return .nan
        default: break
        }
        let allowed = text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-")
            || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }
        guard allowed, let value = Double(text) else {
            throw RESPProtocolError(.invalidNumber, "double '\(text.prefix(40))' is not a number")
        }
        return value
    }
}
