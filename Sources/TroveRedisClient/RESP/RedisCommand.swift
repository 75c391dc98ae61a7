public import NIOCore
public import Foundation

/// Something that can be one argument of a command: written as a RESP bulk string straight
/// into the command's buffer, without an intermediate copy.
public protocol RESPArgument {
    /// The number of bytes of the argument's payload.
    var respByteCount: Int { get }
    /// Writes the payload (without the length header) into `buffer`.
    func writeRESPPayload(into buffer: inout ByteBuffer)
}

extension String: RESPArgument {
    @inlinable public var respByteCount: Int { utf8.count }
    @inlinable public func writeRESPPayload(into buffer: inout ByteBuffer) { buffer.writeString(self) }
}

extension Substring: RESPArgument {
    public var respByteCount: Int { utf8.count }
    public func writeRESPPayload(into buffer: inout ByteBuffer) { buffer.writeSubstring(self) }
}

extension StaticString: RESPArgument {
    public var respByteCount: Int { utf8CodeUnitCount }
    public func writeRESPPayload(into buffer: inout ByteBuffer) { buffer.writeStaticString(self) }
}

extension ByteBuffer: RESPArgument {
    @inlinable public var respByteCount: Int { readableBytes }
    @inlinable public func writeRESPPayload(into buffer: inout ByteBuffer) { buffer.writeImmutableBuffer(self) }
}

extension Data: RESPArgument {
    @inlinable public var respByteCount: Int { count }
    @inlinable public func writeRESPPayload(into buffer: inout ByteBuffer) { buffer.writeBytes(self) }
}

extension Array: RESPArgument where Element == UInt8 {
    @inlinable public var respByteCount: Int { count }
    @inlinable public func writeRESPPayload(into buffer: inout ByteBuffer) { buffer.writeBytes(self) }
}

extension Int: RESPArgument {
    @inlinable public var respByteCount: Int { Int64(self).respByteCount }
    @inlinable public func writeRESPPayload(into buffer: inout ByteBuffer) { Int64(self).writeRESPPayload(into: &buffer) }
}

extension Int64: RESPArgument {
    @inlinable public var respByteCount: Int {
        var count = self < 0 ? 2 : 1
        var rest = self.magnitude
        while rest >= 10 { rest /= 10; count += 1 }
        return count
    }

    @inlinable public func writeRESPPayload(into buffer: inout ByteBuffer) { buffer.writeDecimal(self) }
}

extension Double: RESPArgument {
    public var respByteCount: Int { description.utf8.count }
    public func writeRESPPayload(into buffer: inout ByteBuffer) { buffer.writeString(description) }
}

extension ByteBuffer {
    /// Writes `value` in decimal ASCII, without making a string, in one copy.
    @inlinable
    mutating func writeDecimal(_ value: Int64) {
        if value >= 0 && value < 10 {
            writeInteger(UInt8(truncatingIfNeeded: value) &+ 0x30)
            return
        }
        withDecimalDigits(of: value) { writeBytes($0) }
    }

    /// Writes one RESP bulk string: `$<length>\r\n<payload>\r\n`, in three writes (the
    /// header, the payload, the line end), since each write of a `ByteBuffer` costs a check
    /// of its capacity and of its uniqueness.
    @inlinable
    mutating func writeRESPBulk(_ argument: some RESPArgument) {
        writeRESPHeader(UInt8(ascii: "$"), argument.respByteCount)
        argument.writeRESPPayload(into: &self)
        writeInteger(UInt16(0x0D0A))
    }

    /// Writes `marker`, `count` in decimal and `\r\n` in one write: the header of an array
    /// (`*`) or of a bulk string (`$`).
    @inlinable
    mutating func writeRESPHeader(_ marker: UInt8, _ count: Int) {
        writeWithUnsafeMutableBytes(minimumWritableBytes: 24) { raw in
            withDecimalDigits(of: Int64(count)) { digits in
                raw[0] = marker
                raw.baseAddress!.advanced(by: 1).copyMemory(from: digits.baseAddress!, byteCount: digits.count)
                raw[digits.count + 1] = UInt8(ascii: "\r")
                raw[digits.count + 2] = UInt8(ascii: "\n")
                return digits.count + 3
            }
        }
    }
}

/// Calls `body` with the decimal ASCII of `value` (`-` first when it is negative), made on the
/// stack.
@inlinable
func withDecimalDigits<Result>(of value: Int64, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
    var magnitude = value.magnitude
    var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // room for a sign and 20 digits
    return withUnsafeMutableBytes(of: &digits) { raw in
        var start = raw.count
        repeat {
            start -= 1
            raw[start] = UInt8(truncatingIfNeeded: magnitude % 10) &+ 0x30
            magnitude /= 10
        } while magnitude > 0
        if value < 0 {
            start -= 1
            raw[start] = UInt8(ascii: "-")
        }
        return body(UnsafeRawBufferPointer(rebasing: raw[start...]))
    }
}

extension ByteBuffer {
    /// Room for the command of `name` and `arguments` and for every header's 24-byte write
    /// (``writeRESPHeader(_:_:)``), so that the buffer need not grow while it is written.
    @inlinable
    static func respCommandCapacity<each Argument: RESPArgument>(_ name: String, _ arguments: repeat each Argument) -> Int {
        var bytes = 32 + name.utf8.count
        for argument in repeat each arguments { bytes += argument.respByteCount + 24 }
        return bytes
    }

    /// Writes the command of `name` and one argument.
    @inlinable
    mutating func writeRESPCommand(_ name: String, _ first: some RESPArgument) {
        writeRESPHeader(UInt8(ascii: "*"), 2)
        writeRESPBulk(name)
        writeRESPBulk(first)
    }

    /// Writes the command of `name` and two arguments.
    @inlinable
    mutating func writeRESPCommand(_ name: String, _ first: some RESPArgument, _ second: some RESPArgument) {
        writeRESPHeader(UInt8(ascii: "*"), 3)
        writeRESPBulk(name)
        writeRESPBulk(first)
        writeRESPBulk(second)
    }

    /// Writes the command of `name` and `arguments`: a RESP array of bulk strings.
    @inlinable
    mutating func writeRESPCommand<each Argument: RESPArgument>(_ name: String, _ arguments: repeat each Argument) {
        var count = 1
        for _ in repeat each arguments { count += 1 }
        writeRESPHeader(UInt8(ascii: "*"), count)
        writeRESPBulk(name)
        for argument in repeat each arguments { writeRESPBulk(argument) }
    }
}

/// One command, encoded once as a RESP array of bulk strings, ready to be written.
///
///     let set = RedisCommand("SET", "greeting", "hello", "PX", 60_000)
///     let get = RedisCommand("MGET", arguments: ["a", "b", "c"])
///
/// The arguments are written into the command's buffer as it is made (no array of arguments
/// in between); sending it copies the buffer's bytes into the connection's write buffer once.
public struct RedisCommand: Sendable, CustomStringConvertible {
    /// The command's name, as given (for messages and logs; never the arguments, which may
    /// be secrets).
    public let name: String
    /// The encoded command.
    public private(set) var encoded: ByteBuffer
    /// The hash slot a cluster client sends the command to, when set; otherwise the slot of
    /// the command's first key (see ``keySlot``). A client of one server ignores it.
    public var slot: RedisHashSlot?

    @usableFromInline static let allocator = ByteBufferAllocator()

    /// A command of `name` and the arguments, each written as a bulk string.
    ///
    /// Inlinable, so that a caller's call is specialised for its arguments' types: no
    /// protocol dispatch per argument.
    @inlinable
    public init<each Argument: RESPArgument>(_ name: String, _ arguments: repeat each Argument) {
        var buffer = Self.allocator.buffer(capacity: ByteBuffer.respCommandCapacity(name, repeat each arguments))
        buffer.writeRESPCommand(name, repeat each arguments)
        self.init(name: name, encoded: buffer)
    }

    /// A command of `name` and one argument (the same as the variadic form, written so that
    /// the compiler specialises it fully: a pack's elements are copied through their types'
    /// value witnesses where the types are not known).
    @inlinable
    public init(_ name: String, _ first: some RESPArgument) {
        var buffer = Self.allocator.buffer(capacity: 56 + name.utf8.count + first.respByteCount)
        buffer.writeRESPCommand(name, first)
        self.init(name: name, encoded: buffer)
    }

    /// A command of `name` and two arguments (the variadic form, specialised).
    @inlinable
    public init(_ name: String, _ first: some RESPArgument, _ second: some RESPArgument) {
        var buffer = Self.allocator.buffer(capacity: 80 + name.utf8.count + first.respByteCount + second.respByteCount)
        buffer.writeRESPCommand(name, first, second)
        self.init(name: name, encoded: buffer)
    }

    /// A command of `name` whose encoding is `encoded`.
    @usableFromInline
    init(name: String, encoded: ByteBuffer) {
        self.name = name
        self.encoded = encoded
    }

    /// A command of `name` followed by each element of `arguments`.
    public init<Arguments: Collection>(_ name: String, arguments: Arguments) where Arguments.Element: RESPArgument {
        self.init(name, argumentCount: arguments.count) { writer in
            for argument in arguments { writer.append(argument) }
        }
    }

    /// A command of `name` and `argumentCount` arguments, which `write` appends.
    ///
    /// - Precondition: `write` appends exactly `argumentCount` arguments.
    public init(_ name: String, argumentCount: Int, _ write: (inout ArgumentWriter) -> Void) {
        var writer = ArgumentWriter(buffer: Self.allocator.buffer(capacity: 64 + name.utf8.count + 32 * argumentCount))
        writer.buffer.writeRESPHeader(UInt8(ascii: "*"), argumentCount + 1)
        writer.buffer.writeRESPBulk(name)
        write(&writer)
        precondition(writer.count == argumentCount, "RedisCommand \(name): \(writer.count) arguments written, \(argumentCount) declared")
        self.name = name
        self.encoded = writer.buffer
    }

    /// Appends the arguments of a command as it is made.
    public struct ArgumentWriter {
        var buffer: ByteBuffer
        var count = 0

        /// Appends one argument.
        public mutating func append(_ argument: some RESPArgument) {
            buffer.writeRESPBulk(argument)
            count += 1
        }
    }

    /// The command's name.
    public var description: String { name }

    /// The slot a cluster client sends the command to: ``slot`` when set, else the slot of its
    /// first key, which is its first argument but for `EVAL`, `EVALSHA`, `FCALL` and their
    /// read-only forms (the first key after the key count), `MEMORY USAGE` and `OBJECT`
    /// (the second argument); `nil` for commands without keys (`PING`, `INFO`, `CLUSTER`,
    /// `SCRIPT`, `SCAN`, …), which go to any primary.
    public var keySlot: RedisHashSlot? {
        if let slot { return slot }
        let upper = upperCasedName
        let keyIndex: Int
        switch upper {
        case "EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO":
            guard let count = argument(2), let keys = Int(String(decoding: count, as: UTF8.self)), keys > 0 else { return nil }
            keyIndex = 3
        case "MEMORY", "OBJECT":
            keyIndex = 2
        case "PING", "INFO", "CLUSTER", "SCRIPT", "FUNCTION", "SCAN", "KEYS", "RANDOMKEY", "DBSIZE", "FLUSHALL", "FLUSHDB",
             "COMMAND", "CONFIG", "CLIENT", "HELLO", "AUTH", "SELECT", "TIME", "ECHO", "MULTI", "EXEC", "DISCARD", "WAIT",
             "READONLY", "READWRITE", "ASKING", "LASTSAVE", "SAVE", "BGSAVE", "BGREWRITEAOF", "ROLE", "DEBUG", "SLOWLOG",
             "LATENCY", "ACL", "PUBLISH", "SUBSCRIBE", "PSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "QUIT", "RESET":
            return nil
        default:
            keyIndex = 1
        }
        return argument(keyIndex).map { RedisHashSlot(key: $0) }
    }

    /// Whether the command only reads keys, so that a replica may answer it (see
    /// ``RedisClient/ClusterConfiguration/readFrom``): the reads of strings, hashes, lists,
    /// sets and sorted sets, `EXISTS`, `TYPE`, the TTL queries, and the read-only forms of
    /// `EVAL`, `EVALSHA` and `FCALL`.
    public var isReadOnly: Bool {
        Self.readOnlyNames.contains(upperCasedName)
    }

    /// The name in capitals (upper-cased only when it holds a lower-case letter).
    private var upperCasedName: String {
        name.utf8.contains(where: { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") }) ? name.uppercased() : name
    }

    private static let readOnlyNames: Set<String> = [
        "GET", "MGET", "STRLEN", "GETRANGE", "SUBSTR", "EXISTS", "TYPE", "TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME",
        "HGET", "HMGET", "HGETALL", "HEXISTS", "HLEN", "HKEYS", "HVALS", "HSTRLEN", "HRANDFIELD", "HSCAN",
        "LRANGE", "LLEN", "LINDEX", "LPOS", "SMEMBERS", "SISMEMBER", "SMISMEMBER", "SCARD", "SRANDMEMBER", "SSCAN",
        "ZRANGE", "ZRANGEBYSCORE", "ZRANGEBYLEX", "ZREVRANGE", "ZREVRANGEBYSCORE", "ZREVRANGEBYLEX", "ZSCORE", "ZMSCORE",
        "ZCARD", "ZCOUNT", "ZLEXCOUNT", "ZRANK", "ZREVRANK", "ZSCAN", "ZRANDMEMBER",
        "EVAL_RO", "EVALSHA_RO", "FCALL_RO",
    ]

    /// Every argument (the name first), as slices of the encoding.
    func argumentSlices() -> [ByteBuffer] {
        var slices: [ByteBuffer] = []
        walkArguments { _, offset, length in
            if let slice = encoded.getSlice(at: encoded.readerIndex + offset, length: length) { slices.append(slice) }
            return true
        }
        return slices
    }

    /// Calls `body` with the index, offset (from the reader index) and length of each argument
    /// of the encoding in turn, until it returns `false`.
    private func walkArguments(_ body: (Int, Int, Int) -> Bool) {
        let view = encoded.readableBytesView
        var position = view.startIndex
        func header() -> Int? {
            position = view.index(after: position)
            var value = 0
            while position < view.endIndex, view[position] != UInt8(ascii: "\r") {
                value = value * 10 + Int(view[position] &- UInt8(ascii: "0"))
                position = view.index(after: position)
            }
            guard position < view.endIndex else { return nil }
            position = view.index(position, offsetBy: 2)
            return value
        }
        guard let count = header() else { return }
        for index in 0..<count {
            guard position < view.endIndex, let length = header(), position + length <= view.endIndex else { return }
            if !body(index, position - view.startIndex, length) { return }
            position = view.index(position, offsetBy: length + 2)
        }
    }

    /// The bytes of argument `index` (the name is argument 0), read back from the encoding.
    func argument(_ index: Int) -> ByteBufferView? {
        var found: ByteBufferView?
        walkArguments { current, offset, length in
            guard current == index else { return true }
            let view = encoded.readableBytesView
            found = view[(view.startIndex + offset)..<(view.startIndex + offset + length)]
            return false
        }
        return found
    }
}
