import CTroveSystem
import Foundation
import Synchronization

/// Mutual exclusion per key, between the tasks of this process and between processes.
///
/// Keys hash to one of 256 stripes. A stripe is an `NSLock` (for tasks of this process, which
/// share one open file description) plus an open-file-description lock on one byte of the
/// store's lock file (for other processes, and for other stores opened on the same root); with
/// portable calls, a record lock behind a process-wide mutex instead (see `trove_lock_byte`).
/// Critical sections are a few synchronous system calls and never suspend.
///
/// **Waiting.** ``withLock(for:waiting:_:)`` with `waiting: false` never waits: it takes both
/// locks with non-blocking calls (`NSLock.try()`, `F_OFD_SETLK`) and returns `nil` without
/// running the body when either is held elsewhere, so that a task of Swift's cooperative pool
/// can hand the wait to the blocking pool instead of stalling a cooperative thread. With
/// `waiting: true` it waits (`NSLock.lock()`, `F_OFD_SETLKW`): only for threads that may block.
/// Either way both locks are taken and released on the calling thread, as `NSLock` requires.
final class StripedLock: Sendable {
    static let stripeCount = 256

    private let locks: [NSLock]
    private let fileDescriptor: Int32
    /// How many times a stripe was found held elsewhere by a call that does not wait.
    private let contendedCount = Atomic<Int>(0)
    private let calls: trove_calls_t

    /// Uses `fileDescriptor`, an open lock file the caller keeps open, for cross-process locks,
    /// through the system calls `calls` chooses.
    init(fileDescriptor: Int32, calls: trove_calls_t = TROVE_CALLS_NATIVE) {
        self.fileDescriptor = fileDescriptor
        self.calls = calls
        self.locks = (0..<Self.stripeCount).map { _ in NSLock() }
    }

    /// How many non-waiting calls found their stripe held elsewhere (for tests).
    var contentions: Int { contendedCount.load(ordering: .relaxed) }

    /// The stripe of `key`: FNV-1a of its bytes.
    static func stripe(of key: StoreKey) -> Int {
        var hash: UInt32 = 2_166_136_261
        for byte in key.rawValue.utf8 {
            hash = (hash ^ UInt32(byte)) &* 16_777_619
        }
        return Int(hash % UInt32(stripeCount))
    }

    /// Runs `body` while holding the stripe of `key`, waiting for it.
    func withLock<T>(for key: StoreKey, _ body: () throws -> T) throws -> T {
        // With waiting, a stripe is always taken: the result is never nil.
        try withLock(for: key, waiting: true, body)!
    }

    /// Runs `body` while holding the stripe of `key`; without `waiting`, returns `nil` at once
    /// (body not run) when another task or process holds the stripe.
    func withLock<T>(for key: StoreKey, waiting: Bool, _ body: () throws -> T) throws -> T? {
        let stripe = Self.stripe(of: key)
        let lock = locks[stripe]
        if waiting {
            lock.lock()
        } else if !lock.try() {
            contendedCount.add(1, ordering: .relaxed)
            return nil
        }
        defer { lock.unlock() }
        if waiting {
            guard trove_lock_byte(fileDescriptor, off_t(stripe), 1, calls) == 0 else {
                throw SystemCallError.last(calls == TROVE_CALLS_NATIVE ? "fcntl(F_OFD_SETLKW)" : "fcntl(F_SETLKW)", ".trove/lock")
            }
        } else if trove_try_lock_stripe(fileDescriptor, off_t(stripe), calls) != 0 {
            let error = SystemCallError.last(calls == TROVE_CALLS_NATIVE ? "fcntl(F_OFD_SETLK)" : "fcntl(F_SETLK)", ".trove/lock")
            guard error.errno == EAGAIN else { throw error }
            contendedCount.add(1, ordering: .relaxed)
            return nil
        }
        defer { _ = trove_lock_byte(fileDescriptor, off_t(stripe), 0, calls) }
        return try body()
    }
}
