import CTroveSystem
import Synchronization

/// One entry of a store directory, decoded: what listing sorts and pages over.
struct DirectoryItem: Sendable {
    /// The key (files) or the key prefix ending in `/` (directories).
    let name: String
    /// The name on disk.
    let diskName: String
    let isDirectory: Bool
}

/// A file store's cache of its directories' decoded, sorted entries, so that a listing page
/// costs a `statx` of the directory, a binary search and the page itself instead of reading and
/// sorting the whole directory again.
///
/// **Validity.** A snapshot is used only while the directory's inode and change time (`statx`,
/// nanoseconds) are those seen just before the directory was read: adding, removing or renaming
/// an entry changes the change time, so a changed directory is read again.
///
/// **Timestamp granules.** A file system stamps a change with a clock of limited resolution (a
/// kernel tick of up to 10 ms; a whole second or two on ext2/3 with small inodes, FAT or some
/// network file systems). A rename into the directory after it was read, but within the same
/// granule as the change seen, would leave the change time as it was, and a snapshot trusted then
/// would hide the new key. So a snapshot is kept only when the change time it was read at lies
/// more than ``settleMargin`` before the moment the directory was stat'ed: any later change is
/// stamped at or after that moment minus one granule, which cannot equal the old change time. A
/// directory changed more recently is read again for every page until it has been quiet for the
/// margin. (A wall clock set back by more than the margin between two pages defeats this; the
/// stale snapshot then lasts until the directory changes again.)
///
/// A stale snapshot can never resurrect a key either: a deletion changes the change time too.
/// At most ``capacity`` directories are kept; the cache is emptied when it is full.
final class DirectorySnapshots: Sendable {
    /// How long a directory must have been unchanged before its snapshot is trusted: more than
    /// the coarsest timestamp granule of the file systems in use (FAT's two seconds) plus a tick.
    static let settleMargin: Int64 = 3_000_000_000

    /// The most directories kept.
    static let capacity = 64

    private struct Snapshot {
        let inode: UInt64
        let changeSeconds: Int64
        let changeNanoseconds: UInt32
        let items: [DirectoryItem]
    }

    private let snapshots = Mutex<[String: Snapshot]>([:])
    private let margin: Int64

    /// A cache that trusts directories unchanged for `settleMargin` nanoseconds (tests shorten it).
    init(settleMargin: Int64 = DirectorySnapshots.settleMargin) {
        self.margin = settleMargin
    }

    /// The sorted items of the directory at `path` whose status is `status`, if a snapshot taken
    /// at that same status is kept.
    func items(at path: String, status: trove_stat_t) -> [DirectoryItem]? {
        snapshots.withLock { snapshots in
            guard let snapshot = snapshots[path] else { return nil }
            guard snapshot.inode == status.inode, snapshot.changeSeconds == status.ctime_sec,
                  snapshot.changeNanoseconds == status.ctime_nsec else {
                snapshots[path] = nil
                return nil
            }
            return snapshot.items
        }
    }

    /// Keeps `items`, read after `status` was taken at `statusTakenAt` (nanoseconds of the real-time
    /// clock), if the directory had settled by then.
    func keep(_ items: [DirectoryItem], at path: String, status: trove_stat_t, statusTakenAt: Int64) {
        guard Self.hasSettled(status, at: statusTakenAt, margin: margin) else { return }
        snapshots.withLock { snapshots in
            if snapshots.count >= Self.capacity, snapshots[path] == nil { snapshots.removeAll(keepingCapacity: true) }
            snapshots[path] = Snapshot(inode: status.inode, changeSeconds: status.ctime_sec,
                                       changeNanoseconds: status.ctime_nsec, items: items)
        }
    }

    /// Whether a directory whose change time is `status`'s, stat'ed at `now`, has been quiet for
    /// longer than the margin, so that no later change can carry the same change time.
    static func hasSettled(_ status: trove_stat_t, at now: Int64, margin: Int64 = settleMargin) -> Bool {
        let (seconds, overflow) = status.ctime_sec.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return false }
        return seconds + Int64(status.ctime_nsec) < now - margin
    }
}
