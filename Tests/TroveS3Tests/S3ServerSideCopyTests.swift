import Foundation
import Testing
import Trove
import TroveS3
import TroveS3Client
import TroveTestSupport

/// A copy between two S3 stores of one endpoint leaves the bytes on the server: this process
/// reads almost nothing while 32 MiB move, where a streamed copy of the same values reads them
/// all. It measures the bytes the whole process reads (`rchar` of `/proc/self/io`), so it runs
/// with no other suite beside it.
@Suite("S3Store: a server-side copy reads no value", .enabled(if: TestServer.s3.isAvailable, TestServer.s3.absence), .freshBucket)
struct S3ServerSideCopyTests {
    @Test("copyOnServer and synchronize move 32 MiB while this process reads under 1 MiB; a streamed copy reads all of it")
    func bytesStayOnServer() async throws {
        #if os(Linux)
        let bucket = try S3TestBucket.name()
        let client = try S3TestServer.client()
        let root = UUID().uuidString.lowercased()
        let source = S3Store(bucket: bucket, prefix: root + "/source/", client: client)
        let values = (0..<4).map { patternedBytes(8 << 20, seed: UInt64($0)) }
        for (index, value) in values.enumerated() { try await source.set(value, for: try StoreKey(validating: "v\(index)")) }

        let onServer = S3Store(bucket: bucket, prefix: root + "/on-server/", client: client)
        #expect(source.isOnSameEndpoint(as: onServer))
        var progressCalls = 0
        let before = try Self.bytesReadByThisProcess()
        let report = try await source.copyOnServer(to: onServer, concurrency: 2) { _ in progressCalls += 1 }
        let readOnServer = try Self.bytesReadByThisProcess() - before
        #expect(report.copied == 4 && report.bytes == 32 << 20)
        #expect(progressCalls == 4)
        #expect(readOnServer < 1 << 20, "the server-side copy read \(readOnServer) bytes")

        // synchronize(to:) copies on the server too, by itself: first everything, then only
        // the value that changed.
        let synced = S3Store(bucket: bucket, prefix: root + "/synced/", client: client)
        #expect(source.canCopyOnServer(to: synced))
        let syncBefore = try Self.bytesReadByThisProcess()
        let synchronized = try await source.synchronize(to: synced, concurrency: 2)
        #expect(synchronized.copied == 4 && synchronized.bytes == 32 << 20, "\(synchronized)")
        let changed = patternedBytes(8 << 20, seed: 99)
        try await source.set(changed, for: "v2")
        let again = try await source.synchronize(to: synced, byContent: true, concurrency: 2)
        let readSynchronizing = try Self.bytesReadByThisProcess() - syncBefore
        #expect(again.copied == 1 && again.unchanged == 3, "\(again)")
        // The second run compared three equal values by content (24 MiB from each side) and
        // the first chunk (1 MiB) of each side of the changed one, and copied that one on the
        // server: a streamed copy would have read its 8 MiB too.
        #expect(readSynchronizing < (48 << 20) + (3 << 20), "synchronizing read \(readSynchronizing) bytes")
        #expect(try await synced["v2"] == changed)

        // Behind a type-erasing wrapper the destination is not known to be S3: the values
        // stream through this process.
        let streamed = S3Store(bucket: bucket, prefix: root + "/streamed/", client: client)
        #expect(!source.canCopyOnServer(to: AnyKeyValueStore(streamed)))
        let streamedBefore = try Self.bytesReadByThisProcess()
        try await source.copy(to: AnyKeyValueStore(streamed), concurrency: 2)
        let readStreaming = try Self.bytesReadByThisProcess() - streamedBefore
        #expect(readStreaming >= 32 << 20, "the streamed copy read only \(readStreaming) bytes")

        for (index, value) in values.enumerated() {
            #expect(try await onServer[try StoreKey(validating: "v\(index)")] == value)
            if index != 2 { #expect(try await synced[try StoreKey(validating: "v\(index)")] == value) }
        }
        #else
        throw TestFailure("reads /proc/self/io, which only Linux has")
        #endif
    }

    /// `rchar` of `/proc/self/io`: the bytes this process has read through read(2) and its
    /// kin, from files and sockets alike.
    static func bytesReadByThisProcess() throws -> Int {
        let text = try String(contentsOfFile: "/proc/self/io", encoding: .utf8)
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("rchar:") })
        return try #require(Int(line.dropFirst("rchar:".count).trimmingCharacters(in: .whitespaces)))
    }
}
