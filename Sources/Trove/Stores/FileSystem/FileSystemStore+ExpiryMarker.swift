import CTroveSystem
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether any value file may carry an expiry, so that listing can skip a `statx` per file.
///
/// A value file with an expiry has its owner-execute bit set, which only a `statx` of the file
/// shows. A store keeps the file `.trove/expiring` from the moment before its first expiring
/// value file is created: while it is absent, no file has an expiry and a listing takes each
/// file's type from the directory entry alone. `.trove/format` says the store keeps that marker;
/// a store made before it existed (no `.trove/format`) is taken to hold expiring entries.
///
/// Races: the marker is made before the expiring scratch file, and so before its rename into
/// place, and a listing looks for the marker again after each batch: if it appeared meanwhile,
/// the batch's keys are checked one by one. Once made, the marker stays.
extension FileSystemStore {
    /// Exists once an entry with an expiry may have been written.
    static let expiryMarker = ".trove/expiring"
    /// Exists in stores that keep ``expiryMarker``.
    static let formatMarker = ".trove/format"

    /// Whether `errno` says the process may not write here (permissions, a read-only mount).
    static func deniesWriting(_ errno: Int32) -> Bool { errno == EACCES || errno == EPERM || errno == EROFS }

    /// Whether a store being opened may hold expiring entries, marking an older store as such.
    ///
    /// - Parameters:
    ///   - createdLock: Whether this opening created `.trove/lock`: no store was here before.
    ///   - canWrite: Whether the markers can be made.
    static func mayHoldExpiringEntries(rootFD: Int32, createdLock: Bool, canWrite: Bool) -> Bool {
        if faccessat(rootFD, expiryMarker, F_OK, AT_SYMLINK_NOFOLLOW) == 0 { return true }
        if faccessat(rootFD, formatMarker, F_OK, AT_SYMLINK_NOFOLLOW) == 0 { return false }
        guard canWrite else { return true }
        // Not new and without the format marker: made by an older version, or being made by
        // another process right now. Either way, assume expiring entries (the safe side).
        if !createdLock, !createMarker(rootFD, expiryMarker) { return true }
        _ = createMarker(rootFD, formatMarker)
        return !createdLock
    }

    private static func createMarker(_ rootFD: Int32, _ path: String) -> Bool {
        let fd = openat(rootFD, path, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return false }
        _ = trove_close(fd)
        return true
    }

    /// Makes the expiry marker before the first expiring value file of this store.
    func markExpiringEntries() throws {
        if mayHoldExpiringEntries.load(ordering: .acquiring) { return }
        let fd = openat(rootFD, Self.expiryMarker, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SystemCallError.last("openat", Self.expiryMarker) }
        _ = trove_close(fd)
        if configuration.durability.syncsToDisk {
            // The marker must survive a power loss that the expiring file survives.
            let directory = openat(rootFD, ".trove", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard directory >= 0 else { throw SystemCallError.last("openat", ".trove") }
            defer { _ = trove_close(directory) }
            guard fsync(directory) == 0 else { throw SystemCallError.last("fsync", ".trove") }
        }
        lock.noteExpiringEntries()
        mayHoldExpiringEntries.store(true, ordering: .releasing)
    }

    /// Whether a value file may carry an expiry now: with shared mutexes a load of the flag that
    /// every writer shares, else one `faccessat` until the marker is seen.
    ///
    /// A writer notes the marker before it renames its first expiring file into place, under
    /// that key's lock: a call made under the same key's lock after that rename sees it.
    func expiringEntriesMayExist() -> Bool {
        if mayHoldExpiringEntries.load(ordering: .acquiring) { return true }
        if let shared = lock.expiringEntriesMayExist {
            if shared { mayHoldExpiringEntries.store(true, ordering: .releasing) }
            return shared
        }
        guard faccessat(rootFD, Self.expiryMarker, F_OK, AT_SYMLINK_NOFOLLOW) == 0 else { return false }
        mayHoldExpiringEntries.store(true, ordering: .releasing)
        return true
    }

    /// Whether `key` holds a live value at `now` (for keys listed before an expiry marker appeared).
    func holdsLiveValue(_ key: StoreKey, now: Date) throws -> Bool {
        let location = EntryLocation(key)
        guard let file = try openValueFile(location) else { return false }
        _ = trove_close(file.fd)
        guard file.status.mode & UInt32(S_IXUSR) != 0 else { return true }
        guard let entry = try openEntry(location, now: now) else { return false }
        _ = trove_close(entry.fd)
        return true
    }
}
