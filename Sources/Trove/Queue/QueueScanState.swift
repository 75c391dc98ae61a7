import Foundation

/// Where a consumer's scan of the queue stands: the keys of the last page not yet tried (those
/// read ahead with their entries), where the listing resumes, and the elements seen under
/// another consumer's lease, with when that lease runs out.
///
/// A page holds 256 keys: enough that listing is rare, few enough that the file store takes in
/// a page's worth of changes (a lease and an acknowledgement per element, an enqueue or so
/// beside) from its change log instead of reading the queue's directory again. Its entries are
/// read a short window at a time, just before they are tried, so that what was read is seldom
/// stale when several consumers share the queue.
struct ScanState: Sendable {
    static let pageSize = 256
    static let readWindow = 64

    /// An element to try: its key, and its entry as it was read ahead (`.some(nil)`: it was
    /// gone), or `nil` when it must be read (an element met again once its lease ran out, or
    /// not read ahead).
    struct Candidate: Sendable {
        let key: StoreKey
        let entry: StoreEntry??
    }

    /// A window of listed keys to read ahead, in the page it was taken from.
    struct Window {
        let page: Int
        let range: Range<Int>
        let keys: [StoreKey]
    }

    var keys: [StoreKey] = []
    var entries: [StoreEntry??] = []
    /// Counts the pages listed, so that a window read for an older page is dropped.
    var page = 0
    var next = 0
    var cursor: ListCursor?
    var deferred: [StoreKey: Date] = [:]
    /// No entry of `deferred` is due before this (it may be earlier than the earliest).
    var nextDue = Date.distantFuture

    /// The next element to try: one whose lease has run out first, else the next listed one.
    mutating func nextCandidate(at now: Date) -> Candidate? {
        if nextDue <= now {
            if let due = deferred.filter({ $0.value <= now }).min(by: { $0.key < $1.key })?.key {
                deferred[due] = nil
                return Candidate(key: due, entry: nil)
            }
            nextDue = deferred.values.min() ?? .distantFuture
        }
        while next < keys.count {
            let candidate = Candidate(key: keys[next], entry: entries[next])
            entries[next] = nil
            next += 1
            if deferred[candidate.key] == nil { return candidate }
        }
        return nil
    }

    /// The keys to read ahead: the window from the next key, if that one was not read yet.
    func windowToRead() -> Window? {
        guard next < keys.count, entries[next] == nil else { return nil }
        let range = next..<min(next + Self.readWindow, keys.count)
        return Window(page: page, range: range, keys: Array(keys[range]))
    }

    /// Keeps the entries read for `window`, unless another page was listed meanwhile.
    mutating func fill(_ window: Window, with read: [StoreEntry?]) {
        guard window.page == page else { return }
        for (index, entry) in zip(window.range, read) where index >= next { entries[index] = .some(entry) }
    }

    mutating func refill(with keys: [StoreKey], next cursor: ListCursor?) {
        self.keys = keys
        entries = Array(repeating: nil, count: keys.count)
        page += 1
        next = 0
        self.cursor = cursor
    }

    mutating func `defer`(_ key: StoreKey, until date: Date) {
        deferred[key] = date
        nextDue = min(nextDue, date)
    }

    /// Stops remembering `key` (an element acknowledged).
    mutating func forget(_ key: StoreKey) {
        deferred[key] = nil
    }

    /// Makes `key` among the next keys tried, read again first (an element given back, or one
    /// whose lease failed on a stale read).
    mutating func remember(_ key: StoreKey) {
        `defer`(key, until: .distantPast)
    }
}
