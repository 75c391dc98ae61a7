public import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension KeyValueStore {
    /// Stores the contents of the local file at `url` under `key`, streaming it in chunks.
    ///
    /// - Parameters:
    ///   - url: The file to store.
    ///   - key: Where to store it.
    ///   - condition: When to write. Defaults to ``WriteCondition/always``.
    ///   - expiry: When the entry expires. Defaults to ``Expiry/never``.
    /// - Returns: The new entry's metadata.
    /// - Throws: ``StoreError``: ``StoreError/Code/invalidArgument`` when the file is missing or a
    ///   directory, the store's own errors otherwise.
    @discardableResult
    public func set(
        contentsOfFile url: URL, for key: StoreKey, condition: WriteCondition = .always, expiry: Expiry = .never
    ) async throws -> EntryMetadata {
        try await write(contentsOf: try FileChunks(contentsOf: url), for: key,
                        options: WriteOptions(condition: condition, expiry: expiry))
    }

    /// Writes the value under `key` into the local file at `url`, streaming it in chunks.
    ///
    /// The bytes go to a temporary file beside `url`, renamed over `url` once complete, so a
    /// failure never leaves a partial file where the complete one should be. The destination is
    /// checked before the value is read: a missing directory or one that cannot be written fails
    /// at once, whether or not the key holds a value.
    ///
    /// - Returns: The entry's metadata, or `nil` (and no file is touched) when the key holds no
    ///   value.
    /// - Throws: ``StoreError``: ``StoreError/Code/invalidArgument`` when the directory of `url`
    ///   does not exist or `url` is a directory, ``StoreError/Code/permissionDenied`` when the
    ///   directory or the file may not be written, ``StoreError/Code/io`` when writing fails
    ///   (a full disk), each with the system's reason; the store's own errors otherwise.
    @discardableResult
    public func read(_ key: StoreKey, intoFile url: URL) async throws -> EntryMetadata? {
        let path = url.path
        let directory = url.deletingLastPathComponent()
        func failure(_ code: StoreError.Code, _ message: String, _ cause: (any Error)? = nil) -> StoreError {
            StoreError(code, operation: .read, key: key, store: description, message: message, underlying: cause)
        }
        func systemFailure(_ what: String, errno code: Int32) -> StoreError {
            let reason = String(cString: strerror(code))
            return failure(code == EACCES || code == EPERM || code == EROFS ? .permissionDenied : .io, "\(what): \(reason)")
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw failure(.invalidArgument, "cannot write '\(path)': it is a directory")
        }
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw failure(.invalidArgument, "cannot write '\(path)': there is no directory '\(directory.path)'")
        }
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).trove-\(UUID().uuidString)")
        let descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard descriptor >= 0 else { throw systemFailure("cannot create a file in '\(directory.path)'", errno: errno) }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: false)
        do {
            defer { close(descriptor) }
            guard let entry = try await readStream(key) else {
                unlink(temporary.path)
                return nil
            }
            for try await chunk in entry.chunks { try handle.write(contentsOf: chunk) }
            guard rename(temporary.path, path) == 0 else {
                throw systemFailure("cannot move the downloaded file into '\(path)'", errno: errno)
            }
            return entry.metadata
        } catch {
            unlink(temporary.path)  // best-effort cleanup of the partial file
            if error is StoreError || error is CancellationError { throw error }
            throw failure(.io, "cannot write '\(path)'", error)
        }
    }
}
