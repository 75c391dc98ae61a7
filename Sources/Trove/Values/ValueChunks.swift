public import Foundation
import Synchronization

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

    /// The bytes at `offsets` of the value these chunks make up, in chunks of at most the
    /// original size: chunks before the range are read and dropped, and no chunk after it is
    /// read.
    public func slice(_ offsets: Range<Int64>) -> ValueChunks {
        let makeSource = makeNext
        return ValueChunks {
            let source = makeSource()
            var position: Int64 = 0
            return ChunkSource {
                while position < offsets.upperBound {
                    guard let chunk = try await source.next() else { return nil }
                    let start = position
                    position += Int64(chunk.count)
                    let lower = Swift.max(start, offsets.lowerBound), upper = Swift.min(position, offsets.upperBound)
                    if lower < upper {
                        let first = chunk.startIndex + Int(lower - start)
                        return Data(chunk[first..<(first + Int(upper - lower))])
                    }
                }
                return nil
            }
        }
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
///
/// What the store holds open for the stream (a file descriptor, a connection) is released when
/// the chunks have been read to the end, when ``close()`` is called, or when the last copy of
/// the stream is dropped, whichever comes first. ``KeyValueStore/withReadStream(_:chunkSize:options:_:)``
/// closes it when its body returns or throws.
public struct StreamedEntry: Sendable {
    /// The entry's metadata, read when the value was opened.
    public let metadata: EntryMetadata
    /// The value's bytes, in chunks.
    public let chunks: ValueChunks
    /// Releases what the store holds for this stream; `nil` when it holds nothing.
    public let closer: StreamCloser?

    /// Creates a streamed entry.
    ///
    /// - Parameters:
    ///   - metadata: The entry's metadata.
    ///   - chunks: The value's bytes.
    ///   - closer: What releases the store's resources early. Defaults to `nil`, for streams
    ///     that hold none (or release them when dropped).
    public init(metadata: EntryMetadata, chunks: ValueChunks, closer: StreamCloser? = nil) {
        self.metadata = metadata
        self.chunks = chunks
        self.closer = closer
    }

    /// The same stream with other metadata (for layers that relabel keys or dates).
    public func withMetadata(_ metadata: EntryMetadata) -> StreamedEntry {
        StreamedEntry(metadata: metadata, chunks: chunks, closer: closer)
    }

    /// The same stream with its chunks transformed (for layers that decode or check them); the
    /// closer still releases the store's resources.
    public func withChunks(_ chunks: ValueChunks, metadata: EntryMetadata? = nil) -> StreamedEntry {
        StreamedEntry(metadata: metadata ?? self.metadata, chunks: chunks, closer: closer)
    }

    /// Releases what the store holds open for this stream. Reading the chunks afterwards throws
    /// a ``StoreError``. Calling it again does nothing.
    public func close() async {
        await closer?.close()
    }
}

/// Releases a stream's resources once, early: the action runs at the first ``close()``, and
/// never again.
public final class StreamCloser: Sendable {
    private let action: Mutex<(@Sendable () async -> Void)?>

    /// Creates a closer that runs `action` at the first ``close()``.
    public init(_ action: @escaping @Sendable () async -> Void) {
        self.action = Mutex(action)
    }

    /// Runs the action, if it has not run yet.
    public func close() async {
        let taken = action.withLock { action in
            defer { action = nil }
            return action
        }
        await taken?()
    }

    /// Whether ``close()`` has been called.
    public var isClosed: Bool { action.withLock { $0 == nil } }
}

extension ValueChunks {
    /// The chunks of `source`, checked against `options.expectedSize` as they pass: the
    /// sequence throws ``StoreError/Code/invalidArgument`` as soon as the bytes exceed the
    /// expected size, or at the end when they fall short, so a store writing them stores
    /// nothing. Without an expected size the chunks pass unchecked.
    ///
    /// For stores that stream values in, and for layers that hand the store transformed chunks
    /// (and so cannot pass the expected size on).
    public init<Source: AsyncSequence & Sendable>(
        _ source: Source, checkedAgainst options: WriteOptions, key: StoreKey, store: String
    ) where Source.Element == Data {
        self.init {
            var iterator = source.makeAsyncIterator()
            var total: Int64 = 0
            return ChunkSource {
                guard let chunk = try await iterator.next() else {
                    try options.checkSize(soFar: total, isComplete: true, key: key, store: store)
                    return nil
                }
                total += Int64(chunk.count)
                try options.checkSize(soFar: total, isComplete: false, key: key, store: store)
                return chunk
            }
        }
    }
}
