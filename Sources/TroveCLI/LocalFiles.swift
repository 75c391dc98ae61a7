import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The bytes of a local file or of standard input, as chunks for a streaming write.
///
/// Reads block the calling thread. That is acceptable here: `trove` runs one command on one
/// task, and the store does its own blocking work on its own threads.
struct InputChunks: AsyncSequence {
    typealias Element = Data
    typealias Failure = any Error

    /// The file being read.
    let handle: FileHandle
    /// The name shown in messages: the path, or "standard input".
    let name: String
    /// How many bytes each chunk holds at most.
    var chunkSize = 256 * 1024

    /// Standard input.
    static var standardInput: InputChunks {
        InputChunks(handle: .standardInput, name: "standard input")
    }

    /// Opens the file at `path` for reading.
    ///
    /// - Throws: ``CommandFailure`` with status 2 when the file cannot be opened or is a directory.
    static func opening(_ path: String) throws -> InputChunks {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw CommandFailure(.invalidInput, "cannot open '\(path)': \(SystemError.lastMessage())")
        }
        var status = stat()
        if fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR {
            close(descriptor)
            throw CommandFailure(.invalidInput, "cannot read '\(path)': it is a directory")
        }
        return InputChunks(handle: FileHandle(fileDescriptor: descriptor, closeOnDealloc: true), name: path)
    }

    /// Whether this is standard input and a terminal, so a person may be typing the value.
    var isInteractive: Bool {
        handle.fileDescriptor == STDIN_FILENO && isatty(STDIN_FILENO) == 1
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let source: InputChunks

        mutating func next() async throws -> Data? {
            try Task.checkCancellation()
            let chunk: Data?
            do {
                chunk = try source.handle.read(upToCount: source.chunkSize)
            } catch {
                throw CommandFailure(.storageFailure, "could not read \(source.name): \(error.localizedDescription)")
            }
            guard let chunk, !chunk.isEmpty else { return nil }
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(source: self) }
}

/// A local file written under a temporary name and renamed into place when complete, so that
/// a failed download never leaves a partial file where the complete one should be.
struct OutputFile {
    /// The path the caller asked for.
    let path: String
    private let temporaryPath: String
    private let handle: FileHandle

    /// Creates the temporary file beside `path`.
    ///
    /// - Throws: ``CommandFailure`` with status 2 when the directory cannot take a new file.
    init(creating path: String) throws {
        let url = URL(fileURLWithPath: path)
        let name = ".\(url.lastPathComponent).trove-\(UInt32.random(in: 0...UInt32.max))"
        let temporaryPath = url.deletingLastPathComponent().appendingPathComponent(name).path
        let descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard descriptor >= 0 else {
            throw CommandFailure(.invalidInput, "cannot create '\(path)': \(SystemError.lastMessage())")
        }
        self.path = path
        self.temporaryPath = temporaryPath
        self.handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: false)
    }

    /// Appends `bytes`.
    func write(_ bytes: Data) throws {
        do {
            try handle.write(contentsOf: bytes)
        } catch {
            throw CommandFailure(.storageFailure, "could not write '\(path)': \(error.localizedDescription)")
        }
    }

    /// Closes the file and renames it to ``path``, replacing what was there.
    func commit() throws {
        do {
            try handle.close()
        } catch {
            discard()
            throw CommandFailure(.storageFailure, "could not write '\(path)': \(error.localizedDescription)")
        }
        guard rename(temporaryPath, path) == 0 else {
            let message = SystemError.lastMessage()
            unlink(temporaryPath)
            throw CommandFailure(.storageFailure, "could not write '\(path)': \(message)")
        }
    }

    /// Closes and removes the temporary file; for cleanup after a failure.
    func discard() {
        try? handle.close()   // best-effort cleanup: the failure being handled is what gets reported
        unlink(temporaryPath)
    }
}

/// The text of `errno`.
enum SystemError {
    static func lastMessage() -> String {
        String(cString: strerror(errno))
    }
}
