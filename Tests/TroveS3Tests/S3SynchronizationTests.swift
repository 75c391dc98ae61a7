import Foundation
import Testing
import Trove
import TroveS3
import TroveS3Client
import TroveTestSupport

/// An S3 store as the destination of a copy, a comparison and a synchronization from a file
/// store; S3 keeps no expiry, so copying an expiring entry to it is refused.
@Suite("S3Store: copy, compare and synchronize", .enabled(if: TestServer.s3.isAvailable, TestServer.s3.absence), .freshBucket)
struct S3SynchronizationTests {
    @Test("file store to S3: copied values, an expiring entry refused, extras deleted")
    func fileToS3() async throws {
        let store = S3Store(bucket: try S3TestBucket.name(), prefix: UUID().uuidString.lowercased() + "/",
                            client: try S3TestServer.client())
        try await withScratchDirectory("trove-s3-sync") { directory in
            try await checkCopyCompareSynchronize(from: try FileSystemStore(root: directory), to: store)
        }
    }
}
