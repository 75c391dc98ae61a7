public import Trove
public import TroveRedisClient
import Foundation

extension RedisStore {
    /// What a `redis:`, `rediss:`, `redis+cluster:` or `rediss+cluster:` store URL describes:
    /// the server or the cluster's seed nodes, TLS, the credentials, the database, and the
    /// store's options.
    ///
    ///     redis://127.0.0.1:6379/0?prefix=app:                     database 0, keys under app:
    ///     redis://alice:secret@cache.local/2?expiration=sliding:30m ACL user alice, database 2
    ///     redis://:secret@127.0.0.1?expiration=fixed:1h             the default user's password
    ///     redis+cluster://10.0.0.1:7000,10.0.0.2:7000/?prefix=app:  a Redis Cluster, two seeds
    ///     rediss://cache.local:6380/0?tls-ca=/etc/redis/ca.pem      TLS, a private CA
    ///     rediss+cluster://10.0.0.1:7000,10.0.0.2:7000/?tls-ca=ca.pem&tls-cert=client.pem&tls-key=client.key
    ///                                                              a TLS cluster, mutual TLS
    ///
    /// Options: `prefix` (default empty), `expiration` (`none`, `fixed:<duration>` or
    /// `sliding:<duration>`, such as `sliding:10m`), `connections` (1 to 64 per server, default
    /// 2), `timeout` (the command timeout, default 10s), `connect-timeout` (default 5s),
    /// `protocol` (`resp3`, default, or `resp2`), `buckets` (1 to 1,024: the store's
    /// ``Layout/buckets(_:)``; by default 16 on a cluster and one index on one server),
    /// `layout` (`plain` for ``Layout/plain``: each key the plain string `prefix + key`, as
    /// other programs write them; `single`; or `buckets`, with 16 unless `buckets` says).
    /// The port defaults to 6379, the database to 0.
    ///
    /// TLS: `rediss:` and `rediss+cluster:` speak TLS (`RedisClient.TLS`) to the server or
    /// to every node, and take these options besides: `tls-ca` (a PEM file of the CA
    /// certificates to trust instead of the system's), `tls-cert` and `tls-key` (a client
    /// certificate and its key, in PEM, for servers that ask for one: both or neither),
    /// `tls-server-name` (the name the certificate must be for, and the SNI; by default the
    /// host, or on a cluster each node's announced address), `tls-verify` (`full`, the
    /// default; `no-hostname`, which checks the signature and dates but not the name; `none`,
    /// which checks nothing). Relative paths start from the opening context's current
    /// directory. On `redis:` and `redis+cluster:` these options are refused, so that a URL
    /// never seems to ask for TLS without getting it.
    ///
    /// A cluster URL lists its seeds, comma-separated, in the authority: each `host:port` or,
    /// when none names a port, `host` (port 6379); IPv6 seeds are written one per URL, in
    /// brackets. Its path is empty, `/` or `/0` (a cluster has database 0 only). The
    /// password never appears in errors or descriptions.
    public struct URLConfiguration: Sendable {
        /// The client's configuration (for a cluster, how it talks to each node; the host and
        /// port are the first seed's).
        public var client: RedisClient.Configuration
        /// The cluster's seeds and bounds, for a `redis+cluster:` or `rediss+cluster:` URL; `nil`
        /// for one server.
        public var cluster: RedisClient.ClusterConfiguration?
        /// The store's prefix.
        public var prefix: String
        /// The store's expiry model.
        public var expiration: Expiration
        /// The store's layout, when the URL names one (`layout`, `buckets`); `nil` for the
        /// client's default.
        public var layout: Layout?

        /// Reads a `redis:`, `rediss:`, `redis+cluster:` or `rediss+cluster:` URL.
        ///
        /// Nothing is read from disk: the TLS files are named, not loaded (see
        /// `RedisClient.TLS.validate()`).
        ///
        /// - Parameters:
        ///   - url: The URL.
        ///   - context: What relative `tls-ca`, `tls-cert` and `tls-key` paths start from.
        ///     Defaults to `StoreOpeningContext.process`.
        /// - Throws: `StoreError.Code.invalidArgument` for another scheme, a missing host, a
        ///   database that is not a number (or not 0 on a cluster), a bad seed list, an
        ///   unknown option or a bad value, a TLS option on a URL without TLS, or `tls-cert`
        ///   without `tls-key` (or the reverse).
        public init(_ url: StoreURL, in context: StoreOpeningContext = .process) throws(StoreError) {
            let schemes = ["redis", "rediss", "redis+cluster", "rediss+cluster"]
            guard schemes.contains(url.scheme) else {
                throw url.invalid("a Redis store needs a redis:, rediss:, redis+cluster: or rediss+cluster: URL, not a \(url.scheme): one")
            }
            let isCluster = url.scheme.hasSuffix("+cluster")
            let isTLS = url.scheme.hasPrefix("rediss")
            guard let host = url.host, !host.isEmpty else {
                throw url.invalid(isCluster ? "a \(url.scheme) URL needs its seed nodes: \(url.scheme)://host1:port1,host2:port2/"
                                            : "a \(url.scheme) URL needs a host: \(url.scheme)://host[:port][/db]")
            }
            var seeds = [RedisClient.Endpoint(host: host, port: url.port ?? 6379)]
            if host.contains(",") {
                guard isCluster else {
                    throw url.invalid("a \(url.scheme) URL names one server; for a Redis Cluster write \(url.scheme)+cluster://host1:port1,host2:port2/")
                }
                // The URL parser took the last seed's port as the port, and the rest as the host.
                let authority = host + (url.port.map { ":\($0)" } ?? "")
                seeds = []
                for part in authority.split(separator: ",", omittingEmptySubsequences: false) {
                    let seed: RedisClient.Endpoint?
                    if let colon = part.lastIndex(of: ":") {
                        let port = Int(part[part.index(after: colon)...])
                        seed = port.flatMap { (1...65_535).contains($0) ? RedisClient.Endpoint(host: String(part[..<colon]), port: $0) : nil }
                    } else {
                        seed = part.isEmpty ? nil : RedisClient.Endpoint(host: String(part), port: 6379)
                    }
                    guard let seed, !seed.host.isEmpty else {
                        throw url.invalid("'\(part)' is not a seed node: each is host:port, separated by commas")
                    }
                    seeds.append(seed)
                }
            }
            var client = RedisClient.Configuration(host: seeds[0].host, port: seeds[0].port)
            if let user = url.user, !user.isEmpty { client.username = user }
            if let password = url.password, !password.isEmpty { client.password = password }
            let path = url.path.hasPrefix("/") ? String(url.path.dropFirst()) : url.path
            if !path.isEmpty {
                guard let database = Int(path), (0...100_000).contains(database) else {
                    throw url.invalid("the path of a redis URL is the database number, such as /0, not '/\(path)'")
                }
                guard !isCluster || database == 0 else {
                    throw url.invalid("a Redis Cluster has database 0 only, not /\(database)")
                }
                client.database = database
            }
            var reader = url.optionReader
            let prefix = try reader.string("prefix") ?? ""
            let expiration = try reader.value("expiration", expected: "none, fixed:<duration> or sliding:<duration>, such as sliding:10m") { text -> Expiration? in
                if text == "none" { return Expiration.none }
                let parts = text.split(separator: ":", maxSplits: 1)
                guard parts.count == 2, let lifetime = try? Duration(parsing: parts[1]), lifetime > .zero else { return nil }
                switch parts[0] {
                case "fixed": return .fixed(lifetime)
                case "sliding": return .sliding(lifetime)
                default: return nil
                }
            }
            if let connections = try reader.integer("connections", in: 1...64) { client.connectionCount = connections }
            if let timeout = try reader.duration("timeout") { client.commandTimeout = timeout }
            if let timeout = try reader.duration("connect-timeout") { client.connectTimeout = timeout }
            if let resp = try reader.choice("protocol", from: ["resp3": true, "resp2": false]) { client.prefersRESP3 = resp }
            let bucketCount = try reader.integer("buckets", in: 1...1024)
            let layoutName = try reader.choice("layout", from: ["plain": "plain", "single": "single", "buckets": "buckets"])
            if let layoutName, layoutName != "buckets", bucketCount != nil {
                throw url.invalid("option 'buckets' needs layout=buckets, not layout=\(layoutName)")
            }
            if isTLS {
                client.tls = try Self.tls(&reader, url, context)
            } else if let option = url.queryItems.first(where: { $0.name == "tls" || $0.name.hasPrefix("tls-") }) {
                let secure = isCluster ? "rediss+cluster" : "rediss"
                throw url.invalid("option '\(option.name)' is for TLS, which \(url.scheme): URLs do not speak; write \(secure)://… for TLS")
            }
            try reader.rejectUnknown()
            self.client = client
            self.cluster = isCluster ? RedisClient.ClusterConfiguration(seeds: seeds, node: client) : nil
            self.prefix = prefix
            self.expiration = expiration ?? .none
            switch layoutName {
            case "plain": self.layout = .plain
            case "single": self.layout = .single
            case "buckets": self.layout = .buckets(bucketCount ?? 16)
            default: self.layout = bucketCount.map { Layout.buckets($0) }
            }
        }

        /// The TLS options of a `rediss:` or `rediss+cluster:` URL.
        private static func tls(_ reader: inout StoreURL.OptionReader, _ url: StoreURL, _ context: StoreOpeningContext) throws(StoreError) -> RedisClient.TLS {
            func path(_ name: String) throws(StoreError) -> String? {
                guard let text = try reader.string(name) else { return nil }
                guard !text.isEmpty else { throw url.invalid("option '\(name)' needs the path of a PEM file") }
                if text.hasPrefix("/") { return text }
                return context.currentDirectory.appendingPathComponent(text).path
            }
            var tls = RedisClient.TLS()
            if let ca = try path("tls-ca") { tls.trustRoots = .file(ca) }
            let certificate = try path("tls-cert"), key = try path("tls-key")
            switch (certificate, key) {
            case (let certificate?, let key?):
                tls.clientCertificate = .init(certificateChain: .file(certificate), privateKey: .file(key))
            case (nil, nil):
                break
            case (_?, nil):
                throw url.invalid("option 'tls-cert' needs 'tls-key' too: the client certificate's private key")
            case (nil, _?):
                throw url.invalid("option 'tls-key' needs 'tls-cert' too: the certificate of the client key")
            }
            if let name = try reader.string("tls-server-name") {
                guard !name.isEmpty else { throw url.invalid("option 'tls-server-name' needs a name, such as cache.internal") }
                tls.serverName = name
            }
            if let verification = try reader.choice("tls-verify", from: [
                "full": RedisClient.TLS.Verification.full, "no-hostname": .noHostnameVerification, "none": .none,
            ]) {
                tls.verification = verification
            }
            return tls
        }

        /// A client for the URL's server or cluster; the caller shuts it down.
        public func makeClient() -> RedisClient {
            if let cluster { return RedisClient(cluster: cluster) }
            return RedisClient(configuration: client)
        }

        /// The URL's store over `client`.
        public func makeStore(client: RedisClient) -> RedisStore {
            RedisStore(client: client, prefix: prefix, expiration: expiration, layout: layout)
        }
    }
}

extension StoreScheme {
    /// `redis://[user[:password]@]host[:port][/db]?prefix=app:`: a ``RedisStore``; options
    /// `prefix`, `expiration=none|fixed:<duration>|sliding:<duration>`, `connections`,
    /// `timeout`, `connect-timeout`, `protocol=resp3|resp2`, `buckets`, `layout=plain|single|buckets`. See
    /// ``RedisStore/URLConfiguration``.
    public static var redis: StoreScheme {
        StoreScheme(
            name: "redis",
            usage: "redis://[user[:password]@]host[:port][/db]",
            summary: "a Redis database",
            options: redisOptions
        ) { url, context in try openRedisStore(url, context) }
    }

    /// `rediss://[user[:password]@]host[:port][/db]?tls-ca=ca.pem`: a ``RedisStore`` over TLS;
    /// the options of ``redis``, and `tls-ca`, `tls-cert`, `tls-key`, `tls-server-name`,
    /// `tls-verify=full|no-hostname|none`. The certificate files are read when the store is
    /// opened, so a missing or malformed one is an `invalidArgument` error then. See
    /// ``RedisStore/URLConfiguration``.
    public static var rediss: StoreScheme {
        StoreScheme(
            name: "rediss",
            usage: "rediss://[user[:password]@]host[:port][/db]",
            summary: "a Redis database, over TLS",
            options: redisOptions + tlsOptions
        ) { url, context in try openRedisStore(url, context) }
    }

    /// `redis+cluster://[user[:password]@]host1:port1,host2:port2/?prefix=app:`: a
    /// ``RedisStore`` on a Redis Cluster, spread over its slots in 16 buckets unless `buckets`
    /// says otherwise; the options of ``redis``. See ``RedisStore/URLConfiguration``.
    public static var redisCluster: StoreScheme {
        StoreScheme(
            name: "redis+cluster",
            usage: "redis+cluster://[user[:password]@]host1:port1,host2:port2[/]",
            summary: "a Redis Cluster, from its seed nodes",
            options: redisOptions
        ) { url, context in try openRedisStore(url, context) }
    }

    /// `rediss+cluster://[user[:password]@]host1:port1,host2:port2/?tls-ca=ca.pem`: a
    /// ``RedisStore`` on a Redis Cluster over TLS, every node spoken to with the same TLS
    /// settings; the options of ``rediss``. Each node's certificate is checked against the
    /// address the cluster announces for it, unless `tls-server-name` names one name for all.
    /// See ``RedisStore/URLConfiguration``.
    public static var redissCluster: StoreScheme {
        StoreScheme(
            name: "rediss+cluster",
            usage: "rediss+cluster://[user[:password]@]host1:port1,host2:port2[/]",
            summary: "a Redis Cluster over TLS, from its seed nodes",
            options: redisOptions + tlsOptions
        ) { url, context in try openRedisStore(url, context) }
    }

    /// The options of `redis:` and `redis+cluster:` URLs, in the order they are read.
    private static var redisOptions: [Option] {
        [.init("prefix"), .init("expiration", "none|fixed:<duration>|sliding:<duration>"), .init("connections", "1-64"),
         .init("timeout", "<duration>"), .init("connect-timeout", "<duration>"), .init("protocol", "resp3|resp2"),
         .init("buckets", "1-1024"), .init("layout", "plain|single|buckets")]
    }

    /// The options `rediss:` and `rediss+cluster:` URLs take besides, in the order they are read.
    private static var tlsOptions: [Option] {
        [.init("tls-ca", "<path>"), .init("tls-cert", "<path>"), .init("tls-key", "<path>"), .init("tls-server-name"),
         .init("tls-verify", "full|no-hostname|none")]
    }

    private static func openRedisStore(_ url: StoreURL, _ context: StoreOpeningContext) throws -> OpenedStore {
        let settings = try RedisStore.URLConfiguration(url, in: context)
        if let tls = settings.client.tls {
            // Read the certificates now: a mistake in them is the URL's, not the server's.
            do {
                try tls.validate()
            } catch {
                var failure = url.invalid(error.message)
                failure.underlying = error
                throw failure
            }
        }
        let client = settings.makeClient()
        return OpenedStore(settings.makeStore(client: client), shutdown: { await client.shutdown() })
    }
}

extension StoreOpener {
    /// The standard schemes (`file:`, `memory:`, `null:`), `redis:`, `rediss:`,
    /// `redis+cluster:` and `rediss+cluster:`.
    public static var withRedis: StoreOpener {
        standard.adding(.redis).adding(.rediss).adding(.redisCluster).adding(.redissCluster)
    }
}
