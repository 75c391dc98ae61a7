import CTroveSystem
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A depth-first walk of a file store's directories in byte-wise key order, producing listing
/// elements in batches.
///
/// Each directory is read once per walk, its entries decoded and sorted: a file sorts as its key,
/// a directory as its key prefix followed by `/`, which puts `a`, `a-c`, `a/b`, `a0` in byte order.
/// Files are checked with one `statx` each; the header is read only for files that may expire
/// (owner-execute bit) or when metadata was asked for.
final class FileSystemListing: @unchecked Sendable {
    // Unchecked: one listing iterator drives the walk, one batch at a time; a batch runs on a
    // pool thread while the iterator awaits it, so the state is never touched concurrently.

    private struct Frame {
        let fd: Int32
        let path: String
        /// The key prefix of the directory's entries (`""` at the root, `a/` in `a.d`).
        let prefix: String
        /// The window of the directory's sorted items being walked.
        var items: [DirectoryItem]
        var index: Int
        /// Whether `items` runs to the end of the directory; otherwise the items after the last
        /// one are read when the walk gets there.
        var reachesEnd: Bool
        /// Items that start with this are passed over in the next window (a common prefix listed).
        var skipping: String?
    }

    /// The most items of one directory that a walk holds at once (tests lower it): a larger
    /// directory is walked in windows, each read with a pass over the directory that keeps only
    /// the smallest names after the previous window.
    static let defaultWindowCapacity = 65_536

    private let store: FileSystemStore
    private let query: ListQuery
    private let windowCapacity: Int
    private let now: Date
    private let startAfter: String?
    private let snapshots: DirectorySnapshots?
    private var stack: [Frame] = []
    /// The storage of the last window walked past, reused for the next one, so that walking a
    /// large directory window by window does not allocate (and fragment) a new array each time.
    private var spare: [DirectoryItem] = []
    private var started = false
    private var lastCommonPrefix: String?

    /// A walk of `query` from just after `startAfter`; with `snapshots`, directories whose
    /// snapshot is still valid are not read again.
    init(store: FileSystemStore, query: ListQuery, startAfter: String?, now: Date, snapshots: DirectorySnapshots? = nil) {
        self.store = store
        self.windowCapacity = store.listingWindowCapacity
        self.query = query
        self.startAfter = startAfter
        self.now = now
        self.snapshots = snapshots
    }

    deinit {
        for frame in stack where frame.fd != store.rootFD { _ = trove_close(frame.fd) }
    }

    /// Whether the delimiter is `/`, so one directory holds the whole level.
    private var listsOneLevel: Bool { query.delimiterByte == UInt8(ascii: "/") }

    /// Up to `limit` more elements; fewer than `limit` means the walk is over.
    func nextBatch(limit: Int) throws -> [ListElement] {
        if !started {
            started = true
            try start()
        }
        var elements = try walk(limit: limit)
        while elements.count < limit && !stack.isEmpty {
            elements += try walk(limit: limit - elements.count)
        }
        return elements
    }

    /// Up to `limit` more elements, fewer when some turned out expired after the walk.
    private func walk(limit: Int) throws -> [ListElement] {
        // Without expiring entries, a file's directory entry is all a listing without metadata needs.
        let checksFiles = query.includesMetadata || store.expiringEntriesMayExist()
        var elements: [ListElement] = []
        elements.reserveCapacity(min(limit, 4_096))
        while elements.count < limit, !stack.isEmpty {
            let top = stack.count - 1
            if stack[top].index == stack[top].items.count, !stack[top].reachesEnd, let last = stack[top].items.last {
                try readNextWindow(of: top, after: last.name)
                continue
            }
            if !checksFiles, query.delimiterByte == nil {
                // The common case, files listed as they are: one tight pass over the window.
                let taken = takeFiles(from: top, limit: limit - elements.count, into: &elements)
                if taken > 0 { continue }
            }
            let index = stack[top].index
            // Items are sorted, and those that start with the prefix are contiguous.
            guard index < stack[top].items.count, StoreKey.utf8HasPrefix(stack[top].items[index].name, query.prefix) else {
                let frame = stack.removeLast()
                if frame.fd != store.rootFD { _ = trove_close(frame.fd) }
                continue
            }
            let item = stack[top].items[index]
            stack[top].index += 1
            let directory = stack[top].fd
            let path = stack[top].path
            if item.isDirectory {
                if listsOneLevel {
                    if try containsLiveEntry(parent: directory, name: item.diskName) {
                        elements.append(.commonPrefix(item.name))
                    }
                } else {
                    try push(parent: directory, name: item.diskName, path: join(path, item.diskName), prefix: item.name)
                }
                continue
            }
            let element: ListElement
            if checksFiles {
                guard let checked = try self.element(for: item, in: directory, path: join(path, item.diskName)) else { continue }
                element = checked
            } else {
                element = .entry(StoreKey(unchecked: item.name), nil)
            }
            // Without a delimiter, every item that starts with the prefix is listed as itself.
            guard query.delimiterByte != nil else {
                elements.append(element)
                continue
            }
            switch query.classify(StoreKey(unchecked: item.name)) {
            case .key, .none:
                elements.append(element)
            case .commonPrefix(let prefix):
                if prefix == lastCommonPrefix { continue }
                if let startAfter, prefix == startAfter { continue }
                lastCommonPrefix = prefix
                elements.append(.commonPrefix(prefix))
                skipItems(under: prefix)
            }
        }
        if !checksFiles, store.expiringEntriesMayExist() {
            // An expiring entry was written during the batch: check its keys one by one.
            elements = try elements.filter { element in
                guard case .entry(let key, _) = element else { return true }
                return try store.holdsLiveValue(key, now: now)
            }
        }
        return elements
    }

    private func join(_ path: String, _ name: String) -> String { path.isEmpty ? name : path + "/" + name }

    /// Lists the files that come next in the window of the directory at `level`, as they are,
    /// up to `limit` of them, stopping at a directory or the end of the prefix; returns how
    /// many were listed.
    private func takeFiles(from level: Int, limit: Int, into elements: inout [ListElement]) -> Int {
        // The window's array is read through a local reference, so that the loop does not go
        // through the frame (and the stack) for each item.
        let items = stack[level].items
        let prefix = query.prefix
        let start = stack[level].index
        var index = start
        let end = min(items.count, start + limit)
        while index < end {
            let item = items[index]
            guard !item.isDirectory, StoreKey.utf8HasPrefix(item.name, prefix) else { break }
            elements.append(.entry(StoreKey(unchecked: item.name), nil))
            index += 1
        }
        stack[level].index = index
        return index - start
    }

    /// Moves every open directory past the items that a common prefix just listed stands for.
    private func skipItems(under prefix: String) {
        for level in stack.indices {
            stack[level].index = Self.firstIndex(in: stack[level].items, from: stack[level].index) { name in
                !name.utf8.starts(with: prefix.utf8) && StoreKey.utf8Precedes(prefix, name)
            }
            // The next window of a directory must not bring them back either.
            if stack[level].index == stack[level].items.count, !stack[level].reachesEnd { stack[level].skipping = prefix }
        }
    }

    /// Replaces the exhausted window of the directory at `level` with the items after `name`.
    private func readNextWindow(of level: Int, after name: String) throws {
        // The frame's items move to `spare` (no other reference left), whose storage the next
        // window then reuses.
        spare = stack[level].items
        stack[level].items = []
        let (fd, path, prefix, skipping) = (stack[level].fd, stack[level].path, stack[level].prefix, stack[level].skipping)
        let filter = WindowFilter(prefix: query.prefix, after: name, containing: false, skipping: skipping)
        let window = try self.window(in: fd, path: path, prefix: prefix, filter: filter)
        stack[level].items = window.items
        // A kept window may start earlier, and holds what a common prefix skips.
        // (The skipped names follow `name` at once: `name` itself starts with what is skipped.)
        stack[level].index = Self.firstIndex(in: window.items, from: 0) { item in
            StoreKey.utf8Precedes(name, item) && !(skipping.map { item.utf8.starts(with: $0.utf8) } ?? false)
        }
        stack[level].reachesEnd = window.reachesEnd
        stack[level].skipping = nil
    }

    /// The first index at or after `low` whose item's name satisfies `isPast`, which must be
    /// false and then true along the sorted items.
    private static func firstIndex(in items: [DirectoryItem], from low: Int, where isPast: (String) -> Bool) -> Int {
        var low = low, high = items.count
        while low < high {
            let mid = (low + high) / 2
            if isPast(items[mid].name) { high = mid } else { low = mid + 1 }
        }
        return low
    }

    /// Where a walk starts in a directory's sorted items: the first that starts with the
    /// prefix and lies after the cursor (or holds it, for a directory to descend into).
    private func startIndex(in items: [DirectoryItem]) -> Int {
        let prefix = query.prefix
        var index = Self.firstIndex(in: items, from: 0) { !StoreKey.utf8Precedes($0, prefix) }
        guard let startAfter else { return index }
        let first = Self.firstIndex(in: items, from: 0) { StoreKey.utf8Precedes(startAfter, $0) }
        // The directory just before the cursor holds it when its prefix starts it: descend.
        if first > 0, !listsOneLevel, items[first - 1].isDirectory, startAfter.utf8.starts(with: items[first - 1].name.utf8) {
            return max(index, first - 1)
        }
        var afterCursor = first
        if let delimiter = query.delimiterByte, startAfter.utf8.last == delimiter,
           startAfter.utf8.count > prefix.utf8.count {
            // A cursor that is a common prefix stands for every key under it.
            afterCursor = Self.firstIndex(in: items, from: first) { !$0.utf8.starts(with: startAfter.utf8) }
        }
        index = max(index, afterCursor)
        return index
    }

    /// Opens the directory of the prefix's complete segments and reads it.
    private func start() throws {
        var segments = query.prefix.slashSeparatedParts()
        segments.removeLast()  // the incomplete last segment filters entries instead
        var path = ""
        var prefix = ""
        for segment in segments {
            guard !segment.isEmpty, segment != ".", segment != ".." else { return }
            path = join(path, FileNameCodec.directoryName(for: segment).name)
            prefix += segment + "/"
        }
        if path.isEmpty {
            let window = try firstWindow(in: store.rootFD, path: "", prefix: "")
            stack.append(Frame(fd: store.rootFD, path: "", prefix: "", items: window.items, index: startIndex(in: window.items),
                               reachesEnd: window.reachesEnd, skipping: nil))
            return
        }
        try push(store.openBeneath(path, flags: O_RDONLY | O_DIRECTORY), call: "openat2", path: path, prefix: prefix)
    }

    private func push(parent: Int32, name: String, path: String, prefix: String) throws {
        try push(openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), call: "openat", path: path, prefix: prefix)
    }

    /// Reads the directory just opened as `fd` (or failed to open, -1) onto the stack; a
    /// directory that is gone (removed since its parent was read) is skipped.
    private func push(_ fd: Int32, call: String, path: String, prefix: String) throws {
        guard fd >= 0 else {
            let error = SystemCallError.last(call, path)
            if error.errno == ENOENT || error.errno == ENOTDIR { return }
            throw error
        }
        do {
            let window = try firstWindow(in: fd, path: path, prefix: prefix)
            stack.append(Frame(fd: fd, path: path, prefix: prefix, items: window.items, index: startIndex(in: window.items),
                               reachesEnd: window.reachesEnd, skipping: nil))
        } catch {
            _ = trove_close(fd)
            throw error
        }
    }

    /// The first window of a directory whose keys start with `prefix`: its items from the
    /// listing's prefix and cursor on (with the directory that holds the cursor, to descend into).
    private func firstWindow(in fd: Int32, path: String, prefix: String) throws -> DirectoryWindow {
        var skipping: String?
        if let startAfter, let delimiter = query.delimiterByte, startAfter.utf8.last == delimiter,
           startAfter.utf8.count > query.prefix.utf8.count {
            skipping = startAfter  // a cursor that is a common prefix stands for every key under it
        }
        let filter = WindowFilter(prefix: query.prefix, after: startAfter, containing: !listsOneLevel, skipping: skipping)
        return try window(in: fd, path: path, prefix: prefix, filter: filter)
    }

    /// A window of a directory: from the snapshot cache when it holds one that covers `filter`
    /// for the directory as it is, else read (and kept when the directory has settled).
    private func window(in fd: Int32, path: String, prefix: String, filter: WindowFilter) throws -> DirectoryWindow {
        guard let snapshots else {
            return try Self.readWindow(in: fd, path: path, prefix: prefix, filter: filter, capacity: windowCapacity, store: store,
                                       reusing: &spare)
        }
        let statusTakenAt = trove_realtime_ns()
        var status = trove_stat_t()
        guard trove_statx(fd, "", TROVE_AT_EMPTY_PATH, &status, store.systemCalls) == 0 else { throw SystemCallError.last("statx", path) }
        if let window = snapshots.window(at: path, status: status, covering: filter) { return window }
        // What is kept leaves out nothing that a common prefix skips, so that later pages can
        // use it too; the walk passes over what it skips.
        let kept = WindowFilter(prefix: filter.prefix, after: filter.after, containing: filter.containing, skipping: nil)
        let position = snapshots.position()
        let window = try Self.readWindow(in: fd, path: path, prefix: prefix, filter: kept, capacity: windowCapacity, store: store,
                                         reusing: &spare)
        if window.isComplete {
            snapshots.keep(window, at: path, prefix: prefix, status: status, statusTakenAt: statusTakenAt, position: position)
        }
        return window
    }

    /// Reads the items of a directory that `filter` selects, decoded, and keeps the smallest
    /// `capacity` of them in byte order: one pass over the directory, holding at most twice
    /// `capacity` items at any moment, in the storage of `buffer` when it has some (taken).
    ///
    /// `isComplete` is false when a shortened directory's name file could not be read yet (a
    /// writer is creating it): such a result is right for now but must not be kept, since the
    /// keys that directory will hold would be missing.
    static func readWindow(in fd: Int32, path: String, prefix: String, filter: WindowFilter, capacity: Int,
                           store: FileSystemStore, reusing buffer: inout [DirectoryItem]) throws -> DirectoryWindow {
        let capacity = max(1, capacity)
        store.directoryPasses.add(1, ordering: .relaxed)
        var items = buffer
        buffer = []
        items.removeAll(keepingCapacity: true)
        var cutoff: String?
        var isComplete = true
        // Once more than `capacity` items were seen, the largest kept: later ones past it are not.
        // (A loop over a reader rather than a closure per entry: the closure's captured state
        // would be checked for exclusive access at every entry.)
        var reader = try DirectoryEntryReader(fd, path: path)
        while let (raw, type) = try reader.next() {
            let item: DirectoryItem
            if type == UInt8(DT_REG), FileNameCodec.isPlainFileName(raw) {
                // Most names need no decoding: one past the cutoff, or not after the window's
                // start, is passed over before any string is made of it (a large directory is
                // read once per window, and most of each pass is such names).
                if let cutoff, Self.compare(prefix, raw, with: cutoff) >= 0 { continue }
                if let after = filter.after, Self.compare(prefix, raw, with: after) <= 0 { continue }
            }
            if type == UInt8(DT_REG), let segment = FileNameCodec.plainSegment(raw) {
                // The common case, a value file whose name is its key's last segment as it is.
                item = DirectoryItem(name: prefix.isEmpty ? segment : prefix + segment, diskName: segment, isDirectory: false)
            } else {
                switch decodedItem(raw, type: type, in: fd, prefix: prefix, store: store) {
                case .item(let decoded): item = decoded
                case .notOurs: continue
                case .incomplete:
                    isComplete = false
                    continue
                }
            }
            guard filter.selects(item.name, isDirectory: item.isDirectory) else { continue }
            if let cutoff, !StoreKey.utf8Precedes(item.name, cutoff) { continue }
            if items.count == capacity { items.reserveCapacity(2 * capacity) }  // one growth, not many
            items.append(item)
            if items.count >= 2 * capacity {
                items.sort { StoreKey.utf8Precedes($0.name, $1.name) }
                items.removeSubrange(capacity...)
                cutoff = items[capacity - 1].name
            }
        }
        items.sort { StoreKey.utf8Precedes($0.name, $1.name) }
        var reachesEnd = cutoff == nil
        if items.count > capacity {
            items.removeSubrange(capacity...)
            reachesEnd = false
        }
        return DirectoryWindow(items: items, reachesEnd: reachesEnd, filter: filter, isComplete: isComplete)
    }

    /// What a directory entry stands for, when it is not a plain value file.
    private enum DecodedItem {
        case item(DirectoryItem)
        /// Not one of the store's entries (or gone since it was read).
        case notOurs
        /// A shortened directory whose name file a writer has not written yet.
        case incomplete
    }

    /// Decodes the entry `raw` of type `type` in the directory `fd`, whose keys start with `prefix`.
    private static func decodedItem(_ raw: UnsafeBufferPointer<UInt8>, type: UInt8, in fd: Int32, prefix: String,
                                    store: FileSystemStore) -> DecodedItem {
        guard let entryName = String(validating: raw, as: UTF8.self) else { return .notOurs }
        var isDirectory: Bool
        switch type {
        case UInt8(DT_DIR): isDirectory = true
        case UInt8(DT_REG): isDirectory = false
        case UInt8(DT_UNKNOWN):
            var status = trove_stat_t()
            guard trove_statx(fd, entryName, AT_SYMLINK_NOFOLLOW, &status, store.systemCalls) == 0 else { return .notOurs }
            let type = status.mode & UInt32(S_IFMT)
            guard type == UInt32(S_IFDIR) || type == UInt32(S_IFREG) else { return .notOurs }
            isDirectory = type == UInt32(S_IFDIR)
        default: return .notOurs  // links, sockets, devices: never ours
        }
        let decoded = isDirectory ? FileNameCodec.decodeDirectoryName(entryName) : FileNameCodec.decodeFileName(entryName)
        let name: String
        switch decoded {
        case .foreign: return .notOurs
        case .segment(let segment): name = isDirectory ? prefix + segment + "/" : prefix + segment
        case .shortened:
            if isDirectory {
                let child = openat(fd, entryName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard child >= 0 else { return .notOurs }
                let segment = store.readNameFile(in: child)
                _ = trove_close(child)
                guard let segment, FileNameCodec.directoryName(for: segment).name == entryName else { return .incomplete }
                name = prefix + segment + "/"
            } else {
                guard let key = store.readTrailerKey(directory: fd, name: entryName),
                      key.hasPrefix(prefix), EntryLocation(key).file.name == entryName else { return .notOurs }
                name = key.rawValue
            }
        }
        return .item(DirectoryItem(name: name, diskName: entryName, isDirectory: isDirectory))
    }

    /// The listing element of a file, or `nil` when it expired or vanished.
    private func element(for item: DirectoryItem, in directory: Int32, path: String) throws -> ListElement? {
        var status = trove_stat_t()
        guard trove_statx(directory, item.diskName, AT_SYMLINK_NOFOLLOW, &status, store.systemCalls) == 0 else {
            let error = SystemCallError.last("statx", path)
            if error.errno == ENOENT { return nil }
            throw error
        }
        guard status.mode & UInt32(S_IFMT) == UInt32(S_IFREG) else { return nil }
        let key = StoreKey(unchecked: item.name)
        let mayExpire = status.mode & UInt32(S_IXUSR) != 0
        guard mayExpire || query.includesMetadata else { return .entry(key, nil) }
        guard let (header, current) = try store.readHeader(directory: directory, name: item.diskName, path: path) else {
            return nil
        }
        if header.isExpired(at: now) { return nil }
        guard query.includesMetadata else { return .entry(key, nil) }
        let trailer = header.hasKeyTrailer ? key.byteCount + 4 : 0
        let size = Int64(current.size) - Int64(EntryFileHeader.size + trailer)
        return .entry(key, store.metadata(key, header: header, status: current, size: max(0, size)))
    }

    /// Whether the directory `name` holds a live value at any depth.
    private func containsLiveEntry(parent: Int32, name: String) throws -> Bool {
        let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { _ = trove_close(fd) }
        for entry in try FileSystemListing.readDirectory(fd, path: name) where !entry.name.hasPrefix(".") {
            var status = trove_stat_t()
            guard trove_statx(fd, entry.name, AT_SYMLINK_NOFOLLOW, &status, store.systemCalls) == 0 else { continue }
            switch status.mode & UInt32(S_IFMT) {
            case UInt32(S_IFREG):
                guard FileNameCodec.decodeFileName(entry.name) != .foreign else { continue }
                if status.mode & UInt32(S_IXUSR) == 0 { return true }
                if let (header, _) = try? store.readHeader(directory: fd, name: entry.name, path: entry.name),
                   !header.isExpired(at: now) {
                    return true
                }
            case UInt32(S_IFDIR):
                guard FileNameCodec.decodeDirectoryName(entry.name) != .foreign else { continue }
                if try containsLiveEntry(parent: fd, name: entry.name) { return true }
            default:
                continue
            }
        }
        return false
    }

    /// The names and types of a directory's entries, without `.` and `..`.
    static func readDirectory(_ fd: Int32, path: String) throws -> [(name: String, type: UInt8)] {
        var entries: [(name: String, type: UInt8)] = []
        try forEachEntry(of: fd, path: path) { entries.append(($0, $1)) }
        return entries
    }

    /// How `prefix` followed by the bytes `name` compares with `other`, byte-wise: -1, 0 or 1.
    static func compare(_ prefix: String, _ name: UnsafeBufferPointer<UInt8>, with other: String) -> Int {
        var prefix = prefix, other = other
        return prefix.withUTF8 { head in
            other.withUTF8 { other in
                func order(_ left: UnsafeBufferPointer<UInt8>, _ right: UnsafeBufferPointer<UInt8>) -> Int {
                    let common = min(left.count, right.count)
                    let compared = common == 0 ? 0 : memcmp(left.baseAddress!, right.baseAddress!, common)
                    if compared != 0 { return compared < 0 ? -1 : 1 }
                    return left.count == right.count ? 0 : (left.count < right.count ? -1 : 1)
                }
                let split = min(head.count, other.count)
                let first = order(head, UnsafeBufferPointer(rebasing: other[..<split]))
                if first != 0 { return first }
                if other.count <= head.count { return name.isEmpty && other.count == head.count ? 0 : 1 }
                return order(name, UnsafeBufferPointer(rebasing: other[head.count...]))
            }
        }
    }

    /// Calls `body` with the name and type of each of a directory's entries, without `.` and
    /// `..`, as they are read (nothing is held between entries).
    static func forEachEntry(of fd: Int32, path: String, _ body: (String, UInt8) throws -> Void) throws {
        try forEachRawEntry(of: fd, path: path) { raw, type in
            // Names that are not UTF-8 are never Trove's: skip them rather than repair them.
            guard let name = String(validating: raw, as: UTF8.self) else { return }
            try body(name, type)
        }
    }

    /// Calls `body` with the bytes of the name and the type of each of a directory's entries,
    /// without `.` and `..`, as they are read; the bytes are valid during the call only.
    static func forEachRawEntry(of fd: Int32, path: String, _ body: (UnsafeBufferPointer<UInt8>, UInt8) throws -> Void) throws {
        var reader = try DirectoryEntryReader(fd, path: path)
        while let (name, type) = try reader.next() { try body(name, type) }
    }
}

/// A directory's entries, read one at a time, without `.` and `..`; closes what it opened when
/// it goes away.
struct DirectoryEntryReader: ~Copyable {
    private let stream: OpaquePointer
    private let path: String
    private static let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!

    /// Opens the directory `fd` for reading from its start (through a descriptor of its own, so
    /// that `fd` and its position are left alone); `path` names it in errors.
    init(_ fd: Int32, path: String) throws {
        let copy = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard copy >= 0, let stream = fdopendir(copy) else {
            let error = SystemCallError.last("opendir", path.isEmpty ? "." : path)
            if copy >= 0 { _ = trove_close(copy) }
            throw error
        }
        self.stream = stream
        self.path = path
    }

    deinit { closedir(stream) }

    /// The bytes of the next entry's name, valid until the next call, and its type (`DT_REG`,
    /// `DT_DIR`, ...); `nil` after the last.
    mutating func next() throws -> (name: UnsafeBufferPointer<UInt8>, type: UInt8)? {
        while true {
            errno = 0
            guard let entry = readdir(stream) else {
                if errno != 0 { throw SystemCallError.last("readdir", path.isEmpty ? "." : path) }
                return nil
            }
            let bytes = UnsafeRawPointer(entry).advanced(by: Self.nameOffset).assumingMemoryBound(to: UInt8.self)
            let name = UnsafeBufferPointer(start: bytes, count: strlen(UnsafeRawPointer(bytes).assumingMemoryBound(to: CChar.self)))
            // `.` and `..`
            if name.first == UInt8(ascii: "."), name.count == 1 || (name.count == 2 && name[1] == UInt8(ascii: ".")) { continue }
            return (name, entry.pointee.d_type)
        }
    }
}
