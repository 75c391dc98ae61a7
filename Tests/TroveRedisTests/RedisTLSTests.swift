import Foundation
import NIOCore
import NIOPosix
import Testing
import Trove
import TroveConformance
import TroveRedis
import TroveRedisClient
import TroveTestSupport

/// The client and the store over TLS, against redis-servers of each test's own that speak
/// TLS only (certificates made with openssl for the test): the contract, trust, names, mutual
/// TLS, ports mixed up, bad files, `rediss:` URLs, the command line, and a cluster.
@Suite("Redis over TLS", .enabled(if: TLSTools.isAvailable, TLSTools.absence))
struct RedisTLSTests {
    /// Runs `body` with fresh certificates and a server showing `identity` (the certificate
    /// for 127.0.0.1 by default), stopped by PID when `body` ends.
    func withServer<T>(identity: KeyPath<TestCertificates, (certificate: String, key: String)> = \.server,
                       requiresClientCertificates: Bool = false, plain: Bool = false,
                       _ body: (TLSRedisServer, TestCertificates) async throws -> T) async throws -> T {
        try await withScratchDirectory("trove-redis-tls") { directory in
            let certificates = try await TestCertificates.make(in: directory)
            let server = try await TLSRedisServer(certificates: certificates, identity: certificates[keyPath: identity],
                                                  requiresClientCertificates: requiresClientCertificates, plain: plain)
            defer { server.stop() }
            return try await body(server, certificates)
        }
    }

    // MARK: The contract

    /// Every contract check (but the real-time expiry ones, which wait) on a store whose every
    /// connection is TLS: the server has no plain port.
    @Test(.timeLimit(.minutes(10)))
    func theContractHoldsOverTLS() async throws {
        try await withServer { server, certificates in
            let tls = RedisClient.TLS(trustRoots: .file(certificates.authority))
            var configuration = RedisClient.Configuration(host: "127.0.0.1", port: server.port)
            configuration.tls = tls
            let client = RedisClient(configuration: configuration)
            let second = RedisClient(configuration: configuration)
            do {
                try await runContract(client, second)
            } catch {
                await client.shutdown()
                await second.shutdown()
                throw error
            }
            await client.shutdown()
            await second.shutdown()
        }
    }

    /// Every contract check but the real-time ones, four at a time (the server and the test
    /// share two cores), each on a store of `client` under a fresh prefix.
    func runContract(_ client: RedisClient, _ second: RedisClient) async throws {
        let checks = ContractCheck.allCases.filter { !RedisConformanceTests.realTimeChecks.contains($0.name) }
        var notApplicable: [String] = []
        try await withThrowingTaskGroup(of: String?.self) { group in
            var next = 0
            func start() {
                guard next < checks.count else { return }
                let check = checks[next]
                next += 1
                group.addTask {
                    let prefix = uniquePrefix("tls-conformance")
                    let store = RedisStore(client: client, prefix: prefix)
                    let environment = ConformanceEnvironment(
                        largeValueSize: 16 << 20,
                        reopen: { @Sendable in RedisStore(client: second, prefix: prefix) },
                        isolatesEachCheck: true)
                    var skipped: String?
                    do {
                        if case .skipped(let reason) = try await check.run(against: store, environment: environment) {
                            skipped = "\(check.name): \(reason)"
                        }
                    } catch let failure as ConformanceFailure {
                        Issue.record("\(check.name) over TLS: \(failure.debugDescription)")
                    }
                    try await deleteServerKeys(withPrefix: prefix, client: client)
                    return skipped
                }
            }
            for _ in 0..<4 { start() }
            while let outcome = try await group.next() {
                if let outcome { notApplicable.append(outcome) }
                start()
            }
        }
        #expect(notApplicable.count < checks.count / 2, "most checks did not apply: \(notApplicable)")
        #expect(client.statistics.commandsSent > checks.count)
    }

    // MARK: Trust and names

    /// A client that trusts another CA, or only the system's, fails at once (not at the
    /// connect timeout) with a TLS error naming the server, and keeps failing so while it
    /// waits to reconnect; the store reports it as unavailable and not retryable.
    @Test(.timeLimit(.minutes(2)))
    func anUntrustedCertificateFailsQuickly() async throws {
        try await withServer { server, certificates in
            for roots in [RedisClient.TLS.TrustRoots.file(certificates.otherAuthority), .system] {
                let started = ContinuousClock.now
                try await withTLSClient(port: server.port, tls: RedisClient.TLS(trustRoots: roots), connectTimeout: .seconds(20)) { client async throws in
                    let error = await clientError { _ = try await client.send(RedisCommand("PING")) }
                    #expect(ContinuousClock.now - started < .seconds(5), "the failure took \(ContinuousClock.now - started)")
                    #expect(error?.code == .tlsHandshakeFailed, "\(String(describing: error))")
                    #expect(error?.tlsFailure == .untrustedCertificate, "\(String(describing: error))")
                    #expect(error?.message.contains("127.0.0.1:\(server.port)") == true, "\(String(describing: error))")
                    #expect(error?.message.contains("not trusted") == true, "\(String(describing: error))")
                    #expect(error?.isRetryable == false)
                    // While the client waits to reconnect, calls fail at once, with the same code.
                    let again = await clientError { _ = try await client.send(RedisCommand("PING")) }
                    #expect(again?.code == .tlsHandshakeFailed, "\(String(describing: again))")
                    #expect(again?.tlsFailure == .untrustedCertificate)
                    let store = RedisStore(client: client, prefix: uniquePrefix("untrusted"))
                    let storeError = try await expectStoreError(.unavailable) { _ = try await store.read("k") }
                    #expect(!storeError.isRetryable, "\(storeError)")
                    #expect(storeError.message.contains("TLS"), "\(storeError)")
                }
            }
        }
    }

    /// A certificate for `redis.test` only, reached at 127.0.0.1: full verification refuses
    /// it unless the server name is set to `redis.test`; `no-hostname` accepts it but still
    /// wants the CA's signature; `none` accepts anything.
    @Test(.timeLimit(.minutes(2)))
    func namesAreCheckedUnderFullVerificationOnly() async throws {
        try await withServer(identity: \.namedServer) { server, certificates in
            let trusted = RedisClient.TLS.TrustRoots.file(certificates.authority)
            let ping = RedisCommand("PING")
            try await withTLSClient(port: server.port, tls: RedisClient.TLS(trustRoots: trusted)) { client async throws in
                let error = await clientError { _ = try await client.send(ping) }
                #expect(error?.code == .tlsHandshakeFailed, "\(String(describing: error))")
                #expect(error?.tlsFailure == .nameMismatch, "\(String(describing: error))")
                #expect(error?.message.contains("'127.0.0.1'") == true, "\(String(describing: error))")
            }
            try await withTLSClient(port: server.port, tls: RedisClient.TLS(trustRoots: trusted, serverName: "other.test")) { client async throws in
                let error = await clientError { _ = try await client.send(ping) }
                #expect(error?.tlsFailure == .nameMismatch, "\(String(describing: error))")
            }
            // localhost is a host name: it is checked (and sent as SNI) the same way.
            try await withTLSClient(port: server.port, tls: RedisClient.TLS(trustRoots: trusted), host: "localhost") { client async throws in
                let error = await clientError { _ = try await client.send(ping) }
                #expect(error?.tlsFailure == .nameMismatch, "\(String(describing: error))")
            }
            try await withTLSClient(port: server.port, tls: RedisClient.TLS(trustRoots: trusted, serverName: "redis.test")) { client async throws in
                let reply = try await client.send(ping)
                #expect(reply.string == "PONG")
            }
            try await withTLSClient(port: server.port, tls: RedisClient.TLS(trustRoots: trusted, verification: .noHostnameVerification)) { client async throws in
                let reply = try await client.send(ping)
                #expect(reply.string == "PONG")
            }
            let stranger = RedisClient.TLS(trustRoots: .file(certificates.otherAuthority), verification: .noHostnameVerification)
            try await withTLSClient(port: server.port, tls: stranger) { client async throws in
                let error = await clientError { _ = try await client.send(ping) }
                #expect(error?.tlsFailure == .untrustedCertificate, "\(String(describing: error))")
            }
            try await withTLSClient(port: server.port, tls: RedisClient.TLS(verification: .none)) { client async throws in
                let reply = try await client.send(ping)
                #expect(reply.string == "PONG")
            }
        }
    }

    /// The certificate for 127.0.0.1 and localhost passes full verification by either.
    @Test(.timeLimit(.minutes(2)))
    func addressesAndNamesInTheCertificateVerify() async throws {
        try await withServer { server, certificates in
            let tls = RedisClient.TLS(trustRoots: .file(certificates.authority))
            for host in ["127.0.0.1", "localhost"] {
                try await withTLSClient(port: server.port, tls: tls, host: host) { client async throws in
                    #expect(try await client.send(RedisCommand("PING")).string == "PONG", "via \(host)")
                    #expect(client.description == "rediss://\(host):\(server.port)")
                }
            }
        }
    }

    // MARK: Mutual TLS

    /// `--tls-auth-clients yes`: without a client certificate, or with one of another CA, the
    /// handshake fails with the client's certificate refused (`permissionDenied` for the
    /// store); with one of the server's CA, commands work.
    @Test(.timeLimit(.minutes(2)))
    func mutualTLSNeedsATrustedClientCertificate() async throws {
        try await withServer(requiresClientCertificates: true) { server, certificates in
            let trusted = RedisClient.TLS.TrustRoots.file(certificates.authority)
            try await withTLSClient(port: server.port, tls: RedisClient.TLS(trustRoots: trusted)) { client async throws in
                let started = ContinuousClock.now
                let error = await clientError { _ = try await client.send(RedisCommand("PING")) }
                #expect(ContinuousClock.now - started < .seconds(4))
                #expect(error?.code == .tlsHandshakeFailed, "\(String(describing: error))")
                #expect(error?.tlsFailure == .clientCertificateRejected, "\(String(describing: error))")
                #expect(error?.message.contains("127.0.0.1:\(server.port)") == true, "\(String(describing: error))")
                let store = RedisStore(client: client, prefix: uniquePrefix("mtls"))
                _ = try await expectStoreError(.permissionDenied) { _ = try await store.read("k") }
            }
            let stranger = RedisClient.TLS(trustRoots: trusted, clientCertificate: .init(
                certificateChain: .file(certificates.strangerClient.certificate), privateKey: .file(certificates.strangerClient.key)))
            try await withTLSClient(port: server.port, tls: stranger) { client async throws in
                let error = await clientError { _ = try await client.send(RedisCommand("PING")) }
                #expect(error?.tlsFailure == .clientCertificateRejected, "\(String(describing: error))")
            }
            // The same identity given as PEM text rather than files.
            let certificate = try String(contentsOfFile: certificates.client.certificate, encoding: .utf8)
            let key = try String(contentsOfFile: certificates.client.key, encoding: .utf8)
            for identity in [RedisClient.TLS.ClientCertificate(certificateChain: .file(certificates.client.certificate),
                                                                privateKey: .file(certificates.client.key)),
                             RedisClient.TLS.ClientCertificate(certificateChain: .pem(certificate), privateKey: .pem(key))] {
                let tls = RedisClient.TLS(trustRoots: trusted, clientCertificate: identity)
                #expect(!tls.description.contains("PRIVATE KEY"))
                try await withTLSClient(port: server.port, tls: tls) { client async throws in
                    #expect(try await client.send(RedisCommand("SET", uniquePrefix("mtls") + "k", "v")).string == "OK")
                }
            }
        }
    }

    // MARK: Ports mixed up

    /// A plain client on the TLS port fails with a hint to use TLS; a TLS client on the plain
    /// port fails within the connect timeout, as not TLS or as a handshake that never ended.
    @Test(.timeLimit(.minutes(2)))
    func plainAndTLSPortsMixedUp() async throws {
        try await withServer(plain: true) { server, certificates in
            let plainPort = try #require(server.plainPort)
            try await withTLSClient(port: server.port, tls: nil, connectTimeout: .seconds(2)) { client async throws in
                let started = ContinuousClock.now
                let error = await clientError { _ = try await client.send(RedisCommand("PING")) }
                #expect(ContinuousClock.now - started < .seconds(4))
                #expect(error?.code == .connectFailed, "\(String(describing: error))")
                #expect(error?.message.contains("rediss://") == true, "\(String(describing: error))")
            }
            let tls = RedisClient.TLS(trustRoots: .file(certificates.authority))
            try await withTLSClient(port: plainPort, tls: tls, connectTimeout: .seconds(1)) { client async throws in
                let started = ContinuousClock.now
                let error = await clientError { _ = try await client.send(RedisCommand("PING")) }
                #expect(ContinuousClock.now - started < .seconds(3), "took \(ContinuousClock.now - started)")
                let notTLS = error?.code == .tlsHandshakeFailed && error?.tlsFailure == .notTLS
                let timedOut = error?.code == .connectFailed && error?.message.contains("no TLS handshake") == true
                #expect(notTLS || timedOut, "\(String(describing: error))")
            }
            // The plain port itself still works without TLS.
            try await withTLSClient(port: plainPort, tls: nil) { client async throws in
                #expect(try await client.send(RedisCommand("PING")).string == "PONG")
            }
        }
    }

    /// A server that accepts the connection and then says nothing: the TLS handshake is
    /// given up at the connect timeout, with a message saying so, never a hang.
    @Test(.timeLimit(.minutes(1)))
    func aSilentServerFailsAtTheConnectTimeout() async throws {
        let silent = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(silent.localAddress?.port)
        do {
            // A connect timeout that a loaded machine's TCP connect on loopback stays well inside,
            // so that it is the handshake that runs out of it.
            try await withTLSClient(port: port, tls: RedisClient.TLS(), connectTimeout: .seconds(3)) { client async throws in
                let started = ContinuousClock.now
                let error = await clientError { _ = try await client.send(RedisCommand("PING")) }
                let elapsed = ContinuousClock.now - started
                #expect(elapsed >= .milliseconds(2900), "gave up after \(elapsed), before the connect timeout")
                #expect(error?.code == .connectFailed, "\(String(describing: error))")
                #expect(error?.message.contains("no TLS handshake with 127.0.0.1:\(port)") == true, "\(String(describing: error))")
                #expect(error?.isRetryable == true)
            }
        } catch {
            try await silent.close()
            throw error
        }
        try await silent.close()
    }

    // MARK: Bad files

    /// Files that are missing, not PEM, or a key of another certificate: `validate()` names
    /// the file, a client fails every call with `invalidTLSConfiguration` (no connection
    /// made), and the opener refuses the URL as an invalid argument.
    @Test func unusableTLSFilesAreReportedBeforeConnecting() async throws {
        try await withScratchDirectory("trove-redis-tls-files") { directory in
            let certificates = try await TestCertificates.make(in: directory)
            let missing = directory.appendingPathComponent("missing.pem").path
            let garbage = directory.appendingPathComponent("garbage.pem")
            try Data("not a certificate\n".utf8).write(to: garbage)
            let settings: [RedisClient.TLS] = [
                RedisClient.TLS(trustRoots: .file(missing)),
                RedisClient.TLS(trustRoots: .file(garbage.path)),
                RedisClient.TLS(trustRoots: .pem("")),
                RedisClient.TLS(clientCertificate: .init(certificateChain: .file(certificates.client.certificate), privateKey: .file(missing))),
                RedisClient.TLS(clientCertificate: .init(certificateChain: .file(certificates.client.certificate),
                                                         privateKey: .file(certificates.server.key))),
            ]
            for tls in settings {
                do throws(RedisClientError) {
                    try tls.validate()
                    Issue.record("\(tls) was accepted")
                } catch {
                    #expect(error.code == .invalidTLSConfiguration, "\(tls): \(error)")
                }
                try await withTLSClient(port: 1, tls: tls) { client async throws in
                    let error = await clientError { _ = try await client.send(RedisCommand("PING")) }
                    #expect(error?.code == .invalidTLSConfiguration, "\(tls): \(String(describing: error))")
                }
            }
            do throws(RedisClientError) {
                try RedisClient.TLS(trustRoots: .file(missing)).validate()
            } catch {
                #expect(error.message.contains(missing), "\(error)")
            }
            do throws(RedisClientError) {
                try settings[4].validate()
            } catch {
                #expect(error.message.contains("does not belong"), "\(error)")
            }
            let error = try await expectStoreError(.invalidArgument) {
                _ = try await StoreOpener.withRedis.open("rediss://127.0.0.1:1/0?tls-ca=\(missing)")
            }
            #expect(error.message.contains(missing), "\(error)")
            try RedisClient.TLS(trustRoots: .file(certificates.authority)).validate()
        }
    }

    // MARK: URLs and the command line

    /// `rediss://` opens a store over TLS, with the CA given by an absolute path or by one
    /// relative to the opening context's directory; the password never shows.
    @Test(.timeLimit(.minutes(2)))
    func theOpenerOpensARedissStore() async throws {
        try await withServer { server, certificates in
            let prefix = uniquePrefix("rediss-opener")
            let url = "rediss://:not-the-password@127.0.0.1:\(server.port)/0?tls-ca=\(certificates.authority)&prefix=\(prefix)"
            try await StoreOpener.withRedis.withStore(url) { store in
                #expect("\(store)".contains("rediss://127.0.0.1:\(server.port)"), "\(store)")
                #expect(!"\(store)".contains("not-the-password"))
                try await store.set(Data("over TLS".utf8), for: "k")
                #expect(try await store.read("k")?.value == Data("over TLS".utf8))
            }
            let relative = "rediss://127.0.0.1:\(server.port)/0?tls-ca=ca.pem&prefix=\(prefix)"
            try await StoreOpener.withRedis.withStore(relative, in: StoreOpeningContext(currentDirectory: certificates.directory)) { store in
                #expect(try await store.read("k")?.value == Data("over TLS".utf8))
                try await store.removeAll(withPrefix: "")
                #expect(try await store.count() == 0)
            }
        }
    }

    /// `trove --store rediss://…?tls-ca=… put k -` then `get k`: the bytes come back; with
    /// another CA, one error line naming the server and the TLS failure, exit status 4.
    @Test(.timeLimit(.minutes(2)))
    func theCommandLinePutsAndGetsOverTLS() async throws {
        try await withServer { server, certificates in
            let trove = try BuiltExecutable.trove()
            let prefix = uniquePrefix("rediss-cli")
            let store = "rediss://127.0.0.1:\(server.port)/0?tls-ca=\(certificates.authority)&prefix=\(prefix)"
            let input = certificates.directory.appendingPathComponent("input")
            let bytes = Data((0..<5000).map { UInt8($0 % 251) })
            try bytes.write(to: input)
            let put = try await ChildProcess.run(trove, ["--store", store, "put", "greeting", "-"], standardInput: input,
                                                 scratch: certificates.directory)
            #expect(put.status == 0, "\(put.errorMessage)")
            let get = try await ChildProcess.run(trove, ["--store", store, "get", "greeting"], scratch: certificates.directory)
            #expect(get.status == 0, "\(get.errorMessage)")
            #expect(get.output == bytes)
            let untrusted = "rediss://127.0.0.1:\(server.port)/0?tls-ca=\(certificates.otherAuthority)&prefix=\(prefix)"
            let refused = try await ChildProcess.run(trove, ["--store", untrusted, "get", "greeting"], scratch: certificates.directory)
            #expect(refused.status == 4, "\(refused.errorMessage)")
            #expect(refused.errorMessage.split(separator: "\n").count == 1, "\(refused.errorMessage)")
            #expect(refused.errorMessage.contains("TLS handshake with 127.0.0.1:\(server.port) failed"), "\(refused.errorMessage)")
            let plain = "redis://127.0.0.1:\(server.port)/0?tls-ca=\(certificates.authority)"
            let misspelt = try await ChildProcess.run(trove, ["--store", plain, "get", "greeting"], scratch: certificates.directory)
            #expect(misspelt.status == 2, "\(misspelt.errorMessage)")
            #expect(misspelt.errorMessage.contains("rediss://"), "\(misspelt.errorMessage)")
            try await withTLSClient(port: server.port, tls: RedisClient.TLS(trustRoots: .file(certificates.authority))) { client async throws in
                try await deleteServerKeys(withPrefix: prefix, client: client)
            }
        }
    }

    // MARK: A cluster

    /// Three primaries, no replicas, speaking TLS only (`--tls-cluster yes`, so the bus too),
    /// joined by the test: the cluster client learns the layout over TLS (the nodes' TLS
    /// ports, from `CLUSTER SHARDS`' `tls-port`), verifies each node against the address it
    /// announces, and the store spreads over the three; a client trusting another CA fails
    /// with the TLS error, not a bare connect failure.
    @Test(.timeLimit(.minutes(3)))
    func aClusterOverTLS() async throws {
        try await withScratchDirectory("trove-redis-tls-cluster") { directory in
            let certificates = try await TestCertificates.make(in: directory)
            var nodes: [TLSRedisServer] = []
            defer { for node in nodes { node.stop() } }
            for _ in 0..<3 {
                let node = try await TLSRedisServer(certificates: certificates, identity: certificates.server, clusterBusPortFree: true,
                                                    arguments: ["--cluster-enabled", "yes", "--tls-cluster", "yes",
                                                                "--cluster-node-timeout", "3000"])
                nodes.append(node)
            }
            let tls = RedisClient.TLS(trustRoots: .file(certificates.authority))
            let ranges = [(0, 5460), (5461, 10922), (10923, 16383)]
            for (node, range) in zip(nodes, ranges) {
                try await withTLSClient(port: node.port, tls: tls) { client async throws in
                    #expect(try await client.send(RedisCommand("CLUSTER", "ADDSLOTSRANGE", range.0, range.1)).string == "OK")
                    if node === nodes[0] {
                        for other in nodes.dropFirst() {
                            #expect(try await client.send(RedisCommand("CLUSTER", "MEET", "127.0.0.1", other.port)).string == "OK")
                        }
                    }
                }
            }
            for node in nodes {
                try await withTLSClient(port: node.port, tls: tls) { client async throws in
                    var state = ""
                    for _ in 0..<600 {
                        state = try await client.send(RedisCommand("CLUSTER", "INFO")).string ?? ""
                        if state.contains("cluster_state:ok") && state.contains("cluster_known_nodes:3") { return }
                        try await Task.sleep(for: .milliseconds(50))
                    }
                    throw TestFailure("the node on \(node.port) did not reach cluster_state:ok within 30 s: \(state)\n\(node.log.suffix(2000))")
                }
            }
            let seeds = nodes.map { "127.0.0.1:\($0.port)" }.joined(separator: ",")
            let prefix = uniquePrefix("tls-cluster")
            let url = "rediss+cluster://\(seeds)/?tls-ca=\(certificates.authority)&prefix=\(prefix)"
            let settings = try RedisStore.URLConfiguration(StoreURL(parsing: url))
            let client = settings.makeClient()
            do {
                #expect(client.isCluster)
                #expect(client.description.hasPrefix("rediss+cluster://"))
                let store = settings.makeStore(client: client)
                let keys = (0..<120).map { StoreKey(stringLiteral: "k/\($0)") }
                for result in try await store.writeBatch(keys.map { BatchWrite($0, Data("v".utf8)) }) { _ = try result.get() }
                #expect(try await store.count() == 120)
                #expect(try await store.read("k/7")?.value == Data("v".utf8))
                let primaries = try await client.primaries()
                #expect(Set(primaries.map(\.port)) == Set(nodes.map(\.port)), "\(primaries)")
                let found = try await clusterKeys(withPrefix: prefix, client: client)
                #expect(found.count == 3, "keys on \(found.keys)")
                try await store.removeAll(withPrefix: "")
                #expect(try await store.count() == 0)
                try await deleteClusterKeys(withPrefix: prefix, client: client)
            } catch {
                await client.shutdown()
                throw error
            }
            await client.shutdown()

            var stranger = RedisClient.ClusterConfiguration(seeds: nodes.map { .init(host: "127.0.0.1", port: $0.port) })
            stranger.node.tls = RedisClient.TLS(trustRoots: .file(certificates.otherAuthority))
            let refused = RedisClient(cluster: stranger)
            let error = await clientError { _ = try await refused.send(RedisCommand("GET", "k")) }
            await refused.shutdown()
            #expect(error?.code == .tlsHandshakeFailed, "\(String(describing: error))")
            #expect(error?.tlsFailure == .untrustedCertificate, "\(String(describing: error))")
        }
    }
}
