import CTroveSystem
import Foundation
import Testing
@_spi(Testing) @testable import Trove
import TroveTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The file store's per-key locks: shared mutexes on local file systems, record locks on the
/// others, the writers of one store always on the same kind, and a lock whose holder died
/// handed on rather than stuck.
@Suite("FileSystemStore key locks")
struct KeyLockTests {
    /// A directory on a file system whose mapped pages processes share: tmpfs where the machine
    /// has it, else the temporary directory (ext4, xfs, btrfs and the like share them too).
    private func withLocalDirectory<T>(_ body: (URL) async throws -> T) async throws -> T {
        let shm = URL(fileURLWithPath: "/dev/shm", isDirectory: true)
        guard FileManager.default.isWritableFile(atPath: shm.path) else { return try await withScratchDirectory("trove-key-lock", body) }
        let directory = shm.appendingPathComponent("trove-key-lock-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        return try await body(directory)
    }

    /// Whether the file system holding `directory` shares mapped pages, as the store judges it.
    private func sharesMappedPages(_ directory: URL) throws -> Bool {
        let fd = open(directory.path, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { throw TestFailure("cannot open \(directory.path): errno \(errno)") }
        defer { close(fd) }
        return trove_shares_mapped_pages(fd) == 1
    }

    @Test func aLocalFileSystemGetsSharedMutexesAndPortableCallsGetRecordLocks() async throws {
        try await withLocalDirectory { root in
            #expect(try sharesMappedPages(root), "tmpfs and the usual local file systems share mapped pages")
            do {
                let store = try FileSystemStore(root: root)
                #expect(store.keyLockKind == "shared mutexes")
                #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent(".trove/locks").path))
            }
            let portable = try FileSystemStore(root: root, systemCalls: .portable)
            #expect(portable.keyLockKind == "record locks")
        }
    }

    /// A writer that may not share memory (a network file system's client) never runs beside
    /// writers that use the table, and a local writer joins record locks when they are in use.
    @Test func theWritersOfAStoreAlwaysUseOneKindOfLock() async throws {
        try await withLocalDirectory { root in
            do {
                let local = try FileSystemStore(root: root)
                #expect(local.keyLockKind == "shared mutexes")
                let error = try await expectStoreError(.unavailable) {
                    _ = try FileSystemStore(root: root, configuration: .init(), clock: .system, usesOpenat2: nil,
                                            usesSharedMutexes: false)
                }
                #expect(error.message.contains(".trove/locks"), "the error names the lock table: \(error.message)")
                let portable = try await expectStoreError(.unavailable) { _ = try FileSystemStore(root: root, systemCalls: .portable) }
                #expect(portable.message.contains("portable"), "\(portable.message)")
                try await local.set(Data("still".utf8), for: "k")
            }
            do {
                let remote = try FileSystemStore(root: root, configuration: .init(), clock: .system, usesOpenat2: nil,
                                                 usesSharedMutexes: false)
                #expect(remote.keyLockKind == "record locks")
                let local = try FileSystemStore(root: root)
                #expect(local.keyLockKind == "record locks", "a local writer joins the record locks in use")
                #expect(try await local["k"] == Data("still".utf8))
            }
            // Once every writer has closed the store, the next one chooses again.
            let again = try FileSystemStore(root: root)
            #expect(again.keyLockKind == "shared mutexes")
        }
    }

    /// A helper process takes a key's lock and is killed holding it: a write of that key waits
    /// while the holder lives, and goes through once it has died.
    @Test(.timeLimit(.minutes(2)))
    func aLockWhoseHolderDiedIsHandedOn() async throws {
        let helper = try BuiltExecutable.helper()
        try await withLocalDirectory { root in
            let key: StoreKey = "contended"
            let store = try FileSystemStore(root: root)
            try await store.set(Data("before".utf8), for: key)
            let holder = LineProcess(helper, ["hold-lock", root.path, key.rawValue])
            try holder.start()
            defer { holder.kill() }
            while !holder.lines.contains(where: { $0.hasPrefix("held") }) {
                if holder.lines.isEmpty, !holder.errors.isEmpty { throw TestFailure("hold-lock failed: \(holder.errors)") }
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(holder.lines.first == "held \(store.keyLockKind)", "both processes use one kind of lock")

            let before = store.lock.contentions
            let write = Task { try await store.set(Data("after".utf8), for: key) }
            while store.lock.contentions == before { try await Task.sleep(for: .milliseconds(5)) }
            try await Task.sleep(for: .milliseconds(100))
            #expect(try await store[key] == Data("before".utf8), "nothing is written while the holder lives")

            holder.kill()
            _ = await holder.exitStatus()
            _ = try await write.value
            #expect(try await store[key] == Data("after".utf8))
            if store.keyLockKind == "shared mutexes" {
                #expect(store.keyLockRecoveries == 1, "the mutex came back from its dead holder")
            }
            // The lock works as before for the next writers.
            try await store.set(Data("again".utf8), for: key)
            #expect(try await store.delete(key))
        }
    }

    /// A store of `root` opened while no other writer has it open, its stores in this process
    /// all released. A child process that another test starts holds copies of this process's
    /// descriptors until it runs its program (on a loaded machine that can take seconds), and
    /// a copy of a store's lock file counts as a writer: this opens again, for up to 30 s, until
    /// none is left.
    static func openAlone(_ root: URL) async throws -> FileSystemStore {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            do {
                let store = try FileSystemStore(root: root)
                if try !store.hasOtherWriters { return store }
            } catch let error as StoreError where error.code == .unavailable {
                // The table is in use by the copy and laid out otherwise: wait for it too.
            }
            try #require(ContinuousClock.now < deadline, "another writer kept the store open for 30 s")
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// A table whose mutex was left locked by a process that is gone without its death being
    /// seen (the machine restarted under a store on disk) is made anew by the first writer to
    /// open the store alone.
    @Test(.timeLimit(.minutes(1)))
    func aTableLeftLockedAcrossARestartIsMadeAnew() async throws {
        try await withLocalDirectory { root in
            let key: StoreKey = "k"
            do {
                let store = try FileSystemStore(root: root)
                try await store.set(Data("1".utf8), for: key)
            }
            // The futex word of the key's mutex (the first 4 bytes of its slot) names a thread
            // that does not exist, without the owner-died bit.
            let table = try FileHandle(forUpdating: root.appendingPathComponent(".trove/locks"))
            try table.seek(toOffset: UInt64(4096 + 64 * StripedLock.stripe(of: key)))
            try table.write(contentsOf: withUnsafeBytes(of: UInt32(0x3FFF_FFF0).littleEndian) { Data($0) })
            try table.close()

            // The table is made anew only by a writer that opens the store alone.
            let store = try await Self.openAlone(root)
            try await store.set(Data("2".utf8), for: key)
            #expect(try await store[key] == Data("2".utf8))
        }
    }

    /// A table laid out by something else, while a writer has it open, refuses the next opener
    /// with a clear error; once that writer has closed the store it is made anew.
    @Test func aForeignTableInUseIsRefusedAndRemadeWhenFree() async throws {
        try await withLocalDirectory { root in
            do {
                let first = try FileSystemStore(root: root)
                let second = try FileSystemStore(root: root)
                #expect(try first.hasOtherWriters && second.hasOtherWriters, "two stores of one root see each other")
                try await first.set(Data("kept".utf8), for: "k")
                let table = try FileHandle(forUpdating: root.appendingPathComponent(".trove/locks"))
                try table.write(contentsOf: Data("NOTTROVE".utf8))
                try table.close()
                let error = try await expectStoreError(.unavailable) { _ = try FileSystemStore(root: root) }
                #expect(error.message.contains("laid out for another build"), "\(error.message)")
            }
            let store = try await Self.openAlone(root)
            #expect(store.keyLockKind == "shared mutexes")
            #expect(try await store["k"] == Data("kept".utf8), "nothing stored was lost")
        }
    }

    /// A delete without a condition skips the status of the file while no entry has an expiry;
    /// an expiring entry written by another store on the root since this one opened is still
    /// told from a live one.
    @Test func aDeleteSeesExpiringEntriesOfOtherWriters() async throws {
        try await withLocalDirectory { root in
            let clock = ManualWallClock()
            let store = try FileSystemStore(root: root, clock: clock.wallClock)
            try await store.set(Data("x".utf8), for: "plain")
            #expect(!store.expiringEntriesMayExist())
            #expect(try await store.delete("plain"))
            #expect(try await !store.delete("plain"))

            let other = try FileSystemStore(root: root, clock: clock.wallClock)
            try await other.set(Data("y".utf8), for: "short", expiry: .after(.seconds(5)))
            clock.advance(by: .seconds(10))
            #expect(try await !store.delete("short"), "an expired entry reads as deleted")
            #expect(store.expiringEntriesMayExist())
        }
    }

    /// What stands under a key's file name and is not a value: a link goes (never what it
    /// points to), a directory stays and is not a value.
    @Test(arguments: [FileSystemStore.SystemCalls.native, .portable])
    func linksAndDirectoriesUnderAKeysName(_ calls: FileSystemStore.SystemCalls) async throws {
        try await withLocalDirectory { root in
            let store = try FileSystemStore(root: root, systemCalls: calls)
            let target = root.appendingPathComponent("outside-file")
            try Data("secret".utf8).write(to: target)
            try FileManager.default.createSymbolicLink(at: root.appendingPathComponent("link"), withDestinationURL: target)
            try FileManager.default.createDirectory(at: root.appendingPathComponent("folder"), withIntermediateDirectories: false)
            #expect(try await store.delete("link"))
            #expect(try Data(contentsOf: target) == Data("secret".utf8))
            #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: root.appendingPathComponent("link").path)) == nil)
            #expect(try await !store.delete("folder"))
            var isDirectory: ObjCBool = false
            #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent("folder").path, isDirectory: &isDirectory)
                    && isDirectory.boolValue)
        }
    }
}
