import Foundation
import Testing
import Trove
import TrovePostgres
import TroveTestSupport

/// A PostgreSQL store as the destination of a copy, a comparison and a synchronization from a
/// file store.
@Suite("PostgresStore: copy, compare and synchronize", .enabled(if: TestServer.postgres.isAvailable, TestServer.postgres.absence))
struct PostgresSynchronizationTests {
    @Test("file store to PostgreSQL: copied values, expiry kept, extras deleted")
    func fileToPostgres() async throws {
        try await withScratchDirectory("trove-postgres-sync") { directory in
            try await withFreshTable { store in
                try await checkCopyCompareSynchronize(from: try FileSystemStore(root: directory), to: store)
            }
        }
    }
}
