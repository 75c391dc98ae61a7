import CTroveSystem
import Foundation
import Synchronization
import Testing
@testable import Trove
import TroveTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Listing pages of the file store: cursors, the directory snapshot cache, the expiry marker.
@Suite("FileSystemStore listing pages")
struct FileSystemListingTests {
    /// Every page of `query`, walked with `listPage` from `cursor`.
    private func pagedNames(_ store: FileSystemStore, _ query: ListQuery = .all, limit: Int, after cursor: ListCursor? = nil) async throws -> [String] {
        var names: [String] = []
        var cursor = cursor
        repeat {
            let page = try await store.listPage(query, after: cursor, limit: limit)
            names += page.elements.map(\.name)
            cursor = page.nextCursor
        } while cursor != nil
        return names
    }

    private func walkedNames(_ store: FileSystemStore, _ query: ListQuery = .all) async throws -> [String] {
        var names: [String] = []
        for try await element in store.list(query, pageSize: 7) { names.append(element.name) }
        return names
    }

    /// Margins: a snapshot kept at once, and one never kept (every page reads the directory).
    @Test(arguments: [Int64(0), Int64.max / 2])
    func pagesMatchTheWalkForEveryShapeOfQuery(settleMargin: Int64) async throws {
        try await withScratchDirectory { root in
            let store = try FileSystemStore(root: root, configuration: .init(), clock: .system, usesOpenat2: nil,
                                            snapshotSettleMargin: settleMargin)
            let keys = ["a", "a-c", "a/b", "a/b/c", "a/d", "a0", "b-1", "b-2", "b/x", "c", String(repeating: "ü", count: 200),
                        "d/" + String(repeating: "é", count: 150) + "/k", "e%f", ".dot"]
            for key in keys { try await store.set(Data(key.utf8), for: try StoreKey(validating: key)) }
            let queries = [ListQuery.all, try ListQuery(delimiter: "/"), try ListQuery(delimiter: "-"), try ListQuery(prefix: "a"),
                           try ListQuery(prefix: "a/"), try ListQuery(prefix: "a/", delimiter: "/"), try ListQuery(prefix: "b", delimiter: "-"),
                           try ListQuery(prefix: "zz")]
            for query in queries {
                let walked = try await walkedNames(store, query)
                for limit in [1, 2, 3, 100] {
                    // Twice: the second pass pages over kept snapshots (when the margin allows).
                    for _ in 0..<2 {
                        let paged = try await pagedNames(store, query, limit: limit)
                        #expect(paged == walked, "query \(query), limit \(limit)")
                    }
                }
            }
            #expect(try await walkedNames(store) == keys.sorted { StoreKey.utf8Precedes($0, $1) })
        }
    }

    /// Directories larger than a listing's window are walked in windows, each read in one
    /// pass that keeps only the next smallest names: every window size lists what the memory
    /// store lists, for every shape of query, walked and paged, from cursors anywhere.
    @Test(arguments: [1, 2, 3, 7, 64, FileSystemListing.defaultWindowCapacity])
    func everyWindowSizeListsTheSame(windowCapacity: Int) async throws {
        try await withScratchDirectory { root in
            let store = try FileSystemStore(root: root, configuration: .init(), clock: .system, usesOpenat2: nil,
                                            snapshotSettleMargin: 0, listingWindowCapacity: windowCapacity)
            let reference = MemoryStore()
            var random = SplitMix64(seed: UInt64(windowCapacity))
            var keys: Set<String> = ["a", "a-c", "a/b", "a/b/c", "a/d", "a0", "b-1", "b-2", "b/x", "c", "e%f", ".dot",
                                     String(repeating: "ü", count: 200), "d/" + String(repeating: "é", count: 150) + "/k"]
            let segments = ["a", "b", "a-", "x", "x/y", "m", "m-n", "z9"]
            while keys.count < 120 {
                let depth = Int(random.next() % 3) + 1
                keys.insert((0..<depth).map { _ in segments[Int(random.next() % UInt64(segments.count))] }
                    .joined(separator: "/") + String(random.next() % 20))
            }
            for key in keys {
                let storeKey = try StoreKey(validating: key)
                try await store.set(Data(key.utf8), for: storeKey)
                try await reference.set(Data(key.utf8), for: storeKey)
            }
            let queries = [ListQuery.all, try ListQuery(delimiter: "/"), try ListQuery(delimiter: "-"), try ListQuery(prefix: "a"),
                           try ListQuery(prefix: "a/"), try ListQuery(prefix: "a/", delimiter: "/"), try ListQuery(prefix: "m", delimiter: "-"),
                           try ListQuery(prefix: "x/", delimiter: "/"), try ListQuery(prefix: "zz")]
            for query in queries {
                var expected: [String] = []
                for try await element in reference.list(query, pageSize: 1000) { expected.append(element.name) }
                #expect(try await walkedNames(store, query) == expected, "walk of \(query), window \(windowCapacity)")
                for limit in [1, 4, 50] {
                    #expect(try await pagedNames(store, query, limit: limit) == expected,
                            "pages of \(limit) of \(query), window \(windowCapacity)")
                }
                // From a cursor at every element, and between elements.
                for (index, name) in expected.enumerated() where index % 5 == 0 {
                    let after = Array(expected[(index + 1)...])
                    #expect(try await pagedNames(store, query, limit: 3, after: ListCursor(name)) == after,
                            "after \(name) in \(query), window \(windowCapacity)")
                }
            }
        }
    }

    /// The comparison that passes over names before decoding them orders a prefix followed by
    /// a name's bytes exactly as the key made of both.
    @Test func comparingAPrefixAndANameIsTheKeysOrder() {
        var random = SplitMix64(seed: 11)
        let pieces = ["", "a", "a/", "ab", "b", "é", "a-", "a0", "z"]
        func pick() -> String { (0..<Int(random.next() % 3)).map { _ in pieces[Int(random.next() % UInt64(pieces.count))] }.joined() }
        for _ in 0..<3_000 {
            let prefix = pick(), name = pick(), other = pick()
            let key = prefix + name
            let expected = StoreKey.utf8Precedes(key, other) ? -1 : (key == other ? 0 : 1)
            let got = Array(name.utf8).withUnsafeBufferPointer { FileSystemListing.compare(prefix, $0, with: other) }
            #expect(got == expected, "'\(prefix)' + '\(name)' against '\(other)'")
        }
    }

    /// Kept windows take in what every writer of the store changes (this store, another store
    /// on the root), so that a page of a changing directory does not read it again, and still
    /// show at once what another program changed.
    @Test(arguments: [3, FileSystemListing.defaultWindowCapacity])
    func keptWindowsTakeInTheChangesOfEveryWriter(windowCapacity: Int) async throws {
        try await withScratchDirectory { root in
            let store = try FileSystemStore(root: root, configuration: .init(), clock: .system, usesOpenat2: nil,
                                            snapshotSettleMargin: 3_600_000_000_000, listingWindowCapacity: windowCapacity)
            try #require(store.lock.kind == .sharedMutexes, "the change log needs the shared lock table")
            let other = try FileSystemStore(root: root)
            let reference = MemoryStore()
            var random = SplitMix64(seed: 7)
            func name(_ number: UInt64) -> StoreKey { try! StoreKey(validating: "q/" + String(1000 + number % 400)) }
            for number in 0..<60 as Range<UInt64> {
                try await store.set(Data([1]), for: name(number * 7))
                try await reference.set(Data([1]), for: name(number * 7))
            }
            let query = try ListQuery(prefix: "q/")
            func expected(after cursor: String?) async throws -> [String] {
                var names: [String] = []
                for try await element in reference.list(query, pageSize: 1000) where cursor.map({ StoreKey.utf8Precedes($0, element.name) }) ?? true {
                    names.append(element.name)
                }
                return names
            }
            #expect(try await pagedNames(store, query, limit: 16) == (try await expected(after: nil)))
            var passesWithoutRead = 0
            for round in 0..<40 {
                // A few changes by either writer, then pages from a cursor somewhere.
                for _ in 0..<Int(random.next() % 4) + 1 {
                    let key = name(random.next())
                    let writer = random.next() % 2 == 0 ? store : other
                    if random.next() % 3 == 0 {
                        _ = try await writer.delete(key)
                        _ = try await reference.delete(key)
                    } else {
                        try await writer.set(Data([2]), for: key)
                        try await reference.set(Data([2]), for: key)
                    }
                }
                let all = try await expected(after: nil)
                let cursor = all.isEmpty ? nil : all[Int(random.next() % UInt64(all.count))]
                let passes = store.directoryPasses.load(ordering: .relaxed)
                let paged = try await pagedNames(store, query, limit: 8, after: cursor.map(ListCursor.init))
                #expect(paged == (try await expected(after: cursor)), "round \(round), after \(cursor ?? "-")")
                if store.directoryPasses.load(ordering: .relaxed) == passes { passesWithoutRead += 1 }
            }
            if windowCapacity > 100 {
                #expect(passesWithoutRead == 40, "every page came from the kept window and the changes noted")
            }
            // Another program's rename and removal: no writer noted them, so the next page reads
            // the directory again. (Behind changes that writers noted, another program's would
            // show only once the window is read again, a settle margin after its first change.)
            let directory = root.appendingPathComponent("q.d")
            try await other.set(Data([3]), for: "q/tmp")
            try await reference.set(Data([3]), for: "q/tmp")
            #expect(try await pagedNames(store, query, limit: 8) == (try await expected(after: nil)))
            _ = try await reference.delete("q/tmp")
            #expect(rename(directory.appendingPathComponent("tmp").path, directory.appendingPathComponent("0999").path) == 0)
            try await reference.set(Data([3]), for: "q/0999")
            let gone = try #require(try await expected(after: nil).last)
            #expect(unlink(directory.appendingPathComponent(String(gone.dropFirst(2))).path) == 0)
            _ = try await reference.delete(try StoreKey(validating: gone))
            #expect(try await pagedNames(store, query, limit: 8) == (try await expected(after: nil)))
        }
    }

    /// The cursor is a position in key order: later pages show the keys after it as they are
    /// when the page is read, in this store, in another store on the same root, after a restart.
    @Test(arguments: [Int64(0), DirectorySnapshots.settleMargin])
    func aCursorIsAPositionNotASnapshot(settleMargin: Int64) async throws {
        try await withScratchDirectory { root in
            let store = try FileSystemStore(root: root, configuration: .init(), clock: .system, usesOpenat2: nil,
                                            snapshotSettleMargin: settleMargin)
            for index in stride(from: 10, to: 90, by: 10) { try await store.set(Data([1]), for: try StoreKey(validating: "k\(index)")) }
            let first = try await store.listPage(.all, after: nil, limit: 3)
            #expect(first.elements.map(\.name) == ["k10", "k20", "k30"])
            let cursor = try #require(first.nextCursor)
            // Written after the cursor was issued: before it (never shown), after it (shown).
            try await store.set(Data([2]), for: "k15")
            try await store.set(Data([2]), for: "k35")
            #expect(try await store.delete("k40"))
            let other = try FileSystemStore(root: root)
            try await other.set(Data([3]), for: "k85")
            #expect(try await pagedNames(store, limit: 2, after: cursor) == ["k35", "k50", "k60", "k70", "k80", "k85"])
            let reopened = try FileSystemStore(root: root)
            #expect(try await pagedNames(reopened, limit: 4, after: cursor) == ["k35", "k50", "k60", "k70", "k80", "k85"])
        }
    }

    /// A snapshot trusted at once (margin 0) is still never stale: a rename into the directory
    /// from outside the store, a deletion, a new subdirectory each show in the next page.
    @Test func aKeptSnapshotNeverHidesNorResurrectsAKey() async throws {
        try await withScratchDirectory { root in
            let store = try FileSystemStore(root: root, configuration: .init(), clock: .system, usesOpenat2: nil, snapshotSettleMargin: 0)
            for name in ["a", "c", "e"] { try await store.set(Data(name.utf8), for: try StoreKey(validating: name)) }
            #expect(try await pagedNames(store, limit: 1) == ["a", "c", "e"])
            // Another program renames a value file of the store's format into place.
            try await other(root).set(Data("b".utf8), for: "b")
            let moved = rename(root.appendingPathComponent("b").path, root.appendingPathComponent("d").path)
            #expect(moved == 0)
            #expect(try await pagedNames(store, limit: 1) == ["a", "c", "d", "e"])
            #expect(try await other(root).delete("c"))
            #expect(try await pagedNames(store, limit: 2) == ["a", "d", "e"])
            try await other(root).set(Data("x".utf8), for: "d/x")
            #expect(try await pagedNames(store, limit: 2) == ["a", "d", "d/x", "e"])
        }
    }

    private func other(_ root: URL) throws -> FileSystemStore { try FileSystemStore(root: root) }

    /// A window takes in changes (as the change log replays them) exactly as a set of names
    /// would: items replaced in place, runs and single items removed, new names merged in, and
    /// nothing past the last item of a window that does not reach the end. Random rounds
    /// against that model, with a fixed seed.
    @Test(arguments: [false, true]) func aWindowTakesInChangesAsASetOfNamesWould(reachesEnd: Bool) {
        var generator = SplitMix64(seed: reachesEnd ? 7 : 11)
        let filter = WindowFilter(prefix: "", after: nil, containing: false, skipping: nil)
        func name(_ number: Int) -> String { String(format: "k%04d", number) }
        func item(_ number: Int, version: Int) -> DirectoryItem {
            DirectoryItem(name: name(number), diskName: "\(name(number)).\(version)", isDirectory: false)
        }
        for round in 0..<200 {
            let present = (0..<400).filter { _ in generator.next() % 3 == 0 }
            var window = DirectoryWindow(items: present.map { item($0, version: 0) }, reachesEnd: reachesEnd, filter: filter,
                                         isComplete: true)
            var model = Dictionary(uniqueKeysWithValues: present.map { (name($0), item($0, version: 0)) })
            let limit = reachesEnd ? nil : present.last.map(name)
            var changes: [String: DirectoryItem?] = [:]
            let first = Int(generator.next() % 400)
            for number in first..<min(400, first + Int(generator.next() % 40)) { changes[name(number)] = .some(nil) }  // a run
            for _ in 0..<Int(generator.next() % 30) {
                let number = Int(generator.next() % 420)
                changes[name(number)] = generator.next() % 2 == 0 ? .some(nil) : item(number, version: round + 1)
            }
            for (changed, replacement) in changes {
                if let replacement {
                    if limit.map({ StoreKey.utf8Precedes(changed, $0) }) ?? true { model[changed] = replacement }
                } else {
                    model[changed] = nil
                }
            }
            window.apply(changes)
            let expected = model.values.sorted { StoreKey.utf8Precedes($0.name, $1.name) }
            #expect(window.items.map(\.name) == expected.map(\.name), "round \(round)")
            #expect(window.items.map(\.diskName) == expected.map(\.diskName), "round \(round)")
        }
    }

    /// The decision that protects against a change within the directory's timestamp granule.
    @Test func aRecentlyChangedDirectoryIsNotTrusted() {
        var status = trove_stat_t()
        let now: Int64 = 1_800_000_000_000_000_000
        status.ctime_sec = now / 1_000_000_000 - 1
        status.ctime_nsec = 0
        #expect(!DirectorySnapshots.hasSettled(status, at: now), "changed a second ago: a change may share its time stamp")
        status.ctime_sec = now / 1_000_000_000 - 10
        #expect(DirectorySnapshots.hasSettled(status, at: now))
        status.ctime_sec = now / 1_000_000_000 + 5
        #expect(!DirectorySnapshots.hasSettled(status, at: now), "a change time in the future is never settled")
        status.ctime_sec = .max
        #expect(!DirectorySnapshots.hasSettled(status, at: now))
    }

    /// Listing skips the per-file `statx` while no entry has an expiry, and still hides expired
    /// entries once one is written, in this store and in another on the same root.
    @Test func expiredEntriesStayHiddenWhateverTheMarkerSays() async throws {
        try await withScratchDirectory { root in
            let clock = ManualWallClock()
            let store = try FileSystemStore(root: root, clock: clock.wallClock)
            try await store.set(Data([1]), for: "plain")
            #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent(FileSystemStore.expiryMarker).path))
            #expect(!store.expiringEntriesMayExist())
            let other = try FileSystemStore(root: root, clock: clock.wallClock)
            try await other.set(Data([2]), for: "short", expiry: .after(.seconds(5)))
            #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent(FileSystemStore.expiryMarker).path))
            clock.advance(by: .seconds(10))
            #expect(try await walkedNames(store) == ["plain"])
            #expect(try await pagedNames(store, limit: 1) == ["plain"])
        }
    }

    /// A store made before the marker existed (no `.trove/format`) is taken to hold expiring entries.
    @Test func aStoreWithoutTheFormatMarkerIsCheckedFileByFile() async throws {
        try await withScratchDirectory { root in
            let clock = ManualWallClock()
            do {
                let store = try FileSystemStore(root: root, clock: clock.wallClock)
                try await store.set(Data([2]), for: "short", expiry: .after(.seconds(5)))
                try await store.set(Data([1]), for: "plain")
            }
            for marker in [FileSystemStore.expiryMarker, FileSystemStore.formatMarker] {
                try FileManager.default.removeItem(at: root.appendingPathComponent(marker))
            }
            clock.advance(by: .seconds(10))
            let reopened = try FileSystemStore(root: root, clock: clock.wallClock)
            #expect(reopened.expiringEntriesMayExist())
            #expect(try await walkedNames(reopened) == ["plain"])
        }
    }
}
