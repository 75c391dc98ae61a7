import Foundation
import NIOCore
import NIOPosix
import Testing
import TroveRedisClient
import TroveTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// What the TLS suites need on the machine: a redis-server built with TLS (Debian's is) and
/// `openssl`, to make certificates.
enum TLSTools {
    /// The redis-server binary: `TROVE_TEST_REDIS_SERVER`, else Debian's.
    static let redisServer: String? = TestServer.redisBinary.value
        ?? (FileManager.default.isExecutableFile(atPath: "/usr/bin/redis-server") ? "/usr/bin/redis-server" : nil)
    static let openssl = URL(fileURLWithPath: "/usr/bin/openssl")

    /// Whether the suites can run, or the run requires the Redis servers anyway.
    static var isAvailable: Bool {
        (redisServer != nil && FileManager.default.isExecutableFile(atPath: openssl.path)) || TestServer.redisBinary.isRequired
    }

    static let absence = Comment(rawValue: "the TLS tests need redis-server (with TLS) and /usr/bin/openssl")

    static func requireRedisServer() throws -> String {
        guard let redisServer else { throw TestFailure("no redis-server: set TROVE_TEST_REDIS_SERVER or install Debian's redis-server") }
        return redisServer
    }
}

/// Certificates made with `openssl` in a directory of the test's own (P-256 keys, valid for
/// two days): a CA and, signed by it, a server certificate for `127.0.0.1` and `localhost`, a
/// server certificate for the name `redis.test` only, and a client certificate; and a second
/// CA, with a client certificate of its own, that the servers do not trust.
struct TestCertificates {
    let directory: URL

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
    /// The CA the servers' certificates come from.
    var authority: String { path("ca.pem") }
    /// A CA that signed none of the servers' certificates.
    var otherAuthority: String { path("other-ca.pem") }
    /// For `127.0.0.1` and `localhost` (subject alternative names), server and client use.
    var server: (certificate: String, key: String) { (path("server.pem"), path("server.key")) }
    /// For `redis.test` only.
    var namedServer: (certificate: String, key: String) { (path("named.pem"), path("named.key")) }
    /// A client certificate of ``authority``.
    var client: (certificate: String, key: String) { (path("client.pem"), path("client.key")) }
    /// A client certificate of ``otherAuthority``.
    var strangerClient: (certificate: String, key: String) { (path("stranger.pem"), path("stranger.key")) }

    /// Makes every certificate in `directory`.
    static func make(in directory: URL) async throws -> TestCertificates {
        let certificates = TestCertificates(directory: directory)
        func run(_ arguments: [String]) async throws {
            let outcome = try await ChildProcess.run(TLSTools.openssl, arguments, in: directory)
            guard outcome.status == 0 else {
                throw TestFailure("openssl \(arguments.joined(separator: " ")) exited with \(outcome.status): \(outcome.errorMessage)")
            }
        }
        let curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        for (name, subject) in [("ca", "Trove test CA"), ("other-ca", "Trove test stranger CA")] {
            try await run(["req", "-x509"] + curve + ["-days", "2", "-subj", "/CN=\(subject)", "-keyout", "\(name).key", "-out", "\(name).pem"])
        }
        let leaves: [(name: String, issuer: String, names: String, usage: String)] = [
            // Cluster nodes show their certificate to each other as clients too.
            ("server", "ca", "IP:127.0.0.1, DNS:localhost", "serverAuth, clientAuth"),
            ("named", "ca", "DNS:redis.test", "serverAuth"),
            ("client", "ca", "DNS:trove-client", "clientAuth"),
            ("stranger", "other-ca", "DNS:trove-client", "clientAuth"),
        ]
        for (serial, leaf) in leaves.enumerated() {
            let extensions = directory.appendingPathComponent("\(leaf.name).ext")
            try Data("subjectAltName = \(leaf.names)\nextendedKeyUsage = \(leaf.usage)\n".utf8).write(to: extensions)
            try await run(["req"] + curve + ["-subj", "/CN=trove \(leaf.name)", "-keyout", "\(leaf.name).key", "-out", "\(leaf.name).csr"])
            try await run(["x509", "-req", "-in", "\(leaf.name).csr", "-CA", "\(leaf.issuer).pem", "-CAkey", "\(leaf.issuer).key",
                           "-set_serial", String(serial + 1), "-days", "2", "-extfile", extensions.path, "-out", "\(leaf.name).pem"])
        }
        return certificates
    }
}

/// A redis-server of the test's own on 127.0.0.1 that speaks TLS on a free port (and, when
/// asked, plain RESP on another), its files in a directory of its own; stopped by PID.
final class TLSRedisServer: Sendable {
    /// The TLS port.
    let port: Int
    /// The plain port, when the server has one.
    let plainPort: Int?
    let directory: URL
    private let process: SpawnedProcess

    /// Starts the server and waits (up to 15 s) until it accepts connections.
    ///
    /// - Parameters:
    ///   - certificates: Where the CA is (the server trusts client certificates of
    ///     ``TestCertificates/authority``).
    ///   - identity: The certificate and key the server shows.
    ///   - requiresClientCertificates: `--tls-auth-clients yes` rather than `no`.
    ///   - plain: Whether to listen for plain RESP too.
    ///   - clusterBusPortFree: Whether the port's cluster bus port (+10,000) must be free too.
    ///   - arguments: More redis-server arguments.
    init(certificates: TestCertificates, identity: (certificate: String, key: String), requiresClientCertificates: Bool = false,
         plain: Bool = false, clusterBusPortFree: Bool = false, arguments: [String] = []) async throws {
        port = try await Self.freePort(withBusPort: clusterBusPortFree)
        plainPort = plain ? try await Self.freePort(withBusPort: false) : nil
        directory = certificates.directory.appendingPathComponent("redis-\(port)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let process = SpawnedProcess()
        process.executableURL = URL(fileURLWithPath: try TLSTools.requireRedisServer())
        process.arguments = ["--bind", "127.0.0.1", "--port", String(plainPort ?? 0), "--tls-port", String(port),
                             "--tls-cert-file", identity.certificate, "--tls-key-file", identity.key,
                             "--tls-ca-cert-file", certificates.authority, "--tls-auth-clients", requiresClientCertificates ? "yes" : "no",
                             "--dir", directory.path, "--save", "", "--appendonly", "no", "--daemonize", "no",
                             "--logfile", directory.appendingPathComponent("redis.log").path] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        do {
            try await waitForConnections()
        } catch {
            stop()
            throw error
        }
    }

    /// Kills the server with SIGKILL, by its PID (it keeps nothing to save).
    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// What the server logged, for a failure's report.
    var log: String {
        (try? String(contentsOf: directory.appendingPathComponent("redis.log"), encoding: .utf8)) ?? ""
    }

    private func waitForConnections() async throws {
        for _ in 0..<750 {
            guard process.isRunning else {
                throw TestFailure("redis-server ended at start (status \(process.terminationStatus)): \(log.suffix(2000))")
            }
            if (try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port).get().close()) != nil {
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestFailure("redis-server did not accept connections on 127.0.0.1:\(port) within 15 s: \(log.suffix(2000))")
    }

    /// A port that nothing listens on now (and whose cluster bus port is free too, if asked).
    private static func freePort(withBusPort: Bool) async throws -> Int {
        for _ in 0..<100 {
            let probe = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
            let port = probe.localAddress?.port ?? 0
            try await probe.close()
            guard withBusPort else { return port }
            guard port > 0, port + 10_000 <= 65_535 else { continue }
            if let bus = try? await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: port + 10_000).get() {
                try await bus.close()
                return port
            }
        }
        throw TestFailure("no free port on 127.0.0.1")
    }
}

/// A client of one server at `port` with `tls`, shut down after `body`.
func withTLSClient<T>(port: Int, tls: RedisClient.TLS?, connectTimeout: Duration = .seconds(5), host: String = "127.0.0.1",
                      _ body: (RedisClient) async throws -> T) async throws -> T {
    var configuration = RedisClient.Configuration(host: host, port: port)
    configuration.tls = tls
    configuration.connectTimeout = connectTimeout
    configuration.connectionCount = 1
    return try await using(RedisClient(configuration: configuration), body)
}

/// The ``RedisClientError`` that `body` throws, recorded as an issue if it throws nothing or
/// something else.
func clientError(sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void) async -> RedisClientError? {
    do {
        try await body()
        Issue.record("expected a RedisClientError, but nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as RedisClientError {
        return error
    } catch {
        Issue.record("expected a RedisClientError, got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
    }
    return nil
}
