extension RedisClient {
    /// Where one server listens: a host and a port.
    public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
        /// The host name or address.
        public var host: String
        /// The port.
        public var port: Int

        /// Creates an endpoint.
        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        /// `host:port` (`[host]:port` for an IPv6 address).
        public var description: String { (host.contains(":") ? "[\(host)]" : host) + ":\(port)" }

        /// Reads `host:port` as Redis writes it in `MOVED` and `ASK` replies (the host may be
        /// an IPv6 address, in brackets or not: the port follows the last colon).
        init?(parsing text: Substring) {
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65_535).contains(port) else {
                return nil
            }
            var host = text[..<colon]
            if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
            self.init(host: String(host), port: port)
        }
    }

    /// How to reach a Redis Cluster and how to talk to each of its nodes.
    ///
    ///     var cluster = RedisClient.ClusterConfiguration(seeds: [
    ///         .init(host: "10.0.0.1", port: 7000), .init(host: "10.0.0.2", port: 7000),
    ///     ])
    ///     cluster.node.password = secret
    ///     let client = RedisClient(cluster: cluster)
    ///
    /// The client learns which primary serves which slot from the first seed that answers
    /// (`CLUSTER SHARDS`, or `CLUSTER SLOTS` before Redis 7), sends every command to the
    /// primary of its key's slot, and follows the cluster's redirects: `MOVED` (the slot has
    /// a new owner: the map is updated, and learnt again in the background) and `ASK` (the
    /// key is being migrated: that one command is sent again to the node named, after
    /// `ASKING`). Replies that say the cluster is busy for a moment (`TRYAGAIN`,
    /// `CLUSTERDOWN`, `LOADING`, `BUSY`, `MASTERDOWN`) and a node that cannot be reached are
    /// retried after a jittered, doubling wait, up to ``maximumRetries`` times; other error
    /// replies are final. Commands go to primaries, unless ``readFrom`` sends reads to
    /// replicas.
    public struct ClusterConfiguration: Sendable, CustomStringConvertible {
        /// Nodes to learn the cluster's layout from, tried in order; any node of the cluster
        /// will do, and more than one survives the loss of one.
        public var seeds: [Endpoint]
        /// How to talk to every node: credentials, client name, protocol, TLS, timeouts, backoff
        /// and connections per node. Its ``Configuration/host`` and ``Configuration/port`` are
        /// not used, and its ``Configuration/database`` must be 0 (a cluster has no other). With
        /// ``Configuration/tls``, each node's certificate is checked against the address the
        /// cluster announces for it, or against ``TLS/serverName`` when that is set (see
        /// ``TLS``).
        public var node: Configuration
        /// How many `MOVED` and `ASK` redirects one command may follow before it fails with
        /// ``RedisClientError/Code/tooManyRedirects``. Defaults to 5.
        public var maximumRedirects: Int
        /// How many times one command is sent again after a transient reply or an unreachable
        /// node, before the last reply or error is final. Defaults to 10 (with the default
        /// waits, about 5 s in all: enough for a replica to take over from a failed primary).
        public var maximumRetries: Int
        /// The shortest wait before a retry. Defaults to 20 ms.
        public var retryBackoffMinimum: Duration
        /// The longest wait before a retry. Defaults to 1 s. The wait doubles with each retry
        /// up to this, and a random part of it is taken (between half and all of it).
        public var retryBackoffMaximum: Duration
        /// Which nodes answer commands that only read (``RedisCommand/isReadOnly``). Defaults
        /// to ``ReadFrom/primary``.
        public var readFrom: ReadFrom

        /// Which nodes of a cluster answer commands that only read.
        public enum ReadFrom: Hashable, Sendable {
            /// The primary of the key's slot, like every other command: a read sees every
            /// write acknowledged before it.
            case primary
            /// A replica of the key's slot's primary, the replicas of a primary taken in turn,
            /// or the primary where it has none that the last layout showed online, or when
            /// the replica cannot be reached or is loading. This spreads reads over every node,
            /// but a replica copies its primary's writes a moment after the primary has
            /// acknowledged them, so a read may not see a write that came just before it: for
            /// reads that may lag. Every connection then says `READONLY`.
            case preferReplica
        }

        /// Creates a configuration; see each property for its default.
        public init(seeds: [Endpoint], node: Configuration = Configuration()) {
            self.seeds = seeds
            self.node = node
            self.readFrom = .primary
            self.maximumRedirects = 5
            self.maximumRetries = 10
            self.retryBackoffMinimum = .milliseconds(20)
            self.retryBackoffMaximum = .seconds(1)
        }

        /// `redis+cluster://[user@]host1:port1,host2:port2` (`rediss+cluster://` with TLS), never
        /// with the password.
        public var description: String {
            var text = node.tls == nil ? "redis+cluster://" : "rediss+cluster://"
            if let username = node.username { text += username + "@" }
            return text + seeds.map(\.description).joined(separator: ",")
        }
    }
}
