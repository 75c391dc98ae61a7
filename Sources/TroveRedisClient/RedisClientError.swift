/// Why a command of ``RedisClient`` failed, other than the server refusing it.
///
/// An error reply from the server is ``Code/server`` with the ``RedisServerError`` in
/// ``serverError``, its message kept as the server sent it. Messages never hold a password.
public struct RedisClientError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is, stable across releases.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case connectFailed, connectionClosed, timedOut, protocolViolation, server, authenticationFailed, shutDown, tooManyRedirects
            case tlsHandshakeFailed, invalidTLSConfiguration
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
        /// The TLS handshake with the server failed: its certificate is not trusted or not for
        /// the name expected, it refused the client's certificate or got none, or it does not
        /// speak TLS on that port (``RedisClientError/tlsFailure`` says which). The command was
        /// not sent. Not retryable: the next attempt fails the same way until the configuration
        /// or the server changes. A handshake that does not finish within the connect timeout
        /// is ``connectFailed``.
        public static var tlsHandshakeFailed: Self { Self(.tlsHandshakeFailed) }
        /// The TLS configuration cannot be used: a CA, certificate or key file that cannot be
        /// read or holds no PEM certificate or key, or a key that does not belong to the
        /// certificate. The command was not sent. See ``RedisClient/TLS/validate()``.
        public static var invalidTLSConfiguration: Self { Self(.invalidTLSConfiguration) }

        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// What went wrong, in a sentence.
    public var message: String
    /// The server's error reply, for ``Code/server`` and ``Code/authenticationFailed``.
    public var serverError: RedisServerError?
    /// The cause beneath: a socket error, a ``RESPProtocolError``, a TLS library error.
    public var underlying: (any Error)?
    /// What kind of TLS failure a ``Code/tlsHandshakeFailed`` error is; `nil` for other codes.
    public var tlsFailure: TLSFailure?

    /// The kind of a failed TLS handshake, stable across releases.
    public struct TLSFailure: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case untrustedCertificate, nameMismatch, clientCertificateRejected, notTLS, other
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The server's certificate is not signed by a trusted root (another CA, self-signed),
        /// or has expired or is not valid yet.
        public static var untrustedCertificate: Self { Self(.untrustedCertificate) }
        /// The server's certificate is trusted but names neither ``RedisClient/TLS/serverName``
        /// nor the host connected to.
        public static var nameMismatch: Self { Self(.nameMismatch) }
        /// The server wanted a client certificate and got none, or did not trust the one it got.
        public static var clientCertificateRejected: Self { Self(.clientCertificateRejected) }
        /// What answered is not TLS: a plain Redis port, or another protocol.
        public static var notTLS: Self { Self(.notTLS) }
        /// Anything else: no protocol version or cipher in common, the connection closed
        /// during the handshake, a malformed message.
        public static var other: Self { Self(.other) }

        public var description: String { base.rawValue }
    }

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
        case .tlsHandshakeFailed, .invalidTLSConfiguration: return false
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
