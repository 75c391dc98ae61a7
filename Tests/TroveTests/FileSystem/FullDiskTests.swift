import Foundation
import Testing
import Trove
import TroveTestSupport

@Suite("FileSystemStore on a full disk", .serialized)
struct FullDiskTests {
    @Test(.enabled(if: SmallFileSystem.isMountable, "mounting a small tmpfs needs root"))
    func aFullDiskIsATypedErrorAndLosesNothing() async throws {
        try await SmallFileSystem.withMounted(sizeInKiB: 512) { mountPoint in
            let store = try FileSystemStore(root: mountPoint)
            let kept = Data((0..<4096).map { UInt8($0 % 251) })
            for index in 0..<8 { try await store.set(kept, for: try StoreKey(validating: "kept/\(index)")) }
            let before = try await store.metadata(for: "kept/3")

            let tooBig = Data(repeating: 1, count: 1 << 20)
            let error = try await expectStoreError(.outOfSpace) { try await store.set(tooBig, for: "kept/3") }
            #expect(error.key == "kept/3")
            #expect(error.isRetryable)
            try await expectStoreError(.outOfSpace) {
                let chunks = AsyncStream<Data> { continuation in
                    for _ in 0..<16 { continuation.yield(Data(repeating: 2, count: 64 << 10)) }
                    continuation.finish()
                }
                try await store.set(contentsOf: chunks, for: "streamed")
            }

            for index in 0..<8 { #expect(try await store[try StoreKey(validating: "kept/\(index)")] == kept) }
            #expect(try await store.metadata(for: "kept/3")?.etag == before?.etag)
            #expect(try await store["streamed"] == nil)
            let scratch = try FileManager.default.contentsOfDirectory(atPath: mountPoint.appendingPathComponent(".trove/tmp").path)
            #expect(scratch.isEmpty, "failed writes leave no scratch files behind")
            // Space comes back once something is deleted.
            for index in 0..<8 { try await store.delete(try StoreKey(validating: "kept/\(index)")) }
            try await store.set(Data(repeating: 3, count: 256 << 10), for: "fits-now")
        }
    }
}

@Suite("FileSystemStore on a read-only mount", .serialized)
struct ReadOnlyMountTests {
    @Test(.enabled(if: SmallFileSystem.isMountable, "mounting a small tmpfs needs root"))
    func readsWorkAndWritesFailClearly() async throws {
        try await SmallFileSystem.withMounted(sizeInKiB: 1024) { mountPoint in
            do {
                let writer = try FileSystemStore(root: mountPoint)
                try await writer.set(Data("kept".utf8), for: "a/kept")
                try await writer.set(Data("top".utf8), for: "top")
            }
            try SmallFileSystem.remountReadOnly(mountPoint)
            let reader = try FileSystemStore(root: mountPoint)
            #expect(try await reader["a/kept"] == Data("kept".utf8))
            var keys: [String] = []
            for try await key in try reader.keys() { keys.append(key.rawValue) }
            #expect(keys == ["a/kept", "top"])
            #expect(try await reader.listPage(.all, after: nil, limit: 1).elements.map(\.name) == ["a/kept"])
            let error = try await expectStoreError(.readOnly) { try await reader.set(Data("x".utf8), for: "new") }
            #expect(error.store == reader.description)
            try await expectStoreError(.readOnly) { _ = try await reader.delete("top") }
            #expect(try await reader["top"] == Data("top".utf8))
        }
    }
}

extension SmallFileSystem {
    static func remountReadOnly(_ mountPoint: URL) throws {
        let process = SpawnedProcess()
        process.executableURL = URL(fileURLWithPath: "/bin/mount")
        process.arguments = ["-o", "remount,ro", mountPoint.path]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TestFailure("remount,ro exited with \(process.terminationStatus)") }
    }
}
