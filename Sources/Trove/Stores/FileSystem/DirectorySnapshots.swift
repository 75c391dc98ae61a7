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
        guard StoreKey.utf8HasPrefix(name, prefix) else { return false }
        if let skipping, StoreKey.utf8HasPrefix(name, skipping) { return false }
        guard let after else { return true }
        if StoreKey.utf8Precedes(after, name) { return true }
        return containing && isDirectory && after.utf8.starts(with: name.utf8)
    }
}

/// Sorted items of one directory, from where `after` says (all of them when `nil`) up to the
/// last item, or to the end of the directory when `reachesEnd`.
struct DirectoryWindow: Sendable {
    private(set) var items: [DirectoryItem]
    let reachesEnd: Bool
    /// The filter the window was read with (its skipping part always `nil` when kept).
    let filter: WindowFilter
    /// False when a shortened directory's name could not be read yet: not to be kept.
    let isComplete: Bool

    /// Makes `changes`: a name mapped to an item is there (added, or put in place of the item
    /// of that name), a name mapped to `nil` is not. Only names within the window's range are
    /// taken in: past its last item, a window that does not reach the end of the directory
    /// holds nothing.
    ///
    /// Each change is found by a binary search, and made in place where it can be: an item
    /// replaced moves nothing, and removed items go a run at a time (a queue's acknowledged
    /// elements are one run at the front). Only names that are new are merged in with a copy.
    /// So a large window that takes in a page's changes costs about those changes, not a
    /// comparison per item.
    mutating func apply(_ changes: [String: DirectoryItem?]) {
        let limit = reachesEnd ? nil : items.last?.name
        var removed: [String] = []
        var added: [DirectoryItem] = []
        for (name, item) in changes {
            if let item {
                guard filter.selects(name, isDirectory: false), limit.map({ StoreKey.utf8Precedes(name, $0) }) ?? true else { continue }
                added.append(item)
            } else {
                removed.append(name)
            }
        }
        var inserted: [DirectoryItem] = []
        for item in added {
            let index = position(of: item.name)
            if index < items.count, items[index].name == item.name {
                items[index] = item
            } else {
                inserted.append(item)
            }
        }
        var removals: [Int] = []
        for name in removed {
            let index = position(of: name)
            if index < items.count, items[index].name == name { removals.append(index) }
        }
        removals.sort()
        var end = removals.count
        while end > 0 {
            var start = end - 1
            while start > 0, removals[start - 1] == removals[start] - 1 { start -= 1 }
            items.removeSubrange(removals[start]...removals[end - 1])
            end = start
        }
        guard !inserted.isEmpty else { return }
        inserted.sort { StoreKey.utf8Precedes($0.name, $1.name) }
        var merged: [DirectoryItem] = []
        merged.reserveCapacity(items.count + inserted.count)
        var copied = 0
        for item in inserted {
            let index = position(of: item.name, from: copied)
            merged.append(contentsOf: items[copied..<index])
            merged.append(item)
            copied = index
        }
        merged.append(contentsOf: items[copied...])
        items = merged
    }

    /// The index of the first item that does not sort before `name`, from `low` on.
    private func position(of name: String, from low: Int = 0) -> Int {
        var low = low, high = items.count
        while low < high {
            let middle = (low + high) / 2
            if StoreKey.utf8Precedes(items[middle].name, name) { low = middle + 1 } else { high = middle }
        }
        return low
    }

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
/// **The change log.** Where the store's writers share the mutex table (local file systems), each
/// writer notes every name it renames into place or removes in a log in that table, under the
/// key's lock, after the change. A window records where the log stood before its directory was
/// read and takes in the noted changes of its directory at the next page, so a directory that
/// keeps changing is not read again for every page. The change time still tells when something
/// changed that no writer noted: with no noted change beside it, the window is read again at
/// once; behind noted changes it could hide, so a window that took in changes (or was read
/// unsettled) is read again a settle margin later at the latest. A change that cannot be
/// replayed (a directory made or removed, a shortened name), or a log that no longer holds every
/// change since the window was read, makes the next page read the directory.
///
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
        var changeSeconds: Int64
        var changeNanoseconds: UInt32
        var window: DirectoryWindow
        /// The key prefix of the directory's entries, to decode the names of noted changes.
        let prefix: String
        /// The last change of the shared log replayed into the window (`nil`: no log is kept).
        var position: UInt64?
        /// When (real-time clock, nanoseconds) the window must be read again however it looks:
        /// changes that no Trove writer noted (another program's) may hide behind noted ones.
        var trustedUntil: Int64

        func matches(_ status: trove_stat_t) -> Bool {
            changeSeconds == status.ctime_sec && changeNanoseconds == status.ctime_nsec
        }
    }

    private struct State {
        var snapshots: [String: Snapshot] = [:]
        var itemCount = 0

        mutating func drop(_ path: String) {
            if let old = snapshots.removeValue(forKey: path) { itemCount -= old.window.items.count }
        }
    }

    private let state = Mutex(State())
    private let margin: Int64
    /// The store's key lock, whose shared change log (with shared mutexes) says what every
    /// writer of the store changed in which directory since a window was read.
    private let changes: StripedLock?

    /// A cache that trusts directories unchanged for `settleMargin` nanoseconds (tests shorten it)
    /// and, where `changes` keeps a change log, replays the changes noted in it.
    init(settleMargin: Int64 = DirectorySnapshots.settleMargin, changes: StripedLock? = nil) {
        self.margin = settleMargin
        self.changes = changes?.kind == .sharedMutexes ? changes : nil
    }

    /// Where the change log stands: taken before a directory is read, and given to ``keep(_:at:prefix:status:statusTakenAt:position:)``.
    func position() -> UInt64? { changes?.lastChange }

    /// The kept window of the directory at `path` whose status is `status`, brought up to date
    /// with the changes noted since it was read, if it covers what `filter` selects first.
    ///
    /// Without a change log, a window is used only while the directory's change time is the one
    /// seen before it was read. With one, the window takes in every change noted for its
    /// directory; it is read again when the log no longer holds them all, when a change cannot
    /// be replayed (a directory made or removed, a shortened name), when the change time moved
    /// with no change noted (another program's), and at the latest a settle margin after it
    /// first took in a change or was read unsettled.
    func window(at path: String, status: trove_stat_t, covering filter: WindowFilter) -> DirectoryWindow? {
        state.withLock { state in
            guard var snapshot = state.snapshots[path] else { return nil }
            guard snapshot.inode == status.inode else {
                state.drop(path)
                return nil
            }
            guard let changes, let position = snapshot.position else {
                guard snapshot.matches(status) else {
                    state.drop(path)
                    return nil
                }
                return snapshot.window.covers(filter) ? snapshot.window : nil
            }
            let now = trove_realtime_ns()
            guard now <= snapshot.trustedUntil, let head = changes.lastChange, head >= position,
                  head - position <= UInt64(TROVE_CHANGE_LOG_RECORDS) else {
                state.drop(path)
                return nil
            }
            var noted = false
            if head > position {
                let identity = StripedLock.directoryIdentity(path)
                var present: [String: DirectoryItem?] = [:]
                for number in (position + 1)...head {
                    guard let change = changes.change(number) else {
                        state.drop(path)
                        return nil
                    }
                    guard change.directory == identity else { continue }
                    noted = true
                    let segment: String
                    switch (change.change, FileNameCodec.decodeFileName(change.name)) {
                    case (.other, _), (_, .shortened):
                        state.drop(path)
                        return nil
                    case (_, .foreign):
                        continue
                    case (_, .segment(let decoded)):
                        segment = decoded
                    }
                    let name = snapshot.prefix + segment
                    present[name] = change.change == .added
                        ? DirectoryItem(name: name, diskName: change.name, isDirectory: false) : .some(nil)
                }
                if !present.isEmpty {
                    let before = snapshot.window.items.count
                    // Out of the cache while it changes, so that its items are this copy's alone
                    // and change in place (it goes back below).
                    state.snapshots[path] = nil
                    snapshot.window.apply(present)
                    state.itemCount += snapshot.window.items.count - before
                }
                snapshot.position = head
            }
            if !snapshot.matches(status) {
                guard noted else {
                    state.drop(path)
                    return nil
                }
                snapshot.changeSeconds = status.ctime_sec
                snapshot.changeNanoseconds = status.ctime_nsec
                snapshot.trustedUntil = min(snapshot.trustedUntil, now + margin)
            }
            state.snapshots[path] = snapshot
            return snapshot.window.covers(filter) ? snapshot.window : nil
        }
    }

    /// Keeps `window` (replacing the directory's earlier one; `prefix` is the key prefix of its
    /// entries), read after `status` was taken at `statusTakenAt` (nanoseconds of the real-time
    /// clock) and after the change log stood at `position`. Without a change log only if the
    /// directory had settled by then; with one, always, to be read again a settle margin later
    /// if it had not.
    func keep(_ window: DirectoryWindow, at path: String, prefix: String, status: trove_stat_t, statusTakenAt: Int64,
              position: UInt64?) {
        guard window.items.count <= Self.itemCapacity else { return }
        let settled = Self.hasSettled(status, at: statusTakenAt, margin: margin)
        let position = changes == nil ? nil : position
        guard settled || position != nil else { return }
        // A window read in one pass was collected in an array of up to twice its size: keep a copy
        // of its own size.
        let window = window.items.capacity > window.items.count + window.items.count / 4
            ? DirectoryWindow(items: window.items.withUnsafeBufferPointer { Array($0) }, reachesEnd: window.reachesEnd,
                              filter: window.filter, isComplete: window.isComplete)
            : window
        state.withLock { state in
            state.drop(path)
            if state.snapshots.count >= Self.capacity || state.itemCount + window.items.count > Self.itemCapacity {
                state.snapshots.removeAll(keepingCapacity: true)
                state.itemCount = 0
            }
            state.snapshots[path] = Snapshot(inode: status.inode, changeSeconds: status.ctime_sec,
                                             changeNanoseconds: status.ctime_nsec, window: window, prefix: prefix,
                                             position: position, trustedUntil: settled ? .max : statusTakenAt + margin)
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
