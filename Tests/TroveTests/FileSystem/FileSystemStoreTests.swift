import Foundation
import Testing
@testable import Trove
import TroveTestSupport

@Suite("FileSystemStore on disk")
struct FileSystemStoreTests {
    @Test func layoutKeepsKeysAndPrefixesApart() async throws {
        try await withScratchDirectory { root in
            let store = try FileSystemStore(root: root)
            try await store.set(Data("top".utf8), for: "a")
            try await store.set(Data("nested".utf8), for: "a/b")
            try await store.set(Data("dot".utf8), for: ".hidden/x.d")
            let files = FileManager.default
            #expect(files.fileExists(atPath: root.appendingPathComponent("a").path))
            #expect(files.fileExists(atPath: root.appendingPathComponent("a.d/b").path))
            #expect(files.fileExists(atPath: root.appendingPathComponent("%2Ehidden.d/x%2Ed").path))
            let bytes = try Data(contentsOf: root.appendingPathComponent("a"))
            #expect(bytes.prefix(4) == Data("TRV1".utf8))
            #expect(bytes.count == EntryFileHeader.size + 3)
            var keys: [String] = []
            for try await key in try store.keys() { keys.append(key.rawValue) }
            #expect(keys == [".hidden/x.d", "a", "a/b"])
        }
    }

    @Test func longKeysRoundTripThroughShortenedNames() async throws {
        try await withScratchDirectory { root in
            let store = try FileSystemStore(root: root)
            let longSegment = String(repeating: "ü", count: 200)
            let keys = [
                try StoreKey(validating: longSegment),
                try StoreKey(validating: longSegment + "/leaf"),
                try StoreKey(validating: "dir/" + longSegment + "x"),
            ]
            for (index, key) in keys.enumerated() { try await store.set(Data([UInt8(index)]), for: key) }
            for (index, key) in keys.enumerated() { #expect(try await store[key] == Data([UInt8(index)])) }
            var listed: [StoreKey] = []
            for try await key in try store.keys() { listed.append(key) }
            #expect(listed == keys.sorted())
            var level: [String] = []
            for try await element in store.list(try ListQuery(delimiter: "/")) { level.append(element.name) }
            #expect(level == ["dir/", longSegment, longSegment + "/"])
            #expect(try await store.delete(keys[1]))
            #expect(try await store[keys[1]] == nil)
        }
    }

    /// With openat2, and with the component-by-component walk of kernels that lack it.
    @Test(arguments: [true, false])
    func symbolicLinksInsideTheRootAreRefused(usesOpenat2: Bool) async throws {
        try await withScratchDirectory { root in
            let outside = root.appendingPathComponent("outside", isDirectory: true)
            let inside = root.appendingPathComponent("store", isDirectory: true)
            try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
            try Data("secret".utf8).write(to: outside.appendingPathComponent("file"))
            let store = try FileSystemStore(root: inside, configuration: .init(), clock: .system, usesOpenat2: usesOpenat2)
            try await store.set(Data("ok".utf8), for: "fine")
            try await store.set(Data("nested".utf8), for: "real/deep/key")
            #expect(try await store["real/deep/key"] == Data("nested".utf8))
            // A planted directory link and a planted file link.
            try FileManager.default.createSymbolicLink(at: inside.appendingPathComponent("evil.d"), withDestinationURL: outside)
            try FileManager.default.createSymbolicLink(at: inside.appendingPathComponent("link"),
                                                       withDestinationURL: outside.appendingPathComponent("file"))
            try await expectStoreError(.permissionDenied) { _ = try await store["evil/file"] }
            try await expectStoreError(.permissionDenied) { _ = try await store["link"] }
            try await expectStoreError(.permissionDenied) { try await store.set(Data("x".utf8), for: "evil/planted") }
            // A delete removes the planted link itself, never what it points to.
            #expect(try await store.delete("link", condition: .always))
            #expect(!FileManager.default.fileExists(atPath: outside.appendingPathComponent("planted").path))
            #expect(try Data(contentsOf: outside.appendingPathComponent("file")) == Data("secret".utf8))
            var keys: [String] = []
            for try await key in try store.keys() { keys.append(key.rawValue) }
            #expect(keys == ["fine", "real/deep/key"], "links are never listed")
        }
    }

    @Test func foreignAndDamagedFilesAreIntegrityErrors() async throws {
        try await withScratchDirectory { root in
            let store = try FileSystemStore(root: root)
            try await store.set(Data("kept".utf8), for: "kept")
            try await store.set(Data(repeating: 9, count: 100), for: "damaged")
            try Data("not a trove file at all, but long enough".utf8).write(to: root.appendingPathComponent("foreign"))
            let handle = try FileHandle(forWritingTo: root.appendingPathComponent("damaged"))
            try handle.truncate(atOffset: 10)
            try handle.close()
            try await expectStoreError(.integrity) { _ = try await store["foreign"] }
            try await expectStoreError(.integrity) { _ = try await store["damaged"] }
            try await expectStoreError(.integrity) { _ = try await store.metadata(for: "damaged") }
            try await expectStoreError(.integrity) { try await store.set(Data(), for: "foreign", condition: .ifMatches(ETag("x"))) }
            #expect(try await store["kept"] == Data("kept".utf8), "other entries are untouched")
        }
    }

    /// Conditional writes and deletes read only the header of what stands under the name: a
    /// directory, a FIFO and a foreign file there are typed errors or "holds no value", never a
    /// hang, and nothing is removed.
    @Test func conditionalCallsOverWhatIsNotAValueFile() async throws {
        try await withScratchDirectory { root in
            let store = try FileSystemStore(root: root)
            let written = try await store.write(Data("v".utf8), for: "real", options: WriteOptions())
            try FileManager.default.createDirectory(at: root.appendingPathComponent("directory"), withIntermediateDirectories: false)
            #expect(mkfifo(root.appendingPathComponent("fifo").path, 0o644) == 0)
            try Data("not a trove file at all, but long enough".utf8).write(to: root.appendingPathComponent("foreign"))
            let version = WriteOptions(condition: .ifMatches(written.etag))
            for name: StoreKey in ["directory", "fifo", "foreign"] {
                let error = await #expect(throws: StoreError.self, "a write ifMatches over \(name)") {
                    try await store.write(Data("x".utf8), for: name, options: version)
                }
                #expect(error?.code == .integrity, "\(name): \(String(describing: error))")
                let absent = await #expect(throws: StoreError.self, "a write ifAbsent over \(name)") {
                    try await store.write(Data("x".utf8), for: name, options: WriteOptions(condition: .ifAbsent))
                }
                #expect(absent?.code == .integrity, "\(name): \(String(describing: absent))")
            }
            // A delete on a version finds no value in a directory, and a foreign file is no value file.
            let underDirectory = await #expect(throws: StoreError.self) { try await store.delete("directory", condition: .ifMatches(written.etag)) }
            #expect(underDirectory?.code == .conditionFailed)
            for name: StoreKey in ["fifo", "foreign"] {
                let error = await #expect(throws: StoreError.self) { try await store.delete(name, condition: .ifMatches(written.etag)) }
                #expect(error?.code == .integrity, "\(name): \(String(describing: error))")
            }
            // Reads of them are integrity errors too; the FIFO's open does not wait for a writer.
            for name: StoreKey in ["fifo", "foreign"] {
                let read = await #expect(throws: StoreError.self) { _ = try await store[name] }
                #expect(read?.code == .integrity, "\(name): \(String(describing: read))")
                let metadata = await #expect(throws: StoreError.self) { _ = try await store.metadata(for: name) }
                #expect(metadata?.code == .integrity, "\(name): \(String(describing: metadata))")
            }
            for name in ["directory", "fifo", "foreign"] {
                #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent(name).path), "\(name) was removed")
            }
            #expect(try await store.delete("real", condition: .ifMatches(written.etag)))
        }
    }

    /// A delete leaves a directory that still holds entries and removes one it emptied, up to
    /// the first that holds something else, conditional or not.
    @Test func deletesRemoveTheDirectoriesTheyEmpty() async throws {
        try await withScratchDirectory { root in
            let store = try FileSystemStore(root: root)
            let exists = { (path: String) in FileManager.default.fileExists(atPath: root.appendingPathComponent(path).path) }
            let first = try await store.write(Data("1".utf8), for: "a/b/one", options: WriteOptions())
            try await store.set(Data("2".utf8), for: "a/b/two")
            try await store.set(Data("3".utf8), for: "a/three")
            #expect(try await store.delete("a/b/one", condition: .ifMatches(first.etag)))
            #expect(exists("a.d/b.d/two"))
            #expect(try await store.delete("a/b/two"))
            #expect(!exists("a.d/b.d") && exists("a.d/three"))
            #expect(try await store.delete("a/three"))
            #expect(!exists("a.d"))
            // Deleting what is not there leaves nothing behind either.
            #expect(try await store.delete("a/b/none") == false)
            #expect(!exists("a.d"))
        }
    }

    @Test func readersNeverSeeATornValue() async throws {
        try await withScratchDirectory { root in
            let store = try FileSystemStore(root: root)
            try await store.set(Data(repeating: 0, count: 10), for: "k")
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for version in 1...300 {
                        let size = (version % 7 + 1) * 4096
                        try await store.set(Data(repeating: UInt8(version % 256), count: size), for: "k")
                    }
                }
                group.addTask {
                    for _ in 0..<600 {
                        guard let value = try await store["k"] else { throw TestFailure("value vanished") }
                        let first = value.first ?? 0
                        if !value.allSatisfy({ $0 == first }) { throw TestFailure("torn value of \(value.count) bytes") }
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    @Test func reclaimDeletesExpiredFilesEmptyDirectoriesAndAbandonedScratch() async throws {
        try await withScratchDirectory { root in
            let clock = ManualWallClock()
            let store = try FileSystemStore(root: root, clock: clock.wallClock)
            try await store.set(Data("x".utf8), for: "deep/er/gone", expiry: .after(.seconds(5)))
            try await store.set(Data("x".utf8), for: "stays", expiry: .after(.seconds(500)))
            let scratch = root.appendingPathComponent(".trove/tmp/w-abandoned")
            try Data("left by a crash".utf8).write(to: scratch)
            let old = Date(timeIntervalSinceNow: -2 * FileSystemStore.abandonedScratchAge)
            try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: scratch.path)
            clock.advance(by: .seconds(10))
            #expect(try await store["deep/er/gone"] == nil)
            #expect(try await store.reclaimExpired() == 1)
            #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("deep.d").path))
            #expect(!FileManager.default.fileExists(atPath: scratch.path))
            #expect(try await store["stays"] == Data("x".utf8))
        }
    }

    @Test func twoStoresOnOneRootShareConditions() async throws {
        try await withScratchDirectory { root in
            let first = try FileSystemStore(root: root)
            let second = try FileSystemStore(root: root)
            let written = try await first.set(Data("1".utf8), for: "k", condition: .ifAbsent)
            try await expectStoreError(.conditionFailed) { try await second.set(Data("2".utf8), for: "k", condition: .ifAbsent) }
            let replaced = try await second.set(Data("2".utf8), for: "k", condition: .ifMatches(written.etag))
            try await expectStoreError(.conditionFailed) { try await first.set(Data("3".utf8), for: "k", condition: .ifMatches(written.etag)) }
            #expect(try await first.metadata(for: "k")?.etag == replaced.etag)
        }
    }

    @Test func rootMustBeADirectory() async throws {
        try await withScratchDirectory { root in
            let file = root.appendingPathComponent("plain-file")
            try Data().write(to: file)
            #expect(throws: StoreError.self) { try FileSystemStore(root: file, configuration: .init(createsRoot: false)) }
            let missing = root.appendingPathComponent("missing")
            let error = try #require(throws: StoreError.self) {
                try FileSystemStore(root: missing, configuration: .init(createsRoot: false))
            }
            #expect(error.code == .invalidArgument)
            #expect(throws: StoreError.self) { try FileSystemStore(root: URL(string: "https://example.com/x")!) }
        }
    }
}
