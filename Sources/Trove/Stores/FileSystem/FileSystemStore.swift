import CTroveSystem
public import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A store that keeps one file per key under a root directory.
///
/// The key `users/alice` is the file `users.d/alice` under the root: every segment but the last
/// is a directory with the suffix `.d`, so a key can be a value and a prefix at once (`a` is the
/// file `a`, `a/b` lives in `a.d/`). Characters and lengths a file name cannot hold are encoded
/// reversibly (see the file-name rules below); listing gives back the original keys.
///
///     let store = try FileSystemStore(root: URL(filePath: "/var/lib/app/data"))
///     try await store.set(Data("hello".utf8), for: "greetings/en")
///
/// **Atomicity.** A write goes to a scratch file in `.trove/tmp` under the root (the same file
/// system), then is renamed into place, so a reader sees the old value or the new one, never a
/// torn value, even if the writer dies mid-write. Conditional writes and deletes check and act
/// under a per-key lock that holds across processes, so two processes doing compare-and-swap on
/// one key lose no update. On a local file system the lock is a robust process-shared mutex in
/// `.trove/locks`, which every writer maps (no system call unless another writer holds it); on
/// NFS and other file systems not known to share mapped pages, an open-file-description lock on
/// `.trove/lock`. The writers of one store always agree on which.
///
/// **Durability.** With ``Durability/fsync`` every write syncs the file and then its directory
/// before returning; with ``Durability/buffered`` (the default) the kernel writes back later,
/// which survives a crash of the process but not of the machine.
///
/// **Safety.** Keys never leave the root: paths are opened with `openat2` and
/// `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS` (or one component at a time with `O_NOFOLLOW` where
/// the kernel lacks `openat2`), so a symbolic link planted inside the root is refused with
/// ``StoreError/Code/permissionDenied``, never followed.
///
/// **Files.** Each value file starts with a 40-byte header (format tag, ETag, expiry, time of
/// the write by the store's clock) followed by the value. The ETag changes on every write. The
/// modification date is the time in the header. Creation dates come from the file's birth time
/// (`statx`), where the file system keeps one: since a write replaces the file, it is the time of
/// the entry's last write for keys that were overwritten (the date a write returns is the store's
/// clock at the write, which the kernel's birth time may differ from by its clock's granularity). Expired entries are invisible at once;
/// ``reclaimExpired()`` deletes their files and removes scratch files left by crashed writers.
///
/// **Threads.** Small values are read and written on the calling task's thread: a few system
/// calls cost less than a hop to another thread. Values larger than 1 MiB, fsync, and directory
/// walks run on a small pool of dedicated threads, so they never hold up Swift's cooperative pool:
/// ``Configuration/blockingPool``, by default ``BlockingPool/fileStores``. A write or delete takes
/// its key's lock on the calling thread only when the lock is free (a non-blocking try); when
/// another task or process holds it, the wait for it and the rest of the operation move to that
/// pool.
///
/// **Links.** Paths never pass through a symbolic link: reading or writing a key whose path
/// meets one fails with ``StoreError/Code/permissionDenied``. A delete of a key whose file name
/// holds a planted link removes the link, never what it points to.
///
/// **Listing pages and cursors.** A ``ListCursor`` of this store is a position in key order
/// (the name of the last element returned), not a snapshot: it stays valid indefinitely, across
/// calls, processes and restarts of the same store. The next page holds the live names strictly
/// after the cursor's name in byte order, as they are when that page is read, so a key written
/// after the cursor was issued shows up in a later page if and only if it sorts after the cursor.
/// A page costs a `statx` of each directory it visits, a binary search and the page itself: the
/// store keeps each directory's decoded, sorted entries (up to 65,536 of them from where the
/// listing is; a larger directory is read in windows, each one pass over it that keeps only the
/// next smallest names, so a listing's memory does not grow with the directory). On a local
/// file system every writer notes the names it adds and removes in a change log beside the
/// shared key locks, and a page takes those changes into the kept entries instead of reading a
/// changing directory again (a durable queue's); a change that no writer noted (another
/// program's) shows at once when it is the only one, and within three seconds when it hides
/// behind noted ones. Elsewhere the entries are kept while the directory's change time stays as
/// it was (see `DirectorySnapshots` for why a directory changed within the last three seconds is
/// then read again for every page). ``list(_:pageSize:)`` walks the directories once instead.
/// While no entry has ever had an expiry (`.trove/expiring` absent), a listing without metadata
/// reads only the directories, not each file's status.
///
/// **Read-only access.** A store that this process may only read (no write permission, or a
/// read-only mount) opens all the same, as long as `.trove` exists: reads and listings work;
/// writes fail with ``StoreError/Code/permissionDenied`` or ``StoreError/Code/readOnly``.
///
/// **File names.** `%` is written `%25`, a leading `.` is written `%2E` (names starting with `.`
/// are Trove's own or foreign and are ignored), and the `.` of a trailing `.d` is written `%2E`.
/// A name over 255 bytes is shortened to a readable head, `%#`, and 40 hexadecimal digits of its
/// SHA-256; the full key is kept in the file.
///
/// Capabilities: persistence, conditional writes and deletes, expiration, creation date (where the
/// file system has birth times), streaming, sharing across processes, retention.
public final class FileSystemStore: KeyValueStore {
    /// How hard a write tries to survive a power loss.
    public struct Durability: Hashable, Sendable, CustomStringConvertible {
        private let syncs: Bool
        /// The file system decides when data reaches the disk (fast; survives a process crash).
        public static let buffered = Durability(syncs: false)
        /// Every write fsyncs the file and its directory before returning (survives power loss).
        public static let fsync = Durability(syncs: true)
        /// Whether writes fsync.
        public var syncsToDisk: Bool { syncs }
        /// `buffered` or `fsync`.
        public var description: String { syncs ? "fsync" : "buffered" }
    }

    /// Options of a file store.
    public struct Configuration: Hashable, Sendable {
        /// How hard writes try to survive a power loss. Defaults to ``Durability/buffered``.
        public var durability: Durability
        /// Whether to create the root directory (and its parents) if missing. Defaults to `true`.
        public var createsRoot: Bool
        /// The threads that run the store's blocking calls (values over 1 MiB, `fsync`, directory
        /// walks). Defaults to ``BlockingPool/fileStores``, shared by the file stores of the
        /// process; give a store a pool of its own when its waits must not delay the others.
        public var blockingPool: BlockingPool

        /// Creates a configuration.
        public init(durability: Durability = .buffered, createsRoot: Bool = true, blockingPool: BlockingPool = .fileStores) {
            self.durability = durability
            self.createsRoot = createsRoot
            self.blockingPool = blockingPool
        }
    }

    /// Values up to this size are read and written on the calling thread; larger ones on the
    /// blocking pool.
    static let inlineIOLimit = 1 << 20

    /// The root directory.
    public let root: URL
    /// The store's options.
    public let configuration: Configuration

    let clock: WallClock
    let rootFD: Int32
    let temporaryFD: Int32
    /// The lock file, open for reading and writing; -1 when the store may only be read.
    let lockFD: Int32
    /// Why this process may not write to the store (the failed open of the lock file), or `nil`.
    let writeRefusal: SystemCallError?
    /// Whether any value file may carry an expiry (see ``expiryMarker``); once true, stays true.
    let mayHoldExpiringEntries: Atomic<Bool>
    let lock: StripedLock
    let resolvesBeneath: Bool
    let hasBirthTimes: Bool
    let instanceID: UInt64
    let writeCounter = Atomic<UInt64>(0)
    /// The decoded, sorted entries of directories that listing pages read, while valid.
    let directorySnapshots: DirectorySnapshots
    /// The most items of one directory that a listing holds at once.
    let listingWindowCapacity: Int
    /// How many passes over a directory listings have made (for tests).
    let directoryPasses = Atomic<Int>(0)
    /// The platform's own system calls, or the portable ones (see ``SystemCalls``).
    let systemCalls: trove_calls_t

    /// Opens (and by default creates) a file store rooted at `root`.
    ///
    /// Creates `.trove/tmp` (scratch files) and `.trove/lock` (the lock file) under the root.
    ///
    /// - Parameters:
    ///   - root: The directory that holds the store; dedicate it to the store.
    ///   - configuration: Durability and creation options. Defaults to buffered writes and creating
    ///     the root.
    ///   - clock: The clock that decides expiry. Defaults to ``WallClock/system``.
    /// - Throws: ``StoreError`` with operation `open`: ``StoreError/Code/invalidArgument`` when
    ///   `root` is not a file URL or not a directory, ``StoreError/Code/permissionDenied`` or
    ///   ``StoreError/Code/readOnly`` when it cannot be used.
    public convenience init(root: URL, configuration: Configuration = Configuration(), clock: WallClock = .system) throws {
        try self.init(root: root, configuration: configuration, clock: clock, usesOpenat2: nil)
    }

    /// Opens a store; `usesOpenat2: false` forces the component-by-component path walk that
    /// kernels without openat2 get (for tests), `nil` probes the kernel; `snapshotSettleMargin`
    /// is how long a directory must be unchanged before listing pages trust its snapshot;
    /// `systemCalls` picks the platform's own calls or the portable ones; `usesSharedMutexes: false`
    /// makes the store lock keys as it would on a network file system (with record locks);
    /// `listingWindowCapacity` is the most items of one directory a listing holds at once.
    init(root: URL, configuration: Configuration, clock: WallClock, usesOpenat2: Bool?,
         snapshotSettleMargin: Int64 = DirectorySnapshots.settleMargin, systemCalls: SystemCalls = .native,
         usesSharedMutexes: Bool = true, listingWindowCapacity: Int = FileSystemListing.defaultWindowCapacity) throws {
        let calls = systemCalls.cValue
        guard root.isFileURL else {
            throw StoreError(.invalidArgument, operation: .open, store: "file \(root)",
                             message: "the root of a file store must be a file URL, not '\(root)'")
        }
        let path = root.standardizedFileURL.path
        let name = "file \(path)"
        func fail(_ error: SystemCallError) -> StoreError { error.storeError(.open, key: nil, store: name) }
        if configuration.createsRoot {
            // mkdir one level at a time, so that the failure names its errno.
            var prefix = ""
            for component in path.slashSeparatedParts(omittingEmptyParts: true) {
                prefix += "/" + component
                if mkdir(prefix, 0o755) != 0, errno != EEXIST {
                    let error = SystemCallError.last("mkdir", prefix)
                    if error.errno == ENOTDIR {
                        throw StoreError(.invalidArgument, operation: .open, store: name,
                                         message: "'\(prefix)' lies on the root's path but is not a directory", underlying: error)
                    }
                    throw fail(error)
                }
            }
        }
        let rootFD = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else {
            let error = SystemCallError.last("open", path)
            if error.errno == ENOENT || error.errno == ENOTDIR {
                throw StoreError(.invalidArgument, operation: .open, store: name,
                                 message: "the root '\(path)' is not an existing directory", underlying: error)
            }
            throw fail(error)
        }
        var opened: [Int32] = [rootFD]
        do {
            for directory in [".trove", ".trove/tmp"] where mkdirat(rootFD, directory, 0o755) != 0 && errno != EEXIST {
                let error = SystemCallError.last("mkdirat", directory)
                // A store that exists already can be read without write access.
                guard Self.deniesWriting(error.errno), faccessat(rootFD, directory, F_OK, AT_SYMLINK_NOFOLLOW) == 0 else { throw error }
            }
            let temporaryFD = openat(rootFD, ".trove/tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard temporaryFD >= 0 else { throw SystemCallError.last("openat", ".trove/tmp") }
            opened.append(temporaryFD)
            var createdLock = true
            var lockFD = openat(rootFD, ".trove/lock", O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
            if lockFD < 0, trove_errno() == EEXIST {
                createdLock = false
                lockFD = openat(rootFD, ".trove/lock", O_RDWR | O_NOFOLLOW | O_CLOEXEC)
            }
            var writeRefusal: SystemCallError?
            if lockFD < 0 {
                let error = SystemCallError.last("openat", ".trove/lock")
                guard Self.deniesWriting(error.errno) else { throw error }
                // Reads take no lock: without write access to the lock file the store only reads.
                writeRefusal = error
            } else {
                opened.append(lockFD)
            }
            self.writeRefusal = writeRefusal
            self.mayHoldExpiringEntries = Atomic(Self.mayHoldExpiringEntries(rootFD: rootFD, createdLock: createdLock,
                                                                            canWrite: writeRefusal == nil))

            let probe = trove_open_beneath(rootFD, ".trove", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0, calls)
            self.resolvesBeneath = probe >= 0 && usesOpenat2 != false
            if probe >= 0 { _ = trove_close(probe) }

            var rootStatus = trove_stat_t()
            self.hasBirthTimes = trove_statx(rootFD, ".trove", 0, &rootStatus, calls) == 0 && rootStatus.has_btime != 0

            self.root = URL(fileURLWithPath: path, isDirectory: true)
            self.configuration = configuration
            self.clock = clock
            self.rootFD = rootFD
            self.temporaryFD = temporaryFD
            self.lockFD = lockFD
            self.systemCalls = calls
            do {
                self.lock = try StripedLock(fileDescriptor: lockFD, rootFD: rootFD, calls: calls, mayUseMutexes: usesSharedMutexes)
            } catch let error as SystemCallError where error.errno == EPROTO || error.errno == ENOLCK {
                for fd in opened { _ = trove_close(fd) }
                let why = error.errno == EPROTO
                    ? "it is laid out for another build, C library or architecture, or it cannot be mapped here"
                    : "this file system does not share mapped memory with them (a network file system's client), "
                        + "or this process makes the portable system calls"
                throw StoreError(.unavailable, operation: .open, store: name,
                                 message: "other processes write this store through the shared lock table '.trove/locks', "
                                     + "which this process cannot share (\(why)); open it where they run, "
                                     + "or once they have closed it", underlying: error)
            }
            self.directorySnapshots = DirectorySnapshots(settleMargin: snapshotSettleMargin, changes: lock)
            self.listingWindowCapacity = max(1, listingWindowCapacity)
            var generator = SystemRandomNumberGenerator()
            self.instanceID = generator.next()
            // The marker may predate the lock table, which is made anew when no writer has it open.
            if mayHoldExpiringEntries.load(ordering: .relaxed) { lock.noteExpiringEntries() }
        } catch let error as SystemCallError {
            for fd in opened { _ = trove_close(fd) }
            throw fail(error)
        }
    }

    deinit {
        if lockFD >= 0 { _ = trove_close(lockFD) }
        _ = trove_close(temporaryFD)
        _ = trove_close(rootFD)
    }

    /// `file <root path>`.
    public var description: String { "file \(root.path)" }

    /// Persistence, conditional writes and deletes, expiration, creation date, streaming,
    /// sharing across processes and retention.
    public var capabilities: StoreCapabilities {
        var capabilities: StoreCapabilities = [.persistence, .conditionalWrites, .conditionalDeletes, .expiration,
                                               .streaming, .sharedAcrossProcesses, .retention, .distinctETagPerWrite,
                                               .modificationDate]
        if hasBirthTimes { capabilities.insert(.creationDate) }
        return capabilities
    }

    /// Runs `body`, turning system-call failures into store errors that name the key and store.
    func performing<T>(_ operation: StoreOperation, _ key: StoreKey?, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as SystemCallError {
            throw error.storeError(operation, key: key, store: description)
        } catch let error as StoreError {
            var copy = error.inStore(description, key: key)
            copy.operation = operation
            throw copy
        }
    }

    /// Like ``performing(_:_:_:)``, on the store's blocking pool; `CancellationError` when the
    /// task is cancelled before the pool started `body`, after running `cleanup` (which releases
    /// what `body` would have).
    func performingOnPool<T: Sendable>(
        _ operation: StoreOperation, _ key: StoreKey?, ifCancelledBeforeStart cleanup: (@Sendable () -> Void)? = nil,
        _ body: @escaping @Sendable () throws -> T
    ) async throws -> T {
        try await configuration.blockingPool.run({ [self] in try performing(operation, key, body) },
                                                 ifCancelledBeforeStart: cleanup)
    }
}
