public import NIOCore

/// One value of the Redis serialization protocol, RESP2 or RESP3, as a server sends it.
///
/// Strings are kept as the `ByteBuffer` slices they arrived in (no copy); ``string`` and
/// ``int64`` read them the way most callers want. A RESP2 null bulk string and null array, and
/// RESP3's null, all decode as ``null``, so code reads the same under either protocol.
public enum RESPValue: Hashable, Sendable, CustomStringConvertible {
    /// A simple string (`+OK`).
    case simpleString(ByteBuffer)
    /// An error reply (`-ERR …` or RESP3's blob error `!`): the server refused the command.
    case error(RedisServerError)
    /// An integer (`:42`).
    case integer(Int64)
    /// A bulk string (`$5\r\nhello`), binary safe.
    case bulkString(ByteBuffer)
    /// An array (`*2`), or RESP3's set (`~`), in the server's order.
    case array([RESPValue])
    /// RESP3's map (`%`), in the server's order.
    case map([RESPPair])
    /// RESP3's push (`>`): out-of-band data such as a pub/sub message or an invalidation.
    case push([RESPValue])
    /// A null: RESP2's null bulk string (`$-1`) or null array (`*-1`), RESP3's `_`.
    case null
    /// RESP3's double (`,3.14`).
    case double(Double)
    /// RESP3's boolean (`#t`, `#f`).
    case boolean(Bool)
    /// RESP3's big number (`(3492890328409238509324850943850943825024385`), as its digits.
    case bigNumber(String)
    /// RESP3's verbatim string (`=15\r\ntxt:Some string`): its three-letter format and text.
    case verbatimString(format: String, text: ByteBuffer)

    /// The bytes of a simple, bulk or verbatim string as UTF-8 text, or the digits of an
    /// integer or big number; `nil` for anything else.
    public var string: String? {
        switch self {
        case .simpleString(let buffer), .bulkString(let buffer), .verbatimString(_, let buffer):
            return String(buffer: buffer)
        case .integer(let value): return String(value)
        case .bigNumber(let digits): return digits
        default: return nil
        }
    }

    /// The bytes of a simple, bulk or verbatim string; `nil` for anything else.
    public var bytes: ByteBuffer? {
        switch self {
        case .simpleString(let buffer), .bulkString(let buffer), .verbatimString(_, let buffer): return buffer
        default: return nil
        }
    }

    /// An integer, or a string that holds one in decimal; `nil` for anything else.
    public var int64: Int64? {
        switch self {
        case .integer(let value): return value
        case .simpleString(let buffer), .bulkString(let buffer): return Int64(String(buffer: buffer))
        default: return nil
        }
    }

    /// The elements of an array, set or push; `nil` for anything else (a null included).
    public var array: [RESPValue]? {
        switch self {
        case .array(let elements), .push(let elements): return elements
        default: return nil
        }
    }

    /// Whether this is a null, or RESP3's `false` (what a Lua script's `false` becomes under
    /// RESP3, where RESP2 sends a null).
    public var isNull: Bool {
        switch self {
        case .null, .boolean(false): return true
        default: return false
        }
    }

    /// A short rendering for messages and tests, such as `"OK"`, `42` or `[1, "a"]`.
    public var description: String {
        switch self {
        case .simpleString(let buffer): return "+" + String(buffer: buffer)
        case .error(let error): return "-" + error.message
        case .integer(let value): return String(value)
        case .bulkString(let buffer): return "\"" + String(buffer: buffer) + "\""
        case .array(let elements): return "[" + elements.map(\.description).joined(separator: ", ") + "]"
        case .map(let pairs): return "{" + pairs.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
        case .push(let elements): return ">[" + elements.map(\.description).joined(separator: ", ") + "]"
        case .null: return "null"
        case .double(let value): return String(value)
        case .boolean(let value): return value ? "true" : "false"
        case .bigNumber(let digits): return "(" + digits
        case .verbatimString(let format, let text): return "=\(format):" + String(buffer: text)
        }
    }
}

/// One key and value of a RESP3 map.
public struct RESPPair: Hashable, Sendable {
    /// The key.
    public var key: RESPValue
    /// The value.
    public var value: RESPValue

    /// Creates a pair.
    public init(key: RESPValue, value: RESPValue) {
        self.key = key
        self.value = value
    }
}

/// An error reply from the server (`-WRONGTYPE Operation against a key …`).
public struct RedisServerError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The whole message, as the server sent it.
    public let message: String

    /// Wraps an error message.
    public init(_ message: String) { self.message = message }

    /// The message's first word, the error's kind by Redis convention: `ERR`, `WRONGTYPE`,
    /// `NOSCRIPT`, `NOAUTH`, `WRONGPASS`, `OOM`, `MOVED`, `LOADING`, …
    public var prefix: Substring {
        message.prefix { $0 != " " }
    }

    public var description: String { message }
}
