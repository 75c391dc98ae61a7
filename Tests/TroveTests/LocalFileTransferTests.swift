import Foundation
import Testing
import Trove
import TroveTestSupport

@Suite("Values from and into local files")
struct LocalFileTransferTests {
    @Test(arguments: ["memory", "file"])
    func fileInFileOut(_ kind: String) async throws {
        try await withScratchDirectory { directory in
            let store: any KeyValueStore = kind == "memory"
                ? MemoryStore() : try FileSystemStore(root: directory.appendingPathComponent("store"))
            var generator = SystemRandomNumberGenerator()
            let bytes = Data((0..<(3 << 20) + 17).map { _ in UInt8.random(in: 0...255, using: &generator) })
            let source = directory.appendingPathComponent("source.bin")
            try bytes.write(to: source)

            let written = try await store.set(contentsOfFile: source, for: "files/source.bin")
            #expect(written.size == Int64(bytes.count))
            let target = directory.appendingPathComponent("target.bin")
            let read = try await store.read("files/source.bin", intoFile: target)
            #expect(read?.etag == written.etag)
            #expect(try Data(contentsOf: target) == bytes)
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix(".") }
            #expect(leftovers.isEmpty, "no temporary file is left beside the target")

            let untouched = directory.appendingPathComponent("untouched.bin")
            #expect(try await store.read("files/missing", intoFile: untouched) == nil)
            #expect(!FileManager.default.fileExists(atPath: untouched.path))

            try await expectStoreError(.invalidArgument) {
                try await store.set(contentsOfFile: directory.appendingPathComponent("no-such-file"), for: "x")
            }
            try await expectStoreError(.invalidArgument) {
                try await store.set(contentsOfFile: directory, for: "x")
            }
            try await expectStoreError(.invalidArgument) {
                try await store.read("files/source.bin", intoFile: directory.appendingPathComponent("missing/dir/file"))
            }
            #expect(try await store.contains("x") == false)
        }
    }
}
