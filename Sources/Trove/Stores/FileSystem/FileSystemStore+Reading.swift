import CTroveSystem
import Synchronization
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A value file opened for reading: its descriptor and status.
struct OpenedFile: Sendable {
    let fd: Int32
    let status: trove_stat_t
}

/// A value file opened for reading whose header has been read.
struct OpenedEntry {
    let fd: Int32
    let status: trove_stat_t
    let header: EntryFileHeader
    /// The value's length: the file less header and key trailer.
    let valueLength: Int
}

extension FileSystemStore {
    /// Reads the header of the file `name` in `directory`, or `nil` when there is no such file.
    ///
    /// - Throws: ``StoreError/Code/integrity`` when the file is not a Trove value file.
    func readHeader(directory: Int32, name: String, path: String) throws -> (header: EntryFileHeader, status: trove_stat_t)? {
        // O_NONBLOCK: a FIFO planted under the name opens at once; its status then refuses it.
        let fd = openat(directory, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            let error = SystemCallError.last("openat", path)
            if error.errno == ENOENT { return nil }
            throw error
        }
        defer { _ = trove_close(fd) }
        var status = trove_stat_t()
        guard trove_statx(fd, "", TROVE_AT_EMPTY_PATH, &status, systemCalls) == 0 else { throw SystemCallError.last("statx", path) }
        return (try readHeader(fd: fd, status: status, path: path), status)
    }

    /// What ``readHeaderOnly(directory:name:path:)`` found under a name.
    enum HeaderRead {
        /// No file.
        case missing
        /// A directory.
        case directory
        /// A value file with this header.
        case header(EntryFileHeader)
    }

    /// The header of the file `name` in `directory`, read without the file's status (an open,
    /// a read and a close): for a condition's check, which needs the version alone.
    ///
    /// - Throws: ``StoreError/Code/integrity`` for a file that is not a value file (another
    ///   kind of file, or a damaged header); the system call's error otherwise.
    func readHeaderOnly(directory: Int32, name: String, path: String) throws -> HeaderRead {
        // O_NONBLOCK: a FIFO planted under the name opens at once, and its read then fails.
        let fd = openat(directory, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            let error = SystemCallError.last("openat", path)
            if error.errno == ENOENT { return .missing }
            throw error
        }
        defer { _ = trove_close(fd) }
        do {
            return .header(try readHeader(fd: fd, path: path))
        } catch let error as SystemCallError {
            // The read tells the kind of file the status would have.
            switch error.errno {
            case EISDIR: return .directory
            case ESPIPE, EINVAL, EAGAIN: throw notAValueFile(path, "it is not a regular file")
            default: throw error
            }
        }
    }

    private func readHeader(fd: Int32, status: trove_stat_t, path: String) throws -> EntryFileHeader {
        guard status.mode & UInt32(S_IFMT) == UInt32(S_IFREG) else { throw notAValueFile(path, "it is not a regular file") }
        return try readHeader(fd: fd, path: path)
    }

    /// The header at the start of the open file `fd`.
    private func readHeader(fd: Int32, path: String) throws -> EntryFileHeader {
        try withUnsafeTemporaryAllocation(byteCount: EntryFileHeader.size, alignment: 8) { buffer in
            let count = trove_pread_full(fd, buffer.baseAddress, buffer.count, 0)
            guard count >= 0 else { throw SystemCallError.last("pread", path) }
            guard count == EntryFileHeader.size, let header = EntryFileHeader(bytes: UnsafeRawBufferPointer(buffer)) else {
                throw notAValueFile(path, "its header is missing or damaged")
            }
            return header
        }
    }

    func notAValueFile(_ path: String, _ reason: String) -> StoreError {
        StoreError(.integrity, operation: .read, store: description,
                   message: "'\(path)' is not a Trove value file: \(reason); was it written by another program?")
    }

    /// Opens the value file of `location` and reads its status, or returns `nil` when there is
    /// no such file. The caller closes the descriptor.
    func openValueFile(_ location: EntryLocation) throws -> OpenedFile? {
        let path = location.relativePath
        let fd = openBeneath(path, flags: O_RDONLY | O_NONBLOCK)
        guard fd >= 0 else {
            let error = SystemCallError.last("openat2", path)
            if error.errno == ENOENT || error.errno == ENOTDIR { return nil }
            throw error
        }
        var status = trove_stat_t()
        guard trove_statx(fd, "", TROVE_AT_EMPTY_PATH, &status, systemCalls) == 0 else {
            let error = SystemCallError.last("statx", path)
            _ = trove_close(fd)
            throw error
        }
        guard status.mode & UInt32(S_IFMT) == UInt32(S_IFREG) else {
            _ = trove_close(fd)
            throw notAValueFile(path, "it is not a regular file")
        }
        return OpenedFile(fd: fd, status: status)
    }

    /// Reads header and value of an opened file with one vectored read; `nil` when expired.
    func readEntry(_ file: OpenedFile, location: EntryLocation, now: Date) throws -> StoreEntry? {
        let path = location.relativePath
        let valueLength = Int(file.status.size) - EntryFileHeader.size - location.trailerLength
        guard valueLength >= 0 else { throw notAValueFile(path, "it is shorter than a header") }
        guard let buffer = malloc(max(1, valueLength)) else {
            throw StoreError(.unavailable, operation: .read, message: "cannot allocate \(valueLength) bytes for '\(path)'")
        }
        var owned = true
        defer { if owned { free(buffer) } }
        let header = try withUnsafeTemporaryAllocation(byteCount: EntryFileHeader.size, alignment: 8) { head -> EntryFileHeader in
            let count = trove_read2(file.fd, head.baseAddress, head.count, buffer, valueLength)
            guard count >= 0 else { throw SystemCallError.last("read", path) }
            guard count == EntryFileHeader.size + valueLength else {
                throw notAValueFile(path, "it ended after \(count) of \(EntryFileHeader.size + valueLength) bytes")
            }
            guard let header = EntryFileHeader(bytes: UnsafeRawBufferPointer(head)) else {
                throw notAValueFile(path, "its header is missing or damaged")
            }
            return header
        }
        if header.isExpired(at: now) { return nil }
        guard header.hasKeyTrailer == location.file.isShortened else {
            throw notAValueFile(path, "its header does not match its name")
        }
        if location.file.isShortened { try verifyTrailer(fd: file.fd, location: location, valueLength: valueLength) }
        owned = false
        let value = valueLength == 0 ? Data() : Data(bytesNoCopy: buffer, count: valueLength, deallocator: .free)
        if valueLength == 0 { free(buffer) }
        return StoreEntry(value: value, metadata: metadata(location.key, header: header, status: file.status,
                                                           size: Int64(valueLength)))
    }

    /// Opens the value file of `location` and reads its header, or returns `nil` when the key
    /// holds no live value. The caller closes the descriptor.
    func openEntry(_ location: EntryLocation, now: Date) throws -> OpenedEntry? {
        guard let file = try openValueFile(location) else { return nil }
        do {
            let path = location.relativePath
            let header = try readHeader(fd: file.fd, status: file.status, path: path)
            if header.isExpired(at: now) {
                _ = trove_close(file.fd)
                return nil
            }
            let valueLength = Int(file.status.size) - EntryFileHeader.size - location.trailerLength
            guard valueLength >= 0, header.hasKeyTrailer == location.file.isShortened else {
                throw notAValueFile(path, "it is shorter than its header says")
            }
            if location.file.isShortened { try verifyTrailer(fd: file.fd, location: location, valueLength: valueLength) }
            return OpenedEntry(fd: file.fd, status: file.status, header: header, valueLength: valueLength)
        } catch {
            _ = trove_close(file.fd)
            throw error
        }
    }

    /// Checks that a shortened file holds `location`'s key (and not a digest collision).
    private func verifyTrailer(fd: Int32, location: EntryLocation, valueLength: Int) throws {
        var stored = [UInt8](repeating: 0, count: location.key.byteCount)
        let offset = off_t(EntryFileHeader.size + valueLength)
        let count = stored.withUnsafeMutableBytes { trove_pread_full(fd, $0.baseAddress, $0.count, offset) }
        guard count == stored.count, stored.elementsEqual(location.key.rawValue.utf8) else {
            throw notAValueFile(location.relativePath, "its stored key is not the key asked for")
        }
    }

    /// Reads the trailer key of a shortened file `name` in `directory`, for listing.
    func readTrailerKey(directory: Int32, name: String) -> StoreKey? {
        let fd = openat(directory, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { _ = trove_close(fd) }
        var status = trove_stat_t()
        guard trove_statx(fd, "", TROVE_AT_EMPTY_PATH, &status, systemCalls) == 0, status.size >= UInt64(EntryFileHeader.size + 4) else { return nil }
        var lengthBytes = [UInt8](repeating: 0, count: 4)
        let end = off_t(status.size)
        guard lengthBytes.withUnsafeMutableBytes({ trove_pread_full(fd, $0.baseAddress, 4, end - 4) }) == 4 else { return nil }
        let length = Int(UInt32(lengthBytes[0]) | UInt32(lengthBytes[1]) << 8 | UInt32(lengthBytes[2]) << 16 | UInt32(lengthBytes[3]) << 24)
        guard length > 0, length <= StoreKey.maximumByteCount, Int(status.size) >= EntryFileHeader.size + 4 + length else { return nil }
        var keyBytes = [UInt8](repeating: 0, count: length)
        guard keyBytes.withUnsafeMutableBytes({ trove_pread_full(fd, $0.baseAddress, length, end - 4 - off_t(length)) }) == length,
              let string = String(validating: keyBytes, as: UTF8.self) else { return nil }
        return try? StoreKey(validating: string)
    }
}

/// Reads an opened value file in chunks; closes the file at the end, when dropped, or when
/// closed early by the stream's closer (after a read in progress, never during one).
final class FileChunkReader: @unchecked Sendable {
    // Unchecked: `offset` belongs to one iterator, which one task drives at a time; the
    // descriptor, which the closer may release from another task, is guarded by `state`.
    private struct State {
        var fd: Int32
        var reading = false
        var closeRequested = false
        var closedEarly = false
    }

    private let state: Mutex<State>
    private var offset: Int
    private let end: Int
    private let chunkSize: Int
    private let path: String
    /// Where chunks over 1 MiB are read: the store's blocking pool.
    private let pool: BlockingPool

    init(fd: Int32, valueLength: Int, chunkSize: Int, path: String, pool: BlockingPool) {
        self.state = Mutex(State(fd: fd))
        self.offset = EntryFileHeader.size
        self.end = EntryFileHeader.size + valueLength
        self.chunkSize = max(1, chunkSize)
        self.path = path
        self.pool = pool
    }

    deinit {
        state.withLock { state in
            if state.fd >= 0 { _ = trove_close(state.fd) }
            state.fd = -1
        }
    }

    /// Releases the file: now, or when the read in progress ends. Reading on throws.
    func closeEarly() {
        state.withLock { state in
            guard state.fd >= 0 else { return }
            if state.reading {
                state.closeRequested = true
            } else {
                _ = trove_close(state.fd)
                state.fd = -1
                state.closedEarly = true
            }
        }
    }

    func next() async throws -> Data? {
        let (offset, path) = (self.offset, self.path)
        let end = self.end
        let taken: Result<Int32?, StoreError> = state.withLock { state in
            if state.closedEarly || state.closeRequested {
                return .failure(StoreError(.invalidArgument, operation: .read,
                                           message: "the stream of '\(path)' was read after it was closed"))
            }
            guard state.fd >= 0, offset < end else {
                if state.fd >= 0 { _ = trove_close(state.fd) }
                state.fd = -1
                return .success(nil)
            }
            state.reading = true
            return .success(state.fd)
        }
        guard let fd = try taken.get() else { return nil }
        defer {
            state.withLock { state in
                state.reading = false
                if state.closeRequested, state.fd >= 0 {
                    _ = trove_close(state.fd)
                    state.fd = -1
                    state.closedEarly = true
                }
            }
        }
        let length = min(chunkSize, end - offset)
        let read: @Sendable () throws -> Data = {
            guard let buffer = malloc(length) else {
                throw StoreError(.unavailable, operation: .read, message: "cannot allocate \(length) bytes")
            }
            let count = trove_pread_full(fd, buffer, length, off_t(offset))
            guard count == length else {
                let error = SystemCallError.last("pread", path)
                free(buffer)
                if count < 0 { throw error }
                throw StoreError(.integrity, operation: .read, message: "'\(path)' ended early")
            }
            return Data(bytesNoCopy: buffer, count: length, deallocator: .free)
        }
        let chunk = length > FileSystemStore.inlineIOLimit ? try await pool.run(read) : try read()
        self.offset += length
        return chunk
    }
}
