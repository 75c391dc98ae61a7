import CTroveSystem
public import Foundation

extension FileSystemStore {
    /// Which system calls a file store makes where platforms differ.
    ///
    /// On Linux the store's own calls are openat2 (paths that cannot leave the root or follow a
    /// link), renameat2 with `RENAME_NOREPLACE` (if-absent writes), open-file-description locks
    /// (per-key locks shared with other processes) and statx (birth times). Every other platform
    /// takes the portable POSIX calls: a path walked one component at a time with `O_NOFOLLOW`,
    /// `link` then `unlink`, record locks (`F_SETLKW`) behind a process-wide mutex, and
    /// `fstatat`. ``portable`` forces those on Linux too, so that tests run the whole contract and
    /// the crash tests through them; `Sources/CTroveSystem/include/trove_system.h` says what each
    /// fallback gives up.
    @_spi(Testing)
    public enum SystemCalls: Sendable {
        /// The platform's own calls (the portable ones on every platform but Linux).
        case native
        /// The portable POSIX calls, on every platform.
        case portable

        var cValue: trove_calls_t {
            switch self {
            case .native: TROVE_CALLS_NATIVE
            case .portable: TROVE_CALLS_PORTABLE
            }
        }
    }

    /// Opens (and by default creates) a file store rooted at `root` that makes the system calls
    /// `systemCalls` chooses; otherwise the same as ``init(root:configuration:clock:)``.
    ///
    /// A portable store takes record locks. On Linux it opens a root only while no writer there
    /// uses the shared mutexes of local file systems (it fails with
    /// ``StoreError/Code/unavailable`` then), and native stores join its record locks while it has
    /// the root open; its per-key locks are only as strong as record locks (see ``SystemCalls``).
    @_spi(Testing)
    public convenience init(
        root: URL, configuration: Configuration = Configuration(), clock: WallClock = .system, systemCalls: SystemCalls
    ) throws {
        try self.init(root: root, configuration: configuration, clock: clock, usesOpenat2: nil, systemCalls: systemCalls)
    }

    /// Which per-key lock this store's writers use: `"shared mutexes"` or `"record locks"`.
    @_spi(Testing)
    public var keyLockKind: String {
        lock.kind == .sharedMutexes ? "shared mutexes" : "record locks"
    }

    /// How many times this store took a key's lock over from a writer that died holding it.
    @_spi(Testing)
    public var keyLockRecoveries: Int { lock.recoveries }

    /// Whether a writer other than this store has the store's root open: another store, or a
    /// child process's inherited copy of one's lock file that its exec has not yet closed.
    @_spi(Testing)
    public var hasOtherWriters: Bool {
        get throws {
            let result = trove_lock_table_has_other_writers(lockFD)
            guard result >= 0 else { throw SystemCallError.last("fcntl(F_OFD_GETLK)", ".trove/lock") }
            return result == 1
        }
    }

    /// Takes `key`'s lock and never releases it, for a test process that is killed holding it.
    @_spi(Testing)
    public func takeKeyLockAndKeepIt(for key: StoreKey) throws {
        try performing(.write, key) { try lock.takeAndKeep(for: key) }
    }
}
