import Foundation
import Testing
import Trove
import TroveRedis
import TroveRedisClient
import TroveTestSupport

@Suite("RedisStore URLs")
struct RedisURLTests {
    @Test func everyPartIsRead() throws {
        let settings = try RedisStore.URLConfiguration(StoreURL(parsing:
            "redis://alice:s3cret@cache.local:6380/2?prefix=app:&expiration=sliding:10m&connections=4&timeout=2s&connect-timeout=1s&protocol=resp2"))
        #expect(settings.client.host == "cache.local")
        #expect(settings.client.port == 6380)
        #expect(settings.client.username == "alice")
        #expect(settings.client.password == "s3cret")
        #expect(settings.client.database == 2)
        #expect(settings.client.connectionCount == 4)
        #expect(settings.client.commandTimeout == .seconds(2))
        #expect(settings.client.connectTimeout == .seconds(1))
        #expect(settings.client.prefersRESP3 == false)
        #expect(settings.prefix == "app:")
        #expect(settings.expiration == .sliding(.seconds(600)))
        #expect(!settings.client.description.contains("s3cret"))
    }

    @Test func defaults() throws {
        let settings = try RedisStore.URLConfiguration(StoreURL(parsing: "redis://127.0.0.1"))
        #expect(settings.client.port == 6379)
        #expect(settings.client.database == 0)
        #expect(settings.client.password == nil)
        #expect(settings.prefix == "")
        #expect(settings.expiration == .none)
        #expect(try RedisStore.URLConfiguration(StoreURL(parsing: "redis://h?expiration=fixed:1h")).expiration == .fixed(.seconds(3600)))
    }

    @Test(arguments: [
        "redis:///0", "redis://h/x", "redis://h?expiration=sometimes", "redis://h?expiration=fixed:0s", "redis://h?prefixx=a",
        "redis://h?connections=0", "redis://h?protocol=resp4", "file:///tmp",
    ])
    func badURLsAreRefused(_ text: String) throws {
        do {
            _ = try RedisStore.URLConfiguration(StoreURL(parsing: text))
            Issue.record("\(text) was accepted")
        } catch {
            #expect(error.code == .invalidArgument, "\(text): \(error)")
        }
    }

    @Test func clusterURLsListTheirSeeds() throws {
        let settings = try RedisStore.URLConfiguration(StoreURL(parsing:
            "redis+cluster://alice:s3cret@10.0.0.1:7000,10.0.0.2:7001,node3:7002/?prefix=app:&buckets=32&connections=1"))
        let cluster = try #require(settings.cluster)
        #expect(cluster.seeds == [.init(host: "10.0.0.1", port: 7000), .init(host: "10.0.0.2", port: 7001), .init(host: "node3", port: 7002)])
        #expect(cluster.node.username == "alice")
        #expect(cluster.node.password == "s3cret")
        #expect(cluster.node.connectionCount == 1)
        #expect(settings.prefix == "app:")
        #expect(settings.layout == .buckets(32))
        #expect(cluster.description == "redis+cluster://alice@10.0.0.1:7000,10.0.0.2:7001,node3:7002")
        let client = settings.makeClient()
        #expect(client.isCluster)
        #expect(!"\(settings.makeStore(client: client))".contains("s3cret"))
        // Without ports, every seed is on 6379; one seed is a cluster too.
        let bare = try RedisStore.URLConfiguration(StoreURL(parsing: "redis+cluster://a,b"))
        #expect(bare.cluster?.seeds == [.init(host: "a", port: 6379), .init(host: "b", port: 6379)])
        let one = try RedisStore.URLConfiguration(StoreURL(parsing: "redis+cluster://a:7000/0"))
        #expect(one.cluster?.seeds == [.init(host: "a", port: 7000)])
        #expect(one.layout == nil)
        #expect(try RedisStore.URLConfiguration(StoreURL(parsing: "redis://h")).cluster == nil)
    }

    /// `layout` names the layout: `plain` strings, `single`, or `buckets` (16 unless `buckets`
    /// says); `buckets` with another layout is refused, as is an unknown layout.
    @Test func theLayoutOption() throws {
        func layout(_ text: String) throws -> RedisStore.Layout? { try RedisStore.URLConfiguration(StoreURL(parsing: text)).layout }
        #expect(try layout("redis://h/0?prefix=app:&layout=plain") == .plain)
        #expect(try layout("redis+cluster://a:7000/?layout=plain") == .plain)
        #expect(try layout("redis://h?layout=single") == .single)
        #expect(try layout("redis://h?layout=buckets") == .buckets(16))
        #expect(try layout("redis://h?layout=buckets&buckets=4") == .buckets(4))
        let settings = try RedisStore.URLConfiguration(StoreURL(parsing: "redis://h?layout=plain&prefix=app:"))
        let client = settings.makeClient()
        let store = settings.makeStore(client: client)
        #expect(store.layout == .plain)
        #expect(!store.capabilities.contains(.modificationDate) && !store.capabilities.contains(.creationDate))
        #expect("\(store)".contains("plain"))
        #expect(StoreScheme.redis.options.map(\.name).contains("layout"))
        for bad in ["redis://h?layout=plain&buckets=4", "redis://h?layout=flat"] {
            #expect(throws: StoreError.self, "\(bad)") { try layout(bad) }
        }
    }

    @Test(arguments: ["redis+cluster://a:7000,b:7001/2", "redis+cluster://a:7000,,b:7001", "redis+cluster://a:7000,:7001",
                      "redis+cluster://a:x,b:7001", "redis://a:7000,b:7001", "redis+cluster:///", "redis://h?buckets=0"])
    func badClusterURLsAreRefused(_ text: String) throws {
        do {
            _ = try RedisStore.URLConfiguration(StoreURL(parsing: text))
            Issue.record("\(text) was accepted")
        } catch {
            #expect(error.code == .invalidArgument, "\(text): \(error)")
        }
    }

    @Test func redissURLsSpeakTLS() throws {
        let settings = try RedisStore.URLConfiguration(StoreURL(parsing:
            "rediss://alice:s3cret@cache.local:6380/2?prefix=app:&tls-ca=/etc/trove/ca.pem&tls-cert=/etc/trove/client.pem"
                + "&tls-key=/etc/trove/client.key&tls-server-name=redis.internal&tls-verify=no-hostname"))
        let tls = try #require(settings.client.tls)
        #expect(settings.client.host == "cache.local")
        #expect(settings.client.port == 6380)
        #expect(settings.client.database == 2)
        #expect(settings.prefix == "app:")
        #expect(tls.trustRoots == .file("/etc/trove/ca.pem"))
        #expect(tls.clientCertificate == .init(certificateChain: .file("/etc/trove/client.pem"), privateKey: .file("/etc/trove/client.key")))
        #expect(tls.serverName == "redis.internal")
        #expect(tls.verification == .noHostnameVerification)
        #expect(settings.cluster == nil)
        #expect(settings.client.description == "rediss://alice@cache.local:6380/2")
        #expect(!"\(settings.makeStore(client: settings.makeClient()))".contains("s3cret"))
        // Defaults: the system's roots, full verification, the host's name, no client certificate.
        let bare = try #require(try RedisStore.URLConfiguration(StoreURL(parsing: "rediss://h")).client.tls)
        #expect(bare == RedisClient.TLS())
        #expect(bare.trustRoots == .system && bare.verification == .full && bare.serverName == nil && bare.clientCertificate == nil)
        #expect(try RedisStore.URLConfiguration(StoreURL(parsing: "redis://h")).client.tls == nil)
        for (text, verification) in [("full", RedisClient.TLS.Verification.full), ("none", .none), ("no-hostname", .noHostnameVerification)] {
            let parsed = try RedisStore.URLConfiguration(StoreURL(parsing: "rediss://h?tls-verify=\(text)"))
            #expect(parsed.client.tls?.verification == verification)
            #expect("\(verification)" == text)
        }
    }

    @Test func redissClusterURLsSpeakTLSToEveryNode() throws {
        let settings = try RedisStore.URLConfiguration(StoreURL(parsing:
            "rediss+cluster://10.0.0.1:7000,10.0.0.2:7001/?tls-ca=/etc/trove/ca.pem&prefix=app:"))
        let cluster = try #require(settings.cluster)
        #expect(cluster.seeds == [.init(host: "10.0.0.1", port: 7000), .init(host: "10.0.0.2", port: 7001)])
        #expect(cluster.node.tls?.trustRoots == .file("/etc/trove/ca.pem"))
        #expect(cluster.node.tls?.serverName == nil)
        #expect(cluster.description == "rediss+cluster://10.0.0.1:7000,10.0.0.2:7001")
        let client = settings.makeClient()
        #expect(client.isCluster)
        #expect(client.description == "rediss+cluster://10.0.0.1:7000,10.0.0.2:7001")
        #expect(try RedisStore.URLConfiguration(StoreURL(parsing: "rediss+cluster://a:7000,b:7001")).cluster?.node.tls != nil)
    }

    @Test func relativeTLSPathsStartFromTheContextsDirectory() throws {
        let context = StoreOpeningContext(currentDirectory: URL(fileURLWithPath: "/srv/app", isDirectory: true))
        let settings = try RedisStore.URLConfiguration(
            StoreURL(parsing: "rediss://h?tls-ca=certs/ca.pem&tls-cert=client.pem&tls-key=/keys/client.key"), in: context)
        #expect(settings.client.tls?.trustRoots == .file("/srv/app/certs/ca.pem"))
        #expect(settings.client.tls?.clientCertificate?.certificateChain == .file("/srv/app/client.pem"))
        #expect(settings.client.tls?.clientCertificate?.privateKey == .file("/keys/client.key"))
    }

    /// TLS options on a URL without TLS are refused, naming the option and the scheme to use,
    /// so that a URL never seems to ask for TLS without getting it.
    @Test(arguments: ["redis://h?tls-ca=/ca.pem", "redis://h?tls-verify=none", "redis://h?tls=true", "redis://h?tls-server-name=x",
                      "redis+cluster://a:1,b:2?tls-cert=/c.pem&tls-key=/k.pem"])
    func tlsOptionsNeedRediss(_ text: String) throws {
        do {
            _ = try RedisStore.URLConfiguration(StoreURL(parsing: text))
            Issue.record("\(text) was accepted")
        } catch {
            #expect(error.code == .invalidArgument, "\(text): \(error)")
            #expect(error.message.contains(text.hasPrefix("redis+cluster") ? "rediss+cluster://" : "rediss://"), "\(error)")
            #expect(error.message.contains("option 'tls"), "\(error)")
        }
    }

    @Test(arguments: ["rediss://h?tls-verify=sometimes", "rediss://h?tls-verify=", "rediss://h?tls-cert=/c.pem", "rediss://h?tls-key=/k.pem",
                      "rediss://h?tls-ca=", "rediss://h?tls-server-name=", "rediss://h?tls=true", "rediss://h?tls-ca=/a&tls-ca=/b",
                      "rediss://h?tls-sni=x", "rediss:///0", "rediss+cluster://a:1,b:2/3", "rediss://a:1,b:2"])
    func badRedissURLsAreRefused(_ text: String) throws {
        do {
            _ = try RedisStore.URLConfiguration(StoreURL(parsing: text))
            Issue.record("\(text) was accepted")
        } catch {
            #expect(error.code == .invalidArgument, "\(text): \(error)")
        }
    }

    @Test func errorsNameTheBadValueButNeverThePassword() throws {
        do {
            _ = try RedisStore.URLConfiguration(StoreURL(parsing: "rediss://u:s3cret@h?tls-verify=strict"))
            Issue.record("tls-verify=strict was accepted")
        } catch {
            #expect(error.message.contains("'strict'") && error.message.contains("full, no-hostname or none"), "\(error)")
            #expect(!"\(error)".contains("s3cret") && !String(reflecting: error).contains("s3cret"))
        }
        do {
            _ = try RedisStore.URLConfiguration(StoreURL(parsing: "rediss://u:s3cret@h?tls-cert=/c.pem"))
            Issue.record("tls-cert without tls-key was accepted")
        } catch {
            #expect(error.message.contains("tls-key"), "\(error)")
            #expect(!"\(error)".contains("s3cret"))
        }
    }

    @Test func theSchemesListTheirOptions() {
        let plain = StoreScheme.redis.options.map(\.name)
        #expect(!plain.contains { $0.hasPrefix("tls") })
        for scheme in [StoreScheme.rediss, .redissCluster] {
            #expect(scheme.options.map(\.name) == plain + ["tls-ca", "tls-cert", "tls-key", "tls-server-name", "tls-verify"])
        }
        #expect(StoreOpener.withRedis.schemes.map(\.name).filter { $0.hasPrefix("redis") } == ["redis", "rediss", "redis+cluster", "rediss+cluster"])
        #expect(StoreScheme.rediss.optionsSummary.contains("tls-verify=full|no-hostname|none"))
    }
}

@Suite("RedisStore URLs on the server", .enabled(if: TestServer.redis.isAvailable, TestServer.redis.absence))
struct RedisOpenerTests {
    @Test(.enabled(if: TestServer.redisCluster.isAvailable, TestServer.redisCluster.absence))
    func theOpenerOpensAStoreOnTheCluster() async throws {
        let prefix = uniquePrefix("opener")
        let url = try TestServer.redisCluster.require() + "/?prefix=\(prefix)"
        try await StoreOpener.withRedis.withStore(url) { store in
            #expect("\(store)".contains("redis+cluster://"))
            for index in 0..<50 { try await store.set(Data("v\(index)".utf8), for: StoreKey(stringLiteral: "k\(index)")) }
            #expect(try await store.read("k7")?.value == Data("v7".utf8))
            #expect(try await store.count() == 50)
            try await store.removeAll(withPrefix: "")
            #expect(try await store.count() == 0)
        }
        try await withClusterClient { client in
            let left = try await clusterKeys(withPrefix: prefix, client: client).values.joined()
            #expect(left.isEmpty, "\(left.prefix(3))")
        }
    }

    @Test func theOpenerOpensARedisStore() async throws {
        let prefix = uniquePrefix("opener")
        let url = try TestServer.redis.require() + "/0?prefix=\(prefix)&expiration=fixed:1h"
        try await StoreOpener.withRedis.withStore(url) { store in
            let written = try await store.set(Data("v".utf8), for: "k")
            #expect(written.expirationDate != nil)
            #expect(try await store.read("k")?.value == Data("v".utf8))
            try await store.removeAll(withPrefix: "")
            #expect(try await store.count() == 0)
        }
        try await withTestClient { client in try await deleteServerKeys(withPrefix: prefix, client: client) }
    }
}
