public import Foundation

/// The bytes of a local file (or of any readable file handle) as chunks, read as they are asked
/// for, so that a large file is never held whole in memory.
///
///     try await store.set(contentsOf: try FileChunks(contentsOf: videoURL), for: "videos/intro")
///
/// Each chunk is read on the calling task's thread: a read of up to 1 MiB from a local file is
/// shorter than a hop to another thread (see ``FileSystemStore`` for the measurements).
public struct FileChunks: AsyncSequence, Sendable {
    public typealias Element = Data
    public typealias Failure = any Error

    private let handle: FileHandle
    private let name: String
    private let chunkSize: Int

    /// Opens the file at `url` for reading.
    ///
    /// - Parameters:
    ///   - url: A local file.
    ///   - chunkSize: The largest chunk, in bytes. Defaults to 1 MiB.
    /// - Throws: ``StoreError`` with code ``StoreError/Code/invalidArgument`` when the file is
    ///   missing or is a directory, ``StoreError/Code/permissionDenied`` when it cannot be read.
    public init(contentsOf url: URL, chunkSize: Int = 1 << 20) throws {
        let path = url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw StoreError(.invalidArgument, operation: .write, store: "local file",
                             message: "cannot read '\(path)': there is no such file")
        }
        guard !isDirectory.boolValue else {
            throw StoreError(.invalidArgument, operation: .write, store: "local file",
                             message: "cannot read '\(path)': it is a directory")
        }
        do {
            self.handle = try FileHandle(forReadingFrom: url)
        } catch {
            throw StoreError(.permissionDenied, operation: .write, store: "local file",
                             message: "cannot open '\(path)' for reading", underlying: error)
        }
        self.name = path
        self.chunkSize = Swift.max(1, chunkSize)
    }

    /// Reads from an open file handle (standard input, a pipe) until its end.
    ///
    /// - Parameters:
    ///   - handle: The handle to read; the caller keeps ownership and closes it.
    ///   - name: What to call it in messages, such as `standard input`.
    ///   - chunkSize: The largest chunk, in bytes. Defaults to 1 MiB.
    public init(reading handle: FileHandle, name: String, chunkSize: Int = 1 << 20) {
        self.handle = handle
        self.name = name
        self.chunkSize = Swift.max(1, chunkSize)
    }

    /// Reads the next chunk.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let source: FileChunks

        /// The next chunk, or `nil` at the end of the file.
        public mutating func next() async throws -> Data? {
            try Task.checkCancellation()
            let chunk: Data?
            do {
                chunk = try source.handle.read(upToCount: source.chunkSize)
            } catch {
                throw StoreError(.io, operation: .write, store: "local file",
                                 message: "cannot read \(source.name)", underlying: error)
            }
            guard let chunk, !chunk.isEmpty else { return nil }
            return chunk
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(source: self) }
}
