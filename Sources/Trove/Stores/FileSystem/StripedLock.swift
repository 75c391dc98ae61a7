import CTroveSystem
import Foundation
import Synchronization

/// Mutual exclusion per key, between the tasks of this process and between processes.
///
/// Keys hash to one of 256 stripes. Which lock a stripe is depends on where the store lives
/// (`trove_lock_table_open` decides, once per store, and every writer of the store joins the
/// kind in use):
///
/// - **Shared mutexes** on a local file system (tmpfs, ext4, xfs, btrfs, ...): a robust,
///   process-shared `pthread_mutex_t` per stripe in `.trove/locks`, which every writer maps.
///   An uncontended take and release are two atomic instructions, no system call; a holder that
///   dies hands the mutex on (`EOWNERDEAD`), and the table is made anew whenever a writer opens
///   the store while no other has it open (so a lock left by a reboot never sticks).
/// - **Record locks** elsewhere (NFS and other file systems whose mapped pages other machines do
///   not see), and with portable calls: an `NSLock` (for tasks of this process, which share one
///   open file description) plus an open-file-description lock on one byte of `.trove/lock`; with
///   portable calls, a record lock behind a process-wide mutex instead (see `trove_lock_byte`).
///
/// Critical sections are a few synchronous system calls and never suspend.
///
/// **Waiting.** ``withLock(for:waiting:_:)`` with `waiting: false` never waits: it takes the lock
/// with non-blocking calls and returns `nil` without running the body when it is held elsewhere,
/// so that a task of Swift's cooperative pool can hand the wait to the blocking pool instead of
/// stalling a cooperative thread. With `waiting: true` it waits: only for threads that may
/// block. Either way the lock is taken and released on the calling thread, as both `NSLock`
/// and a mutex require.
final class StripedLock: Sendable {
    static let stripeCount = 256

    /// The kind of lock this store's writers use.
    enum Kind: Equatable {
        case sharedMutexes
        case recordLocks
    }

    private let locks: [NSLock]
    private let fileDescriptor: Int32
    /// The mapped mutex table, or `nil` with record locks. Its mutexes are process-shared and
    /// taken and released by one thread at a time; the pointer itself never changes.
    private nonisolated(unsafe) let table: OpaquePointer?
    /// How many times a stripe was found held elsewhere by a call that does not wait.
    private let contendedCount = Atomic<Int>(0)
    /// How many times a stripe was taken over from a holder that died holding it.
    private let recoveredCount = Atomic<Int>(0)
    private let calls: trove_calls_t

    /// Uses `fileDescriptor`, the store's lock file open for writing, which the caller keeps open
    /// for as long as this lock is used (-1: the store is only read, and nothing is locked), and
    /// decides between the mutex table `.trove/locks` under `rootFD` and record locks on the lock
    /// file. Mutexes only with native calls and `mayUseMutexes` (tests pass `false` to be the
    /// client of a network file system).
    init(fileDescriptor: Int32, rootFD: Int32, calls: trove_calls_t = TROVE_CALLS_NATIVE, mayUseMutexes: Bool = true) throws {
        self.fileDescriptor = fileDescriptor
        self.calls = calls
        var table: OpaquePointer?
        if fileDescriptor >= 0 {
            let allowed: Int32 = calls == TROVE_CALLS_NATIVE && mayUseMutexes ? 1 : 0
            guard trove_lock_table_open(fileDescriptor, rootFD, ".trove/locks", UInt32(Self.stripeCount), allowed, &table) >= 0 else {
                throw SystemCallError.last("open the lock table", ".trove/locks")
            }
        }
        self.table = table
        self.locks = table == nil ? (0..<Self.stripeCount).map { _ in NSLock() } : []
    }

    deinit {
        trove_lock_table_close(table)
    }

    /// Which kind of lock the store's writers use.
    var kind: Kind { table == nil ? .recordLocks : .sharedMutexes }

    /// How many non-waiting calls found their stripe held elsewhere (for tests).
    var contentions: Int { contendedCount.load(ordering: .relaxed) }

    /// How many times a stripe was taken over from a holder that died holding it (for tests).
    var recoveries: Int { recoveredCount.load(ordering: .relaxed) }

    /// The shared word that is 1 once an entry with an expiry may have been written to the store.
    private static let expiringWord: UInt32 = 0

    /// With shared mutexes, whether any writer of the store has said that an entry with an expiry
    /// may exist (one atomic load, no system call); `nil` with record locks, which share no memory.
    var expiringEntriesMayExist: Bool? {
        guard let table else { return nil }
        return trove_lock_table_load_word(table, Self.expiringWord) != 0
    }

    /// With shared mutexes, tells every writer of the store that an entry with an expiry may exist.
    func noteExpiringEntries() {
        guard let table else { return }
        trove_lock_table_store_word(table, Self.expiringWord, 1)
    }

    /// What a noted change did to a directory's names.
    enum Change: UInt32 {
        /// A value file was renamed into place (new, or replacing one of the same name).
        case added = 1
        /// A value file was removed.
        case removed = 2
        /// Anything else (a directory made or removed): readers of the directory read it again.
        case other = 3
    }

    /// A change read back from the log.
    struct NotedChange {
        let directory: UInt64
        let change: Change
        let name: String
    }

    /// The identity of a directory in the change log: FNV-1a (64 bits) of its path under the root.
    static func directoryIdentity(_ path: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in path.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash
    }

    /// Notes in the shared change log (with shared mutexes; nothing with record locks) that
    /// `change` happened to `name` in the directory at `path`. Called after the change, under
    /// the lock of the key it concerns.
    func note(_ change: Change, of name: String, in path: String) {
        guard let table else { return }
        var name = name
        name.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                trove_changes_note(table, Self.directoryIdentity(path), change.rawValue, chars.baseAddress, UInt32(chars.count))
            }
        }
    }

    /// The number of the last change noted, or `nil` with record locks (no log is kept).
    var lastChange: UInt64? {
        guard let table else { return nil }
        return trove_changes_head(table)
    }

    /// Change `number` of the log, or `nil` when the log no longer holds it intact.
    func change(_ number: UInt64) -> NotedChange? {
        guard let table else { return nil }
        var directory: UInt64 = 0, operation: UInt32 = 0, length: UInt32 = 0
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 256) { buffer -> NotedChange? in
            guard trove_changes_read(table, number, &directory, &operation, buffer.baseAddress, &length) == 1,
                  let change = Change(rawValue: operation) else { return nil }
            let bytes = UnsafeRawBufferPointer(start: buffer.baseAddress, count: Int(length))
            guard let name = String(validating: bytes.bindMemory(to: UInt8.self), as: UTF8.self) else { return nil }
            return NotedChange(directory: directory, change: change, name: name)
        }
    }

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
        if let table {
            return try withMutex(table, stripe: stripe, waiting: waiting, body)
        }
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

    /// Takes the stripe of `key`, waiting, and never releases it: for a test process that is
    /// killed while it holds a key's lock.
    func takeAndKeep(for key: StoreKey) throws {
        let stripe = Self.stripe(of: key)
        if let table {
            var recovered: Int32 = 0
            let result = trove_lock_table_lock(table, UInt32(stripe), 1, &recovered)
            guard result == 0 else { throw SystemCallError(call: "pthread_mutex_lock", path: ".trove/locks", errno: result) }
        } else {
            locks[stripe].lock()
            guard trove_lock_byte(fileDescriptor, off_t(stripe), 1, calls) == 0 else {
                throw SystemCallError.last("fcntl", ".trove/lock")
            }
        }
    }

    private func withMutex<T>(_ table: OpaquePointer, stripe: Int, waiting: Bool, _ body: () throws -> T) throws -> T? {
        var recovered: Int32 = 0
        let result = trove_lock_table_lock(table, UInt32(stripe), waiting ? 1 : 0, &recovered)
        if recovered != 0 { recoveredCount.add(1, ordering: .relaxed) }
        guard result == 0 else {
            if result == EBUSY, !waiting {
                contendedCount.add(1, ordering: .relaxed)
                return nil
            }
            throw SystemCallError(call: waiting ? "pthread_mutex_lock" : "pthread_mutex_trylock", path: ".trove/locks", errno: result)
        }
        defer { _ = trove_lock_table_unlock(table, UInt32(stripe)) }
        return try body()
    }
}
