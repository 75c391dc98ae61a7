public import Foundation

extension RedisClient {
    /// Where the server is and how to talk to it.
    ///
    ///     var configuration = RedisClient.Configuration(host: "127.0.0.1", port: 6379)
    ///     configuration.password = secret
    ///     configuration.database = 2
    ///     configuration.tls = RedisClient.TLS(trustRoots: .file("/etc/redis/ca.pem"))
    public struct Configuration: Sendable, CustomStringConvertible {
        /// The server's host name or address. Defaults to `127.0.0.1`.
        public var host: String
        /// The server's port. Defaults to 6379.
        public var port: Int
        /// The ACL user, or `nil` for the default user. Defaults to `nil`.
        public var username: String?
        /// The password, or `nil` for none. Defaults to `nil`. Never logged or put in errors.
        public var password: String?
        /// The database that `SELECT` picks on every connection. Defaults to 0.
        public var database: Int
        /// The name `CLIENT SETNAME` gives every connection, or `nil`. Defaults to `trove`.
        public var clientName: String?
        /// Whether to ask for RESP3 with `HELLO 3`; servers without it (before Redis 6) are
        /// spoken to in RESP2 whatever this says. Defaults to `true`.
        public var prefersRESP3: Bool
        /// How many connections the client keeps; commands from every task are pipelined onto
        /// them, none is leased per command. Defaults to 2.
        public var connectionCount: Int
        /// How long making a connection may take, from the start of the TCP connect to the end
        /// of the handshake (the TLS handshake, then `HELLO`, `AUTH` and `SELECT`). Defaults to 5 s.
        public var connectTimeout: Duration
        /// How long a command may wait for its reply once it is written (a command sent while
        /// its connection is being made waits for the connection under ``connectTimeout``
        /// first). When the oldest command in flight on a
        /// connection has waited that long, every command on the connection fails with
        /// ``RedisClientError/Code/timedOut`` and the connection is dropped (a reply can no
        /// longer be matched otherwise). One check per connection runs every quarter of this
        /// time, so a timeout is noticed within 1.25 times it; no timer is armed per command.
        /// Defaults to 10 s.
        public var commandTimeout: Duration
        /// The shortest wait before reconnecting after a connection failed. Defaults to 20 ms.
        public var reconnectBackoffMinimum: Duration
        /// The longest wait before reconnecting. Defaults to 2 s. The wait doubles with each
        /// failed attempt up to this, and a random part of it is taken (full jitter).
        public var reconnectBackoffMaximum: Duration
        /// Bounds on the replies the client accepts. Defaults to ``RESPDecoder/Limits``'s.
        public var decoderLimits: RESPDecoder.Limits
        /// How to speak TLS to the server (and to every node of a cluster), or `nil` for plain
        /// TCP. Defaults to `nil`. See ``RedisClient/TLS``.
        public var tls: TLS?
        /// Whether every connection says `READONLY` after its handshake, so that a cluster's
        /// replica answers reads of its primary's slots (the cluster client sets it for
        /// ``ClusterConfiguration/ReadFrom/preferReplica``).
        var sendsReadOnly = false

        /// Creates a configuration; see each property for its default.
        public init(host: String = "127.0.0.1", port: Int = 6379, username: String? = nil, password: String? = nil, database: Int = 0) {
            self.host = host
            self.port = port
            self.username = username
            self.password = password
            self.database = database
            self.clientName = "trove"
            self.prefersRESP3 = true
            self.connectionCount = 2
            self.connectTimeout = .seconds(5)
            self.commandTimeout = .seconds(10)
            self.reconnectBackoffMinimum = .milliseconds(20)
            self.reconnectBackoffMaximum = .seconds(2)
            self.decoderLimits = RESPDecoder.Limits()
            self.tls = nil
        }

        /// `redis://[user@]host:port/db` (`rediss://` with TLS), never with the password.
        public var description: String {
            var text = tls == nil ? "redis://" : "rediss://"
            if let username { text += username + "@" }
            text += (host.contains(":") ? "[\(host)]" : host) + ":\(port)"
            if database != 0 { text += "/\(database)" }
            return text
        }
    }
}
