public import Foundation

/// A value read in chunks, one pass, without holding it whole in memory.
///
/// The sequence can be iterated once. Dropping the iterator before the end releases what the
/// store held open (a file descriptor, a connection) at once.
///
///     if let stream = try await store.readStream("videos/intro") {
///         for try await chunk in stream.chunks { try output.write(contentsOf: chunk) }
///     }
public struct ValueChunks: AsyncSequence, Sendable {
    public typealias Element = Data
    public typealias Failure = any Error

    private let makeNext: @Sendable () -> ChunkSource

    /// Creates a chunk sequence from a factory of chunk sources.
    ///
    /// `makeSource` is called once per iterator; each call to the source's `next` returns the
    /// next chunk or `nil` at the end.
    public init(_ makeSource: @escaping @Sendable () -> ChunkSource) {
        self.makeNext = makeSource
    }

    /// A sequence of the given chunks, for values already in memory.
    public init(chunksOf data: Data, chunkSize: Int) {
        let size = Swift.max(1, chunkSize)
        self.init {
            var offset = data.startIndex
            return ChunkSource {
                guard offset < data.endIndex else { return nil }
                let end = data.index(offset, offsetBy: size, limitedBy: data.endIndex) ?? data.endIndex
                defer { offset = end }
                return Data(data[offset..<end])
            }
        }
    }

    /// Produces the chunks one at a time.
    public struct ChunkSource {
        let next: () async throws -> Data?
        /// Wraps a closure that returns the next chunk, or `nil` at the end.
        public init(next: @escaping () async throws -> Data?) { self.next = next }
    }

    /// Iterates over the chunks.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let source: ChunkSource
        /// The next chunk, or `nil` at the end of the value.
        public mutating func next() async throws -> Data? {
            try Task.checkCancellation()
            return try await source.next()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(source: makeNext())
    }

    /// Reads every chunk and returns the whole value.
    public func collect() async throws -> Data {
        var result = Data()
        for try await chunk in self { result.append(chunk) }
        return result
    }
}

/// A value opened for reading in chunks: its metadata, and its bytes as a one-pass sequence.
public struct StreamedEntry: Sendable {
    /// The entry's metadata, read when the value was opened.
    public let metadata: EntryMetadata
    /// The value's bytes, in chunks.
    public let chunks: ValueChunks

    /// Creates a streamed entry.
    public init(metadata: EntryMetadata, chunks: ValueChunks) {
        self.metadata = metadata
        self.chunks = chunks
    }
}
