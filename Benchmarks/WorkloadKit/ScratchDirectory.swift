public import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A directory that a benchmark creates for itself, with a unique name, and removes when done.
/// Benchmarks touch nothing outside the directories they create.
public struct ScratchDirectory: Sendable {
    /// The directory's path.
    public let path: String

    /// The directory as a file URL.
    public var url: URL { URL(fileURLWithPath: path, isDirectory: true) }

    /// The environment variable that names the directory benchmarks work in.
    public static let environmentVariable = "TROVE_BENCH_DIR"

    /// Where the benchmarks make their directories: `$TROVE_BENCH_DIR` if it is set, else
    /// `/dev/shm` (tmpfs) if it exists, else the temporary directory.
    public static func base(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let chosen = environment[environmentVariable], !chosen.isEmpty { return chosen }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: "/dev/shm", isDirectory: &isDirectory), isDirectory.boolValue {
            return "/dev/shm"
        }
        return FileManager.default.temporaryDirectory.path
    }

    /// Creates a new directory named `trove-<label>-XXXXXX` inside `base`.
    public static func make(in base: String = ScratchDirectory.base(), label: String) throws -> ScratchDirectory {
        var template = Array("\(base)/trove-\(label)-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else {
            let code = errno
            throw WorkloadError("cannot create a directory in \(base): \(String(cString: strerror(code))) (errno \(code))")
        }
        return ScratchDirectory(path: template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
    }

    /// The path of `name` inside this directory.
    public func appending(_ name: String) -> String { path + "/" + name }

    /// Removes `name` inside this directory and everything under it, if it exists.
    public func removeItem(_ name: String) throws {
        let item = appending(name)
        if FileManager.default.fileExists(atPath: item) { try FileManager.default.removeItem(atPath: item) }
    }

    /// Removes the directory and everything under it.
    public func remove() throws {
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
    }
}
