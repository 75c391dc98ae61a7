/// Why a command of ``RedisClient`` failed, other than the server refusing it.
///
/// An error reply from the server is ``Code/server`` with the ``RedisServerError`` in
/// ``serverError``, its message kept as the server sent it. Messages never hold a password.
public struct RedisClientError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is, stable across releases.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case connectFailed, connectionClosed, timedOut, protocolViolation, server, authenticationFailed, shutDown, tooManyRedirects
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// No connection could be made (refused, unreachable, the connect timeout, a failed
        /// handshake other than authentication). The command was not sent.
        public static var connectFailed: Self { Self(.connectFailed) }
        /// The connection closed while the command was in flight: the server may or may not
        /// have carried it out.
        public static var connectionClosed: Self { Self(.connectionClosed) }
        /// No reply within the command timeout; the connection was dropped, so the command may
        /// or may not have been carried out.
        public static var timedOut: Self { Self(.timedOut) }
        /// The server sent bytes that are not RESP; the connection was dropped.
        public static var protocolViolation: Self { Self(.protocolViolation) }
        /// The server answered with an error reply (see ``RedisClientError/serverError``).
        public static var server: Self { Self(.server) }
        /// The server refused the credentials (`WRONGPASS`, `NOAUTH`, `NOPERM` on `HELLO`/`AUTH`).
        public static var authenticationFailed: Self { Self(.authenticationFailed) }
        /// The client was shut down.
        public static var shutDown: Self { Self(.shutDown) }
        /// A cluster redirected the command (`MOVED`, `ASK`) more often than
        /// ``RedisClient/ClusterConfiguration/maximumRedirects``: its layout is changing
        /// faster than the client follows. The command was not carried out.
        public static var tooManyRedirects: Self { Self(.tooManyRedirects) }

        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// What went wrong, in a sentence.
    public var message: String
    /// The server's error reply, for ``Code/server`` and ``Code/authenticationFailed``.
    public var serverError: RedisServerError?
    /// The cause beneath: a socket error, a ``RESPProtocolError``.
    public var underlying: (any Error)?

    /// Creates an error.
    public init(_ code: Code, _ message: String, serverError: RedisServerError? = nil, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.serverError = serverError
        self.underlying = underlying
    }

    /// Whether sending the command again may succeed: connection failures, timeouts, and the
    /// server's transient replies (`LOADING`, `BUSY`, `TRYAGAIN`, `MASTERDOWN`, `CLUSTERDOWN`).
    public var isRetryable: Bool {
        switch code {
        case .connectFailed, .connectionClosed, .timedOut, .tooManyRedirects: return true
        case .server:
            let prefix = serverError?.prefix ?? ""
            return ["LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN", "CLUSTERDOWN"].contains(prefix)
        default: return false
        }
    }

    public var description: String {
        var text = "\(code): \(message)"
        if let underlying { text += " (\(underlying))" }
        return text
    }
}
