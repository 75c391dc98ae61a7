public import Trove
public import TroveRedisClient

extension RedisStore {
    /// What a `redis:` or `redis+cluster:` store URL describes: the server or the cluster's
    /// seed nodes, the credentials, the database, and the store's options.
    ///
    ///     redis://127.0.0.1:6379/0?prefix=app:                     database 0, keys under app:
    ///     redis://alice:secret@cache.local/2?expiration=sliding:30m ACL user alice, database 2
    ///     redis://:secret@127.0.0.1?expiration=fixed:1h             the default user's password
    ///     redis+cluster://10.0.0.1:7000,10.0.0.2:7000/?prefix=app:  a Redis Cluster, two seeds
    ///
    /// Options: `prefix` (default empty), `expiration` (`none`, `fixed:<duration>` or
    /// `sliding:<duration>`, such as `sliding:10m`), `connections` (1 to 64 per server, default
    /// 2), `timeout` (the command timeout, default 10s), `connect-timeout` (default 5s),
    /// `protocol` (`resp3`, default, or `resp2`), `buckets` (1 to 1,024: the store's
    /// ``Layout/buckets(_:)``; by default 16 on a cluster and one index on one server).
    /// The port defaults to 6379, the database to 0.
    ///
    /// A cluster URL lists its seeds, comma-separated, in the authority: each `host:port` or,
    /// when none names a port, `host` (port 6379); IPv6 seeds are written one per URL, in
    /// brackets. Its path is empty, `/` or `/0` (a cluster has database 0 only). The
    /// password never appears in errors or descriptions.
    public struct URLConfiguration: Sendable {
        /// The client's configuration (for a cluster, how it talks to each node; the host and
        /// port are the first seed's).
        public var client: RedisClient.Configuration
        /// The cluster's seeds and bounds, for a `redis+cluster:` URL; `nil` for one server.
        public var cluster: RedisClient.ClusterConfiguration?
        /// The store's prefix.
        public var prefix: String
        /// The store's expiry model.
        public var expiration: Expiration
        /// The store's layout, when the URL names one (`buckets`); `nil` for the client's default.
        public var layout: Layout?

        /// Reads a `redis:` or `redis+cluster:` URL.
        ///
        /// - Throws: ``StoreError/Code/invalidArgument`` for another scheme, a missing host, a
        ///   database that is not a number (or not 0 on a cluster), a bad seed list, an
        ///   unknown option or a bad value; ``StoreError/Code/notSupported`` for `tls` (not
        ///   yet supported).
        public init(_ url: StoreURL) throws(StoreError) {
            guard url.scheme == "redis" || url.scheme == "redis+cluster" else {
                throw url.invalid("a Redis store needs a redis: or redis+cluster: URL, not a \(url.scheme): one")
            }
            let isCluster = url.scheme == "redis+cluster"
            guard let host = url.host, !host.isEmpty else {
                throw url.invalid(isCluster ? "a redis+cluster URL needs its seed nodes: redis+cluster://host1:port1,host2:port2/"
                                            : "a redis URL needs a host: redis://host[:port][/db]")
            }
            var seeds = [RedisClient.Endpoint(host: host, port: url.port ?? 6379)]
            if host.contains(",") {
                guard isCluster else {
                    throw url.invalid("a redis URL names one server; for a Redis Cluster write redis+cluster://host1:port1,host2:port2/")
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
            let tls = try reader.bool("tls")
            try reader.rejectUnknown()
            if tls == true {
                throw StoreError(.notSupported, operation: .open, store: url.redacted,
                                 message: "TLS to Redis is not supported yet; use a plain connection on a trusted network or a TLS tunnel")
            }
            self.client = client
            self.cluster = isCluster ? RedisClient.ClusterConfiguration(seeds: seeds, node: client) : nil
            self.prefix = prefix
            self.expiration = expiration ?? .none
            self.layout = bucketCount.map { Layout.buckets($0) }
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
    /// `timeout`, `connect-timeout`, `protocol=resp3|resp2`, `buckets`, `tls=true|false`. See
    /// ``RedisStore/URLConfiguration``.
    public static var redis: StoreScheme {
        StoreScheme(
            name: "redis",
            usage: "redis://[user[:password]@]host[:port][/db]",
            summary: "a Redis database",
            options: redisOptions
        ) { url, _ in try openRedisStore(url) }
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
        ) { url, _ in try openRedisStore(url) }
    }

    /// The options of `redis:` and `redis+cluster:` URLs, in the order they are read.
    private static var redisOptions: [Option] {
        [.init("prefix"), .init("expiration", "none|fixed:<duration>|sliding:<duration>"), .init("connections", "1-64"),
         .init("timeout", "<duration>"), .init("connect-timeout", "<duration>"), .init("protocol", "resp3|resp2"),
         .init("buckets", "1-1024"), .init("tls", "true|false")]
    }

    private static func openRedisStore(_ url: StoreURL) throws -> OpenedStore {
        let settings = try RedisStore.URLConfiguration(url)
        let client = settings.makeClient()
        return OpenedStore(settings.makeStore(client: client), shutdown: { await client.shutdown() })
    }
}

extension StoreOpener {
    /// The standard schemes (`file:`, `memory:`, `null:`), `redis:` and `redis+cluster:`.
    public static var withRedis: StoreOpener { standard.adding(.redis).adding(.redisCluster) }
}
