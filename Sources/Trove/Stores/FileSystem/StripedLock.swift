import CTroveSystem
import Foundation

/// Mutual exclusion per key, between the tasks of this process and between processes.
///
/// Keys hash to one of 256 stripes. A stripe is an `NSLock` (for tasks of this process, which
/// share one open file description) plus an open-file-description lock on one byte of the
/// store's lock file (for other processes, and for other stores opened on the same root); with
/// portable calls, a record lock behind a process-wide mutex instead (see `trove_lock_byte`).
/// Critical sections are a few synchronous system calls and never suspend.
final class StripedLock: Sendable {
    static let stripeCount = 256

    private let locks: [NSLock]
    private let fileDescriptor: Int32
    private let calls: trove_calls_t

    /// Uses `fileDescriptor`, an open lock file the caller keeps open, for cross-process locks,
    /// through the system calls `calls` chooses.
    init(fileDescriptor: Int32, calls: trove_calls_t = TROVE_CALLS_NATIVE) {
        self.fileDescriptor = fileDescriptor
        self.calls = calls
        self.locks = (0..<Self.stripeCount).map { _ in NSLock() }
    }

    /// The stripe of `key`: FNV-1a of its bytes.
    static func stripe(of key: StoreKey) -> Int {
        var hash: UInt32 = 2_166_136_261
        for byte in key.rawValue.utf8 {
            hash = (hash ^ UInt32(byte)) &* 16_777_619
        }
        return Int(hash % UInt32(stripeCount))
    }

    /// Runs `body` while holding the stripe of `key`.
    func withLock<T>(for key: StoreKey, _ body: () throws -> T) throws -> T {
        let stripe = Self.stripe(of: key)
        let lock = locks[stripe]
        lock.lock()
        defer { lock.unlock() }
        guard trove_lock_byte(fileDescriptor, off_t(stripe), 1, calls) == 0 else {
            throw SystemCallError.last(calls == TROVE_CALLS_NATIVE ? "fcntl(F_OFD_SETLKW)" : "fcntl(F_SETLKW)", ".trove/lock")
        }
        defer { _ = trove_lock_byte(fileDescriptor, off_t(stripe), 0, calls) }
        return try body()
    }
}
