import Foundation
import PostgresNIO
import Testing
import Trove
@testable import TrovePostgres
import TroveTestSupport

/// `sslmode` against a server of the test's own that offers TLS with a certificate the test
/// made, and against the shared server, which offers none.
@Suite("PostgresStore: TLS", .enabled(if: TestServer.postgres.isAvailable, TestServer.postgres.absence))
struct PostgresTLSTests {
    /// Whether the store's connections use TLS, as the server sees its own session.
    func usesTLS(_ store: PostgresStore) async throws -> Bool {
        let rows = try await store.client.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").collect()
        return try #require(rows.first).decode(Bool.self)
    }

    /// Opens `url`, writes and reads one entry, and returns whether the connection used TLS.
    func roundTrip(_ url: String) async throws -> Bool {
        try await StoreOpener.standard.addingPostgres().withStore(url) { any in
            let store = try #require(any as? PostgresStore)
            try await store.set(Data("over tls?".utf8), for: "probe")
            #expect(try await store.value(for: "probe") == Data("over tls?".utf8))
            _ = try await store.delete("probe")
            return try await usesTLS(store)
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func everyModeAgainstAServerWithACertificate() async throws {
        let server = try await OwnPostgresServer(tls: true)
        do {
            let authority = server.certificateAuthority.path
            #expect(try await roundTrip(server.url(options: "sslmode=disable")) == false)
            #expect(try await roundTrip(server.url(options: "sslmode=prefer")) == true)
            #expect(try await roundTrip(server.url(options: "sslmode=require")) == true)
            // The certificate names localhost and 127.0.0.1, and the authority is the test's.
            #expect(try await roundTrip(server.url(host: "localhost", options: "sslmode=verify-full&sslrootcert=\(authority)")) == true)
            // require does not verify; verify-full against the system's roots refuses an authority
            // they do not hold, before any login, and says so.
            let untrusted = try await expectStoreError(.permissionDenied, .unavailable) {
                _ = try await roundTrip(server.url(host: "localhost", options: "sslmode=verify-full"))
            }
            #expect(untrusted.isRetryable == false, "\(untrusted)")
            #expect(untrusted.message.contains("certificate") == true, "\(untrusted)")
            #expect(!String(reflecting: untrusted).contains(server.password))
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    @Test func requireAgainstAServerWithoutTLSFails() async throws {
        let base = try TestServer.postgres.require()
        let table = freshName("t_")
        let error = try await expectStoreError(.unavailable) { _ = try await roundTrip(base + "?sslmode=require&table=\(table)") }
        #expect(error.message.contains("does not offer TLS") == true, "\(error)")
        #expect(error.isRetryable == false)
        // prefer falls back to plain TCP.
        #expect(try await roundTrip(base + "?sslmode=prefer&table=\(table)") == false)
        try await execute("DROP TABLE IF EXISTS public.\(table)")
    }
}
