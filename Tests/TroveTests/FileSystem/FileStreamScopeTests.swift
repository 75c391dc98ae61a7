import Foundation
import Testing
import Trove
import TroveTestSupport

/// A file store's stream releases its file descriptor when its scope ends, not when the last
/// copy of the stream happens to be dropped.
@Suite("File streams close with their scope")
struct FileStreamScopeTests {
    /// How many of this process's descriptors are open on files under `directory` (other tests
    /// running beside this one open and close descriptors of their own meanwhile).
    private static func openDescriptors(under directory: URL) throws -> Int {
        let root = directory.resolvingSymlinksInPath().path
        return try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").filter { fd in
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + fd) else { return false }
            return target.hasPrefix(root + "/")
        }.count
    }

    @Test func withReadStreamReleasesTheFileEvenWhenTheStreamIsKept() async throws {
        try await withScratchDirectory { directory in
            let store = try FileSystemStore(root: directory.appending(path: "data"))
            for index in 0..<20 { try await store.set(Data(repeating: UInt8(index), count: 10_000), for: StoreKey(validating: "v/\(index)")) }
            let before = try Self.openDescriptors(under: directory)
            var kept: [StreamedEntry] = []
            for index in 0..<20 {
                try await store.withReadStream(try StoreKey(validating: "v/\(index)"), chunkSize: 100) { stream in
                    let stream = try #require(stream)
                    var iterator = stream.chunks.makeAsyncIterator()
                    #expect(try await iterator.next()?.count == 100)
                    kept.append(stream)   // outlives the scope on purpose
                }
            }
            #expect(try Self.openDescriptors(under: directory) <= before, "every stream's descriptor must be closed when its scope ends")

            // A kept stream refuses to go on instead of reading a reused descriptor.
            var iterator = kept[3].chunks.makeAsyncIterator()
            await #expect(throws: StoreError.self) { _ = try await iterator.next() }
        }
    }

    @Test func closeDuringAnInlineReadWaitsForIt() async throws {
        try await withScratchDirectory { directory in
            let store = try FileSystemStore(root: directory.appending(path: "data"))
            let value = Data((0..<200_000).map { UInt8($0 % 251) })
            try await store.set(value, for: "big")
            let stream = try #require(try await store.readStream("big", chunkSize: 50_000))
            var iterator = stream.chunks.makeAsyncIterator()
            #expect(try await iterator.next() == value.prefix(50_000))
            await stream.close()
            await stream.close()   // a second close does nothing
            await #expect(throws: StoreError.self) { _ = try await iterator.next() }
        }
    }
}
