public import NIOCore

/// Commands encoded one after another into one buffer as they are appended: a pipeline whose
/// commands cost one buffer between them, where an array of ``RedisCommand``s costs one each.
///
///     var pipeline = RedisPipeline()
///     for key in keys { pipeline.append("GET", key) }
///     let replies = try await client.pipeline(pipeline)   // one reply per command, in order
///
/// A client of one server writes the buffer as it is; a cluster client splits it into its
/// commands and routes each by its key's slot, as the `pipeline` of an array of commands
/// does.
public struct RedisPipeline: Sendable {
    /// The commands' encodings, one after another.
    @usableFromInline var buffer: ByteBuffer
    /// Where each command starts in ``buffer`` (from its reader index), and its name.
    @usableFromInline var starts: [Int]
    @usableFromInline var names: [String]

    /// An empty pipeline with room for `capacity` bytes of commands before its buffer grows.
    public init(capacity: Int = 1024) {
        buffer = RedisCommand.allocator.buffer(capacity: capacity)
        starts = []
        names = []
    }

    /// The number of commands appended.
    public var count: Int { starts.count }

    /// Whether no command has been appended.
    public var isEmpty: Bool { starts.isEmpty }

    /// Appends the command of `name` and `arguments`, encoded straight into the pipeline's
    /// buffer.
    @inlinable
    public mutating func append<each Argument: RESPArgument>(_ name: String, _ arguments: repeat each Argument) {
        starts.append(buffer.writerIndex - buffer.readerIndex)
        names.append(name)
        buffer.reserveCapacity(minimumWritableBytes: ByteBuffer.respCommandCapacity(name, repeat each arguments))
        buffer.writeRESPCommand(name, repeat each arguments)
    }

    /// Appends the command of `name` and one argument (the variadic form, specialised).
    @inlinable
    public mutating func append(_ name: String, _ first: some RESPArgument) {
        starts.append(buffer.writerIndex - buffer.readerIndex)
        names.append(name)
        buffer.reserveCapacity(minimumWritableBytes: 56 + name.utf8.count + first.respByteCount)
        buffer.writeRESPCommand(name, first)
    }

    /// Appends the command of `name` and two arguments (the variadic form, specialised).
    @inlinable
    public mutating func append(_ name: String, _ first: some RESPArgument, _ second: some RESPArgument) {
        starts.append(buffer.writerIndex - buffer.readerIndex)
        names.append(name)
        buffer.reserveCapacity(minimumWritableBytes: 80 + name.utf8.count + first.respByteCount + second.respByteCount)
        buffer.writeRESPCommand(name, first, second)
    }

    /// Appends a command made beforehand.
    public mutating func append(_ command: RedisCommand) {
        starts.append(buffer.writerIndex - buffer.readerIndex)
        names.append(command.name)
        buffer.writeImmutableBuffer(command.encoded)
    }

    /// The commands, each a slice of the pipeline's buffer (for routing on a cluster).
    var commands: [RedisCommand] {
        starts.indices.map { index in
            let start = starts[index]
            let end = index + 1 < starts.count ? starts[index + 1] : buffer.readableBytes
            return RedisCommand(name: names[index], encoded: buffer.getSlice(at: buffer.readerIndex + start, length: end - start)!)
        }
    }
}

extension RedisPipeline {
    /// The pipeline's bytes, for tests of the encoding.
    package var encodedForTesting: ByteBuffer { buffer }
    /// The pipeline's commands, as a cluster client splits them, for tests.
    package var commandsForTesting: [RedisCommand] { commands }
}
