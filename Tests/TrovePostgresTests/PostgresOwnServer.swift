import Foundation
import TroveTestSupport

/// A PostgreSQL cluster of the test's own on 127.0.0.1 (a second instance beside the one that
/// `scripts/servers/postgres.sh` starts, since restarting that one, or changing its TLS, would
/// fail the suites running beside the test), which a test restarts with
/// `pg_ctl restart -m immediate` or starts with a certificate of its own.
///
/// An immediate restart is a crash of the server alone: the postmaster and its backends quit
/// without a checkpoint, and the next start replays the write-ahead log. The operating system
/// keeps running, and so does its page cache, so `fsync = off` loses nothing here (what was
/// written to the kernel is read back from it), while `synchronous_commit = off` would: a commit
/// is then acknowledged before its log record leaves the server's memory, and an immediate
/// shutdown drops that memory. So this cluster runs with `fsync = off` for speed and
/// `synchronous_commit = on`, under which every acknowledged commit is in the kernel's hands.
final class OwnPostgresServer: Sendable {
    static let binaries = ProcessInfo.processInfo.environment["TROVE_POSTGRES_BIN"] ?? "/usr/lib/postgresql/15/bin"

    let directory: URL
    let port: Int
    let password: String
    var data: URL { directory.appendingPathComponent("data") }
    /// The superuser's URL over TCP, without TLS.
    var url: String { url(options: "sslmode=disable") }

    /// The superuser's URL over TCP to `host`, with `options` (such as `sslmode=require`).
    func url(host: String = "127.0.0.1", options: String) -> String {
        "postgres://postgres:\(password)@\(host):\(port)/postgres?\(options)"
    }

    /// The certificate authority that signed the server's certificate, with `tls`.
    var certificateAuthority: URL { directory.appendingPathComponent("ca.crt") }

    /// Makes and starts the cluster; with `tls`, it offers TLS with a certificate for
    /// `localhost` and `127.0.0.1` signed by a certificate authority made here
    /// (``certificateAuthority``).
    init(tls: Bool = false) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("trove-postgres-own-\(UUID().uuidString)")
        port = try ServerSocketPort.free()
        password = freshName("pw")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        chmod(directory.path, 0o700)
        let passwordFile = directory.appendingPathComponent("password")
        try Data((password + "\n").utf8).write(to: passwordFile)
        try Self.giveToServerUser(directory)
        try Self.giveToServerUser(passwordFile)
        try await run("initdb", ["-D", data.path, "-U", "postgres", "--auth-local=peer", "--auth-host=scram-sha-256",
                                 "--encoding=UTF8", "--locale=C.UTF-8", "--pwfile=\(passwordFile.path)"])
        try FileManager.default.removeItem(at: passwordFile)
        var settings = """
            listen_addresses = '127.0.0.1'
            port = \(port)
            unix_socket_directories = '\(directory.path)'
            password_encryption = 'scram-sha-256'
            fsync = off
            synchronous_commit = on
            full_page_writes = off

            """
        if tls {
            try await makeCertificates()
            settings += """
                ssl = on
                ssl_cert_file = '\(directory.appendingPathComponent("server.crt").path)'
                ssl_key_file = '\(directory.appendingPathComponent("server.key").path)'

                """
        }
        let configuration = try FileHandle(forWritingTo: data.appendingPathComponent("postgresql.conf"))
        try configuration.seekToEnd()
        try configuration.write(contentsOf: Data(settings.utf8))
        try configuration.close()
        try await run("pg_ctl", ["-D", data.path, "-l", directory.appendingPathComponent("server.log").path, "-w", "-t", "60", "start"])
    }

    /// A certificate authority and a server certificate it signs, for `localhost` and
    /// `127.0.0.1`, made with openssl (P-256 keys, valid for two days).
    private func makeCertificates() async throws {
        let openssl = URL(fileURLWithPath: "/usr/bin/openssl")
        let extensions = directory.appendingPathComponent("server.ext")
        try Data("subjectAltName = DNS:localhost, IP:127.0.0.1\n".utf8).write(to: extensions)
        let steps: [[String]] = [
            ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
             "-subj", "/CN=Trove test authority", "-keyout", "ca.key", "-out", "ca.crt"],
            ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr"],
            ["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
             "-extfile", extensions.path, "-out", "server.crt"],
        ]
        for step in steps {
            let outcome = try await ChildProcess.run(openssl, step, in: directory)
            guard outcome.status == 0 else {
                throw TestFailure("openssl \(step.joined(separator: " ")) exited with \(outcome.status): \(outcome.errorMessage)")
            }
        }
        let key = directory.appendingPathComponent("server.key")
        chmod(key.path, 0o600)
        try Self.giveToServerUser(key)
        try Self.giveToServerUser(directory.appendingPathComponent("server.crt"))
    }

    /// `pg_ctl restart -m immediate`, waiting (up to 60 s) until the server accepts connections again.
    func restartImmediately() async throws {
        try await run("pg_ctl", ["-D", data.path, "-l", directory.appendingPathComponent("server.log").path,
                                 "-m", "immediate", "-w", "-t", "60", "restart"])
    }

    /// Stops the server (immediate: nothing is left to keep) and removes its files.
    func stop() async {
        _ = try? await run("pg_ctl", ["-D", data.path, "-m", "immediate", "-w", "-t", "20", "stop"])
        try? FileManager.default.removeItem(at: directory)
    }

    /// The server's log, for a failure's message.
    var log: String {
        (try? String(contentsOf: directory.appendingPathComponent("server.log"), encoding: .utf8)) ?? "(no log)"
    }

    /// Runs one of the server's programs, as the postgres user when this process is root (the
    /// server refuses to run as root).
    @discardableResult
    private func run(_ program: String, _ arguments: [String]) async throws -> ChildOutcome {
        let path = Self.binaries + "/" + program
        let outcome = getuid() == 0
            ? try await ChildProcess.run(URL(fileURLWithPath: "/usr/sbin/runuser"), ["-u", "postgres", "--", path] + arguments,
                                         in: directory)
            : try await ChildProcess.run(URL(fileURLWithPath: path), arguments, in: directory)
        guard outcome.status == 0, !outcome.wasSignalled else {
            throw TestFailure("\(program) \(arguments.joined(separator: " ")) exited with \(outcome.status): "
                              + outcome.errorMessage + "\n" + outcome.outputText)
        }
        return outcome
    }

    /// Hands `file` to the postgres user when this process is root.
    private static func giveToServerUser(_ file: URL) throws {
        guard getuid() == 0 else { return }
        guard let user = getpwnam("postgres") else { throw TestFailure("the postgres user is missing (Debian's postgresql-15 creates it)") }
        guard chown(file.path, user.pointee.pw_uid, user.pointee.pw_gid) == 0 else {
            throw TestFailure("chown of \(file.path) to postgres failed: errno \(errno)")
        }
    }
}
