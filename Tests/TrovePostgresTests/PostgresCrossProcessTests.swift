import Foundation
import Testing
import Trove
@testable import TrovePostgres
import TroveTestSupport

/// Compare-and-swap across processes: two helper processes increment one counter 400 times
/// each through `update` (a read, then an `UPDATE … WHERE etag = $7`), and no increment is lost.
@Suite("PostgresStore: cross-process compare-and-swap", .enabled(if: TestServer.postgres.isAvailable, TestServer.postgres.absence))
struct PostgresCrossProcessTests {
    @Test(.timeLimit(.minutes(5)))
    func twoProcessesIncrementingOneKeyLoseNothing() async throws {
        let helper = try BuiltExecutable.locate("TrovePostgresTestHelper")
        let table = freshName("t_")
        let url = try TestServer.postgres.require() + "?table=\(table)"
        // The table exists before either process opens it, so that they do not race to create it.
        let store = try await PostgresStore(client: PostgresClients.shared, table: table, location: "test")
        do {
            async let first = ChildProcess.run(helper, ["cas-increment", url, "counters/shared", "400"])
            async let second = ChildProcess.run(helper, ["cas-increment", url, "counters/shared", "400"])
            for (index, outcome) in try await [first, second].enumerated() {
                #expect(outcome.status == 0 && outcome.outputText == "done\n",
                        "helper \(index + 1) exited with \(outcome.status): \(outcome.errorMessage)")
            }
            #expect(try await store.read("counters/shared")?.value == Data("800".utf8))
            try await execute("DROP TABLE \(store.sql.table)")
        } catch {
            _ = try? await execute("DROP TABLE IF EXISTS \(store.sql.table)")
            throw error
        }
    }
}
