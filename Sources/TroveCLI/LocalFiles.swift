import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Trove

/// The local files a command reads or writes, checked before the store is touched: a missing
/// file, a directory where a file belongs or one the user may not read or write is a mistake in
/// the command (exit 2, with the reason), never a failure of the store.
enum LocalFile {
    /// Throws unless `path` names a file this process may read.
    static func checkReadable(_ path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CommandFailure(.invalidInput, "cannot read '\(path)': there is no such file")
        }
        if isDirectory.boolValue {
            throw CommandFailure(.invalidInput, "cannot read '\(path)': it is a directory")
        }
        if access(path, R_OK) != 0 {
            throw CommandFailure(.invalidInput, "cannot read '\(path)': \(reason(errno))")
        }
    }

    /// The chunks of the file at `path`, after ``checkReadable(_:)``.
    static func chunks(of path: String) throws -> FileChunks {
        try checkReadable(path)
        do {
            return try FileChunks(contentsOf: URL(fileURLWithPath: path))
        } catch let error as StoreError {
            throw CommandFailure(.invalidInput, error.message)
        }
    }

    /// The whole contents of the file at `path`, after ``checkReadable(_:)``.
    static func contents(of path: String) throws -> Data {
        try checkReadable(path)
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw CommandFailure(.storageFailure, "cannot read '\(path)': \(StoreErrorReport.describe(error))")
        }
    }

    /// Throws unless a file can be written at `path`: its directory exists and may be written,
    /// and `path` is not a directory.
    static func checkWritable(_ path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw CommandFailure(.invalidInput, "cannot write '\(path)': it is a directory")
        }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CommandFailure(.invalidInput, "cannot write '\(path)': there is no directory '\(directory)'")
        }
        // The file is written beside its destination and renamed over it: the directory must be writable.
        if access(directory, W_OK) != 0 {
            throw CommandFailure(.invalidInput, "cannot write '\(path)': its directory '\(directory)': \(reason(errno))")
        }
    }

    /// Writes `data` to the file at `path` atomically (a temporary file renamed into place),
    /// after ``checkWritable(_:)``.
    static func write(_ data: Data, to path: String) throws {
        try checkWritable(path)
        do {
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw CommandFailure(.storageFailure, "cannot write '\(path)': \(StoreErrorReport.describe(error))")
        }
    }

    /// The system's words for `code`, in lower case: "permission denied".
    static func reason(_ code: Int32) -> String {
        let text = String(cString: strerror(code))
        return text.prefix(1).lowercased() + text.dropFirst()
    }
}
