import TroveS3Client

/// One element of a level of a delimiter listing: an object, or a sub-prefix that ends with
/// `/`.
struct S3LevelEntry: Sendable, Hashable {
    /// The full name: the object's key, or the prefix with its `/`.
    var name: String
    /// The object, or `nil` for a prefix.
    var object: S3ListedObject?

    var isPrefix: Bool { object == nil }

    /// The name as the server orders directory entries: a prefix without its `/`.
    var plainName: Substring { isPrefix ? name.dropLast() : Substring(name) }
}

/// One page of a level, as the server returned it.
struct S3LevelPage: Sendable {
    var entries: [S3LevelEntry]
    var nextContinuationToken: String?
}

/// Puts one level of a delimiter listing into byte order, whatever order the server gives it.
///
/// A server that keeps keys as files in directories (SeaweedFS) lists a level by entry name:
/// the file `a` and the directory `a` (the prefix `a/`) side by side, before `a-c`, although
/// `a-c` < `a/` in bytes. The merger holds each entry back until no later entry can sort
/// before it: the server's entries come in increasing name order (or, on a byte-order server,
/// increasing full-name order), so once a name `n` has been seen every later entry is greater
/// than `n`, and every pending entry not greater than `n` is ready. At the end of the level
/// every pending entry is ready. Memory: the pending entries of about one page.
struct S3LevelMerger: Sendable {
    private var pending: [S3LevelEntry] = []
    private var watermark: Substring?

    /// Takes a page of the level, in the server's order.
    mutating func add(_ entries: [S3LevelEntry]) {
        guard !entries.isEmpty else { return }
        for entry in entries {
            if watermark.map({ $0.utf8.lexicographicallyPrecedes(entry.plainName.utf8) }) ?? true { watermark = entry.plainName }
        }
        pending.append(contentsOf: entries)
        // Descending, so that the smallest is at the end.
        pending.sort { $1.name.utf8.lexicographicallyPrecedes($0.name.utf8) }
    }

    /// The smallest pending entry when no later entry can come before it (every entry when the
    /// level is `complete`), removed from the pending ones.
    mutating func next(complete: Bool) -> S3LevelEntry? {
        guard let smallest = pending.last else { return nil }
        if complete { return pending.removeLast() }
        guard let watermark, !watermark.utf8.lexicographicallyPrecedes(smallest.name.utf8) else { return nil }
        return pending.removeLast()
    }

    var isEmpty: Bool { pending.isEmpty }
}

/// A depth-first walk of the hierarchy under a prefix through delimiter listings, one level at
/// a time, merging each level's keys and prefixes into byte order and descending into each
/// prefix at its place: the keys come out in byte order with one level's page per depth in
/// memory, on servers that list each level by entry name.
struct S3HierarchyWalk: Sendable {
    /// Lists one page of a level: `(prefix, startAfter, continuationToken)`.
    typealias Fetch = @Sendable (_ prefix: String, _ startAfter: String?, _ token: String?) async throws -> S3LevelPage
    /// Whether any object's key starts with the prefix (a directory the server keeps after its
    /// last object went is no prefix of a key).
    typealias HoldsKeys = @Sendable (_ prefix: String) async throws -> Bool

    private struct Level: Sendable {
        var prefix: String
        var startAfter: String?
        var token: String?
        var fetched = false
        var complete = false
        var merger = S3LevelMerger()
    }

    private let fetch: Fetch
    private let holdsKeys: HoldsKeys?
    private let after: String?
    private let descends: Bool
    private var stack: [Level]
    /// How many listing requests the walk has sent.
    private(set) var requests = 0

    /// A walk of everything under `prefix` whose name is greater than `after` (the whole
    /// prefix when `nil`).
    ///
    /// - Parameter descends: Whether to walk into sub-prefixes and yield only keys (a flat
    ///   listing), or to yield the first level's keys and prefixes (a delimiter listing).
    ///   - holdsKeys: Checks each prefix a delimiter listing yields; `nil` to trust the server.
    init(prefix: String, after: String?, descends: Bool, fetch: @escaping Fetch, holdsKeys: HoldsKeys? = nil) {
        self.fetch = fetch
        self.holdsKeys = holdsKeys
        self.after = after
        self.descends = descends
        var levels: [Level] = []
        // Resuming inside sub-prefixes: a level for the prefix and for each ancestor of `after`
        // below it, each starting after the part of `after` that names its next level.
        let bytes = Array((after ?? "").utf8)
        var levelPrefix = prefix
        var start = prefix.utf8.count
        if let after, after.utf8.starts(with: prefix.utf8) {
            while true {
                let slash = descends ? bytes[start...].firstIndex(of: UInt8(ascii: "/")) : nil
                if let slash, slash + 1 < bytes.count {
                    levels.append(Level(prefix: levelPrefix,
                                        startAfter: Self.startAfter(bytes[..<slash], level: levelPrefix, itsOwnDirectory: false)))
                    levelPrefix = String(decoding: bytes[...slash], as: UTF8.self)
                    start = slash + 1
                } else {
                    var end = bytes.endIndex
                    if bytes.last == UInt8(ascii: "/") { end -= 1 }
                    levels.append(Level(prefix: levelPrefix,
                                        startAfter: Self.startAfter(bytes[..<end], level: levelPrefix, itsOwnDirectory: true)))
                    break
                }
            }
        } else {
            levels.append(Level(prefix: prefix, startAfter: nil))
        }
        // Deepest on top.
        self.stack = levels
    }

    /// Where a level's listing may start so that the server skips nothing the walk still needs,
    /// when the walk resumes after `name` (a name of the level, without a trailing `/`).
    ///
    /// A server that lists by entry name puts the directory `n` before `n-x`, so starting after
    /// `n-x` would skip `n/`, which comes after `n-x` in bytes. Every such directory's name is a
    /// prefix of `name` followed, in `name`, by a byte below `/` (or, with `itsOwnDirectory`, all
    /// of `name`: an ancestor being walked is not needed again); the listing starts before the
    /// shortest of them, and the walk drops what it gets again.
    static func startAfter(_ name: ArraySlice<UInt8>, level: String, itsOwnDirectory: Bool) -> String? {
        let levelLength = level.utf8.count
        var end = name.endIndex
        var index = name.startIndex + levelLength
        while index < name.endIndex {
            if name[index] < UInt8(ascii: "/") {
                end = index
                break
            }
            index += 1
        }
        if end == name.endIndex && !itsOwnDirectory {
            return String(decoding: name, as: UTF8.self)
        }
        guard end > name.startIndex + levelLength else { return nil }
        // Before the shortest such directory: its name without its last character.
        var candidate = String(decoding: name[name.startIndex..<end], as: UTF8.self)
        candidate.removeLast()
        return candidate.utf8.count > levelLength ? candidate : nil
    }

    /// The next entry in byte order, or `nil` at the end.
    mutating func next() async throws -> S3LevelEntry? {
        while let top = stack.indices.last {
            if let entry = stack[top].merger.next(complete: stack[top].complete) {
                if let after, !after.utf8.lexicographicallyPrecedes(entry.name.utf8) { continue }
                if entry.isPrefix && descends {
                    stack.append(Level(prefix: entry.name, startAfter: nil))
                    continue
                }
                if entry.isPrefix, let holdsKeys {
                    requests += 1
                    guard try await holdsKeys(entry.name) else { continue }
                }
                return entry
            }
            if stack[top].complete {
                stack.removeLast()
                continue
            }
            let level = stack[top]
            let page = try await fetch(level.prefix, level.fetched ? nil : level.startAfter, level.token)
            requests += 1
            stack[top].fetched = true
            stack[top].merger.add(page.entries)
            stack[top].token = page.nextContinuationToken
            stack[top].complete = page.nextContinuationToken == nil
        }
        return nil
    }
}
