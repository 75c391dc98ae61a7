public import Trove
public import TroveRedisClient

extension RedisStore {
    /// What a `redis:` store URL describes: the server, the credentials, the database, and the
    /// store's options.
    ///
    ///     redis://127.0.0.1:6379/0?prefix=app:                     database 0, keys under app:
    ///     redis://alice:secret@cache.local/2?expiration=sliding:30m ACL user alice, database 2
    ///     redis://:secret@127.0.0.1?expiration=fixed:1h             the default user's password
    ///
    /// Options: `prefix` (default empty), `expiration` (`none`, `fixed:<duration>` or
    /// `sliding:<duration>`, such as `sliding:10m`), `connections` (1 to 64, default 2),
    /// `timeout` (the command timeout, default 10s), `connect-timeout` (default 5s),
    /// `protocol` (`resp3`, default, or `resp2`). The port defaults to 6379, the database to 0.
    /// The password never appears in errors or descriptions.
    public struct URLConfiguration: Sendable {
        /// The client's configuration.
        public var client: RedisClient.Configuration
        /// The store's prefix.
        public var prefix: String
        /// The store's expiry model.
        public var expiration: Expiration

        /// Reads a `redis:` URL.
        ///
        /// - Throws: ``StoreError/Code/invalidArgument`` for another scheme, a missing host, a
        ///   database that is not a number, an unknown option or a bad value;
        ///   ``StoreError/Code/notSupported`` for `tls` (not yet supported).
        public init(_ url: StoreURL) throws(StoreError) {
            guard url.scheme == "redis" else {
                throw url.invalid("a Redis store needs a redis: URL, not a \(url.scheme): one")
            }
            guard let host = url.host, !host.isEmpty else {
                throw url.invalid("a redis URL needs a host: redis://host[:port][/db]")
            }
            var client = RedisClient.Configuration(host: host, port: url.port ?? 6379)
            if let user = url.user, !user.isEmpty { client.username = user }
            if let password = url.password, !password.isEmpty { client.password = password }
            let path = url.path.hasPrefix("/") ? String(url.path.dropFirst()) : url.path
            if !path.isEmpty {
                guard let database = Int(path), (0...100_000).contains(database) else {
                    throw url.invalid("the path of a redis URL is the database number, such as /0, not '/\(path)'")
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
            let tls = try reader.bool("tls")
            try reader.rejectUnknown()
            if tls == true {
                throw StoreError(.notSupported, operation: .open, store: url.redacted,
                                 message: "TLS to Redis is not supported yet; use a plain connection on a trusted network or a TLS tunnel")
            }
            self.client = client
            self.prefix = prefix
            self.expiration = expiration ?? .none
        }
    }
}

extension StoreScheme {
    /// `redis://[user[:password]@]host[:port][/db]?prefix=app:`: a ``RedisStore``; options
    /// `prefix`, `expiration=none|fixed:<duration>|sliding:<duration>`, `connections`,
    /// `timeout`, `connect-timeout`, `protocol=resp3|resp2`. See ``RedisStore/URLConfiguration``.
    public static var redis: StoreScheme {
        StoreScheme(
            name: "redis",
            usage: "redis://[user[:password]@]host[:port][/db]",
            summary: "a Redis database; options prefix, expiration=none|fixed:<duration>|sliding:<duration>, connections, "
                + "timeout, connect-timeout, protocol=resp3|resp2"
        ) { url, _ in
            let settings = try RedisStore.URLConfiguration(url)
            let client = RedisClient(configuration: settings.client)
            let store = RedisStore(client: client, prefix: settings.prefix, expiration: settings.expiration)
            return OpenedStore(store, shutdown: { await client.shutdown() })
        }
    }
}

extension StoreOpener {
    /// The standard schemes (`file:`, `memory:`, `null:`) and `redis:`.
    public static var withRedis: StoreOpener { standard.adding(.redis) }
}
