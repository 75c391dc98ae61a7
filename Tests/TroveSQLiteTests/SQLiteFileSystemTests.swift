import Foundation
import Testing
import Trove
import TroveSQLite
#if canImport(Glibc)
import Glibc
#endif

/// A small tmpfs mounted for one test, so that the disk fills up, or turns read-only, for real.
///
/// Mounting needs root. Under CI (`CI` set) a failed mount fails the test; elsewhere the test is
/// reported as skipped.
enum SmallFileSystem {
    static var isMountable: Bool { geteuid() == 0 || ProcessInfo.processInfo.environment["CI"] != nil }

    /// Runs `body` with a fresh tmpfs of `sizeInKiB` mounted, and unmounts it afterwards.
    static func withMounted<T>(sizeInKiB: Int, _ body: (URL) async throws -> T) async throws -> T {
        try await withScratchDirectory { directory in
            let mountPoint = directory.appendingPathComponent("small", isDirectory: true)
            try FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
            try run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(sizeInKiB)k", "tmpfs", mountPoint.path])
            defer {
                // A file left open would keep the file system busy: detach it all the same.
                if (try? run("/bin/umount", [mountPoint.path])) == nil { try? run("/bin/umount", ["-l", mountPoint.path]) }
            }
            return try await body(mountPoint)
        }
    }

    /// Remounts the file system at `mountPoint` read-only, or read-write again.
    ///
    /// Tries for up to 5 seconds: a process that another test starts meanwhile holds copies of
    /// this process's open files until it runs its program, and the file system is busy until then.
    static func remount(_ mountPoint: URL, readOnly: Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(5)
        while true {
            do {
                return try run("/bin/mount", ["-o", readOnly ? "remount,ro" : "remount,rw", mountPoint.path])
            } catch where ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    private static func run(_ tool: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ScratchError("\(tool) \(arguments.joined(separator: " ")) exited with \(process.terminationStatus)")
        }
    }
}

/// An SQLite store on a file system that turns read-only, and on one that fills up: typed
/// errors, and nothing stored before is lost.
@Suite("SQLiteStore on a read-only or full disk", .serialized)
struct SQLiteFileSystemTests {
    @Test(.enabled(if: SmallFileSystem.isMountable, "mounting a small tmpfs needs root"), .timeLimit(.minutes(2)))
    func aReadOnlyFileSystemIsATypedErrorAndLosesNothing() async throws {
        try await SmallFileSystem.withMounted(sizeInKiB: 8192) { mountPoint in
            let file = mountPoint.appendingPathComponent("store.db")
            let values: [(key: StoreKey, value: Data)] = [
                ("small", patterned(100, seed: 1)), ("parts", patterned(64 << 10, seed: 2)), ("large", patterned((2 << 20) + 3, seed: 3)),
            ]
            weak var released: SQLiteStore?
            do {
                let store = try SQLiteStore(path: file)
                released = store
                for (key, value) in values { try await store.set(value, for: key) }
            }
            #expect(released == nil, "the store is still referenced after its last use, so its files stay open")

            try await SmallFileSystem.remount(mountPoint, readOnly: true)
            // Either the store refuses to open, or it reads and refuses to write.
            let opened: SQLiteStore?
            do {
                opened = try SQLiteStore(path: file)
            } catch let error as StoreError {
                opened = nil
                #expect([.readOnly, .permissionDenied, .io].contains(error.code), "opening on a read-only file system: \(error)")
                #expect(error.message.contains(file.path), "the message must name the file: \(error.message)")
            }
            if let store = opened {
                for (key, value) in values { #expect(try await store[key] == value, "\(key) on the read-only file system") }
                await expectStoreError(.readOnly, .permissionDenied, .io) { try await store.set(Data("new".utf8), for: "small") }
                await expectStoreError(.readOnly, .permissionDenied, .io) { try await store.delete("parts") }
            }

            try await SmallFileSystem.remount(mountPoint, readOnly: false)
            let store = try SQLiteStore(path: file)
            for (key, value) in values { #expect(try await store[key] == value, "\(key) after remounting read-write") }
            #expect(try RawDatabase(file).integrityCheck() == ["ok"])
        }
    }

    @Test(.enabled(if: SmallFileSystem.isMountable, "mounting a small tmpfs needs root"), .timeLimit(.minutes(2)))
    func aFullDiskIsATypedErrorAndLosesNothing() async throws {
        try await SmallFileSystem.withMounted(sizeInKiB: 1024) { mountPoint in
            // Room to give back once the disk is full.
            let ballast = mountPoint.appendingPathComponent("ballast")
            try Data(repeating: 0xBA, count: 256 << 10).write(to: ballast)
            let file = mountPoint.appendingPathComponent("store.db")
            let clock = ManualWallClock()
            let store = try SQLiteStore(path: file, clock: clock.wallClock)

            var stored: [StoreKey: Data] = [:]
            var failure: StoreError?
            for index in 0..<64 {
                let name = try key("fill/\(index)"), value = patterned(64 << 10, seed: UInt8(index))
                do {
                    try await store.set(value, for: name)
                    stored[name] = value
                } catch let error as StoreError {
                    failure = error
                    #expect(error.key == name)
                    #expect(try await store[name] == nil, "the failed write of \(name) left a value")
                    break
                }
            }
            let full = try #require(failure, "64 values of 64 KiB fitted on a 1 MiB file system")
            #expect(full.code == .outOfSpace, "\(full)")
            #expect(full.isRetryable, "a full disk can be retried once space is freed, as on the file store")
            #expect(stored.count >= 4, "only \(stored.count) values fitted")
            let batch = await expectStoreError(.outOfSpace) {
                try await store.writeAll([("batch/1", Data("small".utf8)), ("batch/2", patterned(256 << 10, seed: 9))])
            }
            #expect(batch?.isRetryable == true)
            #expect(try await store.readAll(["batch/1", "batch/2"]).isEmpty, "a failed batch wrote some of its values")
            await expectStoreError(.outOfSpace) {
                let chunks = AsyncStream<Data> { continuation in
                    for index in 0..<3 { continuation.yield(patterned(1 << 20, seed: UInt8(100 + index))) }
                    continuation.finish()
                }
                try await store.set(contentsOf: chunks, for: "streamed")
            }
            #expect(try await store["streamed"] == nil)

            for (name, value) in stored { #expect(try await store[name] == value, "\(name) changed on a full disk") }

            // Space comes back; the store deletes and writes again.
            try FileManager.default.removeItem(at: ballast)
            let deleted = Array(stored.keys.sorted().prefix(2))
            #expect(try await store.deleteAll(deleted) == 2)
            let after = patterned(64 << 10, seed: 200)
            try await store.set(after, for: "after")
            #expect(try await store["after"] == after)
            for (name, value) in stored where !deleted.contains(name) { #expect(try await store[name] == value) }

            // No part of a failed write is left once unfinished writes are reclaimed.
            clock.advance(by: .seconds(2 * 3600))
            #expect(try await store.reclaimExpired() == 0)
            let raw = try RawDatabase(file)
            #expect(try raw.orphanParts() == 0, "parts of failed writes are left")
            #expect(try raw.integrityCheck() == ["ok"])
        }
    }
}
