import CTroveSystem
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed system call: which call, on which path, and the `errno` it set.
///
/// Becomes the ``StoreError/underlying`` of the error a file store throws.
public struct SystemCallError: Error, Sendable, CustomStringConvertible {
    /// The system call, such as `renameat2`.
    public let call: String
    /// The path it was given, relative to the store's root.
    public let path: String
    /// The `errno` value.
    public let errno: Int32

    /// `call(path): strerror (errno N)`.
    public var description: String {
        "\(call)(\(path)): \(String(cString: strerror(errno))) (errno \(errno))"
    }

    /// Captures the calling thread's current `errno`.
    static func last(_ call: String, _ path: String) -> SystemCallError {
        SystemCallError(call: call, path: path, errno: trove_errno())
    }

    /// The store error this failure becomes.
    func storeError(_ operation: StoreOperation, key: StoreKey?, store: String) -> StoreError {
        let (code, hint, retryable): (StoreError.Code, String, Bool) = switch errno {
        case ENOSPC, EDQUOT: (.outOfSpace, "the file system is full; free space and retry", true)
        case EACCES, EPERM: (.permissionDenied, "the process may not access this path", false)
        case EROFS: (.readOnly, "the file system is mounted read-only", false)
        case ELOOP, EXDEV: (.permissionDenied, "a symbolic link, a mount point or a foreign file lies on the path; file stores never follow links", false)
        case EMFILE, ENFILE: (.unavailable, "too many open files", true)
        case ENOMEM: (.unavailable, "the kernel is out of memory", true)
        case EIO: (.io, "the device reported an input/output error", false)
        default: (.io, "the system call failed", false)
        }
        return StoreError(code, operation: operation, key: key, store: store,
                          message: "\(call) failed on '\(path)': \(hint)", underlying: self, isRetryable: retryable)
    }
}
