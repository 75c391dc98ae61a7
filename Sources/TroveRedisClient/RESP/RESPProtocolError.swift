/// A server (or whatever answered in its place) sent bytes that are not valid RESP, or that
/// break the decoder's limits.
///
/// The connection that received them cannot be trusted to stay in step and is dropped; every
/// command waiting on it fails with ``RedisClientError/Code/protocolViolation``.
public struct RESPProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What was wrong, stable across releases.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case unknownType, invalidNumber, invalidLength, missingLineEnd, lineTooLong
            case bulkTooLong, aggregateTooLarge, replyTooLarge, nestingTooDeep, invalidValue, unsupported
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A value started with a byte that is no RESP type.
        public static var unknownType: Self { Self(.unknownType) }
        /// An integer, length or double was not a valid number.
        public static var invalidNumber: Self { Self(.invalidNumber) }
        /// A length or count was negative (other than RESP2's `-1` null) or malformed.
        public static var invalidLength: Self { Self(.invalidLength) }
        /// A line or a string's payload did not end with CR LF.
        public static var missingLineEnd: Self { Self(.missingLineEnd) }
        /// A line went on past ``RESPDecoder/Limits/maximumLineLength`` without its CR LF.
        public static var lineTooLong: Self { Self(.lineTooLong) }
        /// A string announced more bytes than ``RESPDecoder/Limits/maximumBulkLength``.
        public static var bulkTooLong: Self { Self(.bulkTooLong) }
        /// An aggregate announced more elements than ``RESPDecoder/Limits/maximumAggregateCount``.
        public static var aggregateTooLarge: Self { Self(.aggregateTooLarge) }
        /// One reply held more elements in all than ``RESPDecoder/Limits/maximumReplyElements``.
        public static var replyTooLarge: Self { Self(.replyTooLarge) }
        /// Aggregates nested deeper than ``RESPDecoder/Limits/maximumDepth``.
        public static var nestingTooDeep: Self { Self(.nestingTooDeep) }
        /// A boolean, null, verbatim string or simple string was malformed.
        public static var invalidValue: Self { Self(.invalidValue) }
        /// A valid RESP3 form this client does not accept (streamed strings and aggregates).
        public static var unsupported: Self { Self(.unsupported) }

        public var description: String { base.rawValue }
    }

    /// What was wrong.
    public let code: Code
    /// What was wrong, in a sentence.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "RESP protocol error (\(code)): \(message)" }
}
