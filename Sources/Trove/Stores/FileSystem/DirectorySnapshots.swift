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

/// Which items of a directory a window holds: those whose names start with `prefix`, sort after
/// `after` (with `containing`, also the directories whose key prefix `after` starts with, so
/// that a walk from a cursor inside one descends into it), and do not start with `skipping`.
struct WindowFilter: Sendable {
    let prefix: String
    let after: String?
    let containing: Bool
    let skipping: String?

    func selects(_ name: String, isDirectory: Bool) -> Bool {
        guard name.utf8.starts(with: prefix.utf8) else { return false }
        if let skipping, name.utf8.starts(with: skipping.utf8) { return false }
        guard let after else { return true }
        if StoreKey.utf8Precedes(after, name) { return true }
        return containing && isDirectory && after.utf8.starts(with: name.utf8)
    }
}

/// Sorted items of one directory, from where `after` says (all of them when `nil`) up to the
/// last item, or to the end of the directory when `reachesEnd`.
struct DirectoryWindow: Sendable {
    let items: [DirectoryItem]
    let reachesEnd: Bool
    /// The filter the window was read with (its skipping part always `nil` when kept).
    let filter: WindowFilter
    /// False when a shortened directory's name could not be read yet: not to be kept.
    let isComplete: Bool

    /// Whether this window holds every item that a walk reading with `wanted` needs first: the
    /// items that filter selects, up to this window's last item (or to the end).
    func covers(_ wanted: WindowFilter) -> Bool {
        guard wanted.prefix.utf8.starts(with: filter.prefix.utf8) else { return false }
        if let after = filter.after {
            // From an earlier position on, the window holds everything after it; directories
            // that hold the new position but sort before the old one hold the old one too.
            guard let wantedAfter = wanted.after, !StoreKey.utf8Precedes(wantedAfter, after),
                  filter.containing || !wanted.containing else { return false }
        }
        if reachesEnd { return true }
        guard let last = items.last else { return false }
        return wanted.after.map { StoreKey.utf8Precedes($0, last.name) } ?? true
    }
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
/// A directory larger than a listing's window is kept as the window last read (see
/// `FileSystemListing`). At most ``capacity`` directories and ``itemCapacity`` items are kept;
/// the cache is emptied when it is full.
final class DirectorySnapshots: Sendable {
    /// How long a directory must have been unchanged before its snapshot is trusted: more than
    /// the coarsest timestamp granule of the file systems in use (FAT's two seconds) plus a tick.
    static let settleMargin: Int64 = 3_000_000_000

    /// The most directories kept.
    static let capacity = 64

    /// The most items kept over all directories; the cache is emptied when a window would pass it.
    static let itemCapacity = 131_072

    private struct Snapshot {
        let inode: UInt64
        let changeSeconds: Int64
        let changeNanoseconds: UInt32
        let window: DirectoryWindow
    }

    private struct State {
        var snapshots: [String: Snapshot] = [:]
        var itemCount = 0
    }

    private let state = Mutex(State())
    private let margin: Int64

    /// A cache that trusts directories unchanged for `settleMargin` nanoseconds (tests shorten it).
    init(settleMargin: Int64 = DirectorySnapshots.settleMargin) {
        self.margin = settleMargin
    }

    /// The kept window of the directory at `path` whose status is `status`, if one taken at that
    /// same status covers what `filter` selects first.
    func window(at path: String, status: trove_stat_t, covering filter: WindowFilter) -> DirectoryWindow? {
        state.withLock { state in
            guard let snapshot = state.snapshots[path] else { return nil }
            guard snapshot.inode == status.inode, snapshot.changeSeconds == status.ctime_sec,
                  snapshot.changeNanoseconds == status.ctime_nsec else {
                state.itemCount -= snapshot.window.items.count
                state.snapshots[path] = nil
                return nil
            }
            return snapshot.window.covers(filter) ? snapshot.window : nil
        }
    }

    /// Keeps `window` (replacing the directory's earlier one), read after `status` was taken at
    /// `statusTakenAt` (nanoseconds of the real-time clock), if the directory had settled by then.
    func keep(_ window: DirectoryWindow, at path: String, status: trove_stat_t, statusTakenAt: Int64) {
        guard Self.hasSettled(status, at: statusTakenAt, margin: margin), window.items.count <= Self.itemCapacity else { return }
        state.withLock { state in
            if let old = state.snapshots.removeValue(forKey: path) { state.itemCount -= old.window.items.count }
            if state.snapshots.count >= Self.capacity || state.itemCount + window.items.count > Self.itemCapacity {
                state.snapshots.removeAll(keepingCapacity: true)
                state.itemCount = 0
            }
            state.snapshots[path] = Snapshot(inode: status.inode, changeSeconds: status.ctime_sec,
                                             changeNanoseconds: status.ctime_nsec, window: window)
            state.itemCount += window.items.count
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
