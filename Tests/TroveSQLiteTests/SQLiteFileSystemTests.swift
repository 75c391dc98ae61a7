import Foundation
import Testing
import Trove
import TroveSQLite
import TroveTestSupport

/// An SQLite store on a file system that turns read-only, and on one that fills up: typed
/// errors, and nothing stored before is lost.
@Suite("SQLiteStore on a read-only or full disk", .serialized)
struct SQLiteFileSystemTests {
    @Test(.enabled(if: SmallFileSystem.isMountable, "mounting a small tmpfs needs root"), .timeLimit(.minutes(2)))
    func aReadOnlyFileSystemIsATypedErrorAndLosesNothing() async throws {
        try await SmallFileSystem.withMounted(sizeInKiB: 8192) { mountPoint in
            let file = mountPoint.appendingPathComponent("store.db")
            let values: [(key: StoreKey, value: Data)] = [
                ("small", patternedBytes(100, seed: 1)), ("parts", patternedBytes(64 << 10, seed: 2)), ("large", patternedBytes((2 << 20) + 3, seed: 3)),
            ]
            weak var released: SQLiteStore?
            do {
                let store = try await SQLiteStore(path: file)
                released = store
                for (key, value) in values { try await store.set(value, for: key) }
            }
            #expect(released == nil, "the store is still referenced after its last use, so its files stay open")

            let lockFile = file.path + "-trove-lock"
            let lockBefore = try FileManager.default.attributesOfItem(atPath: lockFile)[.modificationDate] as? Date
            try await SmallFileSystem.remount(mountPoint, readOnly: true)
            #expect(!FileManager.default.fileExists(atPath: file.path + "-wal"), "the last store closed left its log")

            // Without read-only mode: refused, naming the file and the mode to use.
            let refused = try await expectStoreError(.readOnly) { _ = try await SQLiteStore(path: file) }
            #expect(refused.message.contains(file.path) == true, "the message must name the file: \(refused.message)")
            #expect(refused.message.contains("mode=readonly") == true, "the message must suggest mode=readonly: \(refused.message)")
            #expect(refused.operation == .open)

            // In read-only mode: every read works, every write is refused naming store and key.
            for store in [try await SQLiteStore(path: file, options: .init(accessMode: .readOnly)),
                          try await StoreOpener.withSQLite.open(sqliteURL(file, query: "mode=readonly")).store as? SQLiteStore] {
                let store = try #require(store)
                for (key, value) in values { #expect(try await store[key] == value, "\(key) on the read-only file system") }
                #expect(try await store.metadata(for: "parts")?.size == Int64(64 << 10))
                var listed: [String] = []
                for try await element in store.list() { listed.append(element.name) }
                #expect(listed == ["large", "parts", "small"])
                #expect(try await store.count() == 3)
                #expect(try await store.readAll(["small", "large"]).count == 2)
                let streamed = try #require(try await store.readStream("large", chunkSize: 100_000))
                var bytes = Data()
                for try await chunk in streamed.chunks { bytes.append(chunk) }
                #expect(bytes == values[2].value)

                let write = try await expectStoreError(.readOnly) { try await store.set(Data("new".utf8), for: "small") }
                #expect(write.key == "small")
                #expect(write.store == store.description && store.description.hasSuffix("read-only"))
                #expect(write.message.contains(file.path) == true)
                let delete = try await expectStoreError(.readOnly) { try await store.delete("parts") }
                #expect(delete.key == "parts" && delete.operation == .delete)
                try await expectStoreError(.readOnly) { try await store.writeAll([("a", Data("1".utf8))]) }
                try await expectStoreError(.readOnly) { try await store.deleteAll(["small"]) }
                try await expectStoreError(.readOnly) { _ = try await store.transaction { _ in true } }
                try await expectStoreError(.readOnly) { _ = try await store.reclaimExpired() }
                try await expectStoreError(.readOnly) {
                    try await store.set(contentsOf: AsyncStream<Data> { $0.finish() }, for: "streamed")
                }
                #expect(!store.capabilities.contains(.conditionalWrites))
            }
            #expect(try FileManager.default.attributesOfItem(atPath: lockFile)[.modificationDate] as? Date == lockBefore)

            try await SmallFileSystem.remount(mountPoint, readOnly: false)
            let store = try await SQLiteStore(path: file)
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
            let store = try await SQLiteStore(path: file, clock: clock.wallClock)

            var stored: [StoreKey: Data] = [:]
            var failure: StoreError?
            for index in 0..<64 {
                let name = try key("fill/\(index)"), value = patternedBytes(64 << 10, seed: UInt64(index))
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
            let batch = try await expectStoreError(.outOfSpace) {
                try await store.writeAll([("batch/1", Data("small".utf8)), ("batch/2", patternedBytes(256 << 10, seed: 9))])
            }
            #expect(batch.isRetryable == true)
            #expect(try await store.readAll(["batch/1", "batch/2"]).isEmpty, "a failed batch wrote some of its values")
            try await expectStoreError(.outOfSpace) {
                let chunks = AsyncStream<Data> { continuation in
                    for index in 0..<3 { continuation.yield(patternedBytes(1 << 20, seed: UInt64(100 + index))) }
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
            let after = patternedBytes(64 << 10, seed: 200)
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

    @Test(.enabled(if: SmallFileSystem.isMountable, "mounting a small tmpfs needs root"), .timeLimit(.minutes(2)))
    func theCommandLineReadsAStoreOnAReadOnlyFileSystemInReadOnlyMode() async throws {
        let trove = try BuiltExecutable.trove()
        try await withScratchDirectory { scratch in
            try await SmallFileSystem.withMounted(sizeInKiB: 4096) { mountPoint in
                let file = mountPoint.appendingPathComponent("store.db")
                let value = patternedBytes(70_000, seed: 4)
                do {
                    let store = try await SQLiteStore(path: file)
                    try await store.set(value, for: "docs/large")
                    try await store.set(Data("small".utf8), for: "top")
                }
                try await SmallFileSystem.remount(mountPoint, readOnly: true)
                func run(_ query: String?, _ arguments: [String]) async throws -> ChildOutcome {
                    try await ChildProcess.run(trove, ["--store", sqliteURL(file, query: query)] + arguments,
                                               in: scratch, scratch: scratch)
                }

                let get = try await run("mode=readonly", ["get", "docs/large"])
                #expect(get.status == 0, "\(get.errors)")
                #expect(get.output == value)
                #expect(try await run("mode=readonly", ["list"]).outputLines == ["docs/large", "top"])
                let stat = try await run("mode=readonly", ["stat", "top"])
                #expect(stat.status == 0, "\(stat.errors)")

                let put = try await run("mode=readonly", ["put", "top", "/dev/null"])
                #expect(put.status == 4, "trove exited with \(put.status): \(put.errors)")
                #expect(put.errors.contains("read-only") && put.errors.contains("top"), "\(put.errors)")
                let plain = try await run(nil, ["get", "top"])
                #expect(plain.status == 4, "trove exited with \(plain.status): \(plain.errors)")
                #expect(plain.errors.contains("mode=readonly"), "the error must suggest mode=readonly: \(plain.errors)")
                try await SmallFileSystem.remount(mountPoint, readOnly: false)
            }
        }
    }
}
