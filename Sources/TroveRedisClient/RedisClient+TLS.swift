extension RedisClient {
    /// How a client speaks TLS to its server, or to every node of a cluster: whom it trusts,
    /// which certificate it shows, which name it expects and how strictly it checks.
    ///
    ///     var configuration = RedisClient.Configuration(host: "cache.internal", port: 6380)
    ///     configuration.tls = RedisClient.TLS(trustRoots: .file("/etc/redis/ca.pem"))
    ///     // mutual TLS: the server asks for a client certificate (`tls-auth-clients yes`)
    ///     configuration.tls?.clientCertificate = .init(certificateChain: .file("/etc/redis/client.pem"),
    ///                                                  privateKey: .file("/etc/redis/client.key"))
    ///
    /// Every connection the client makes starts with a TLS handshake (TLS 1.2 or later) before
    /// the `HELLO` that opens the Redis conversation, and ``Configuration/connectTimeout``
    /// bounds both together. A handshake that fails ends in
    /// ``RedisClientError/Code/tlsHandshakeFailed``, with the server's `host:port`, the reason in
    /// words and a ``RedisClientError/TLSFailure`` saying which kind of failure it was.
    ///
    /// **Names.** The certificate is checked against ``serverName``, or, when that is `nil`,
    /// against the host the client connects to: a DNS name in the certificate's subject
    /// alternative names for a host name, an IP address entry for an address. A host name (never
    /// an address) is also sent as the TLS server name (SNI).
    ///
    /// **Clusters.** The nodes of a cluster announce themselves by address (`CLUSTER SHARDS`,
    /// unless the cluster is set to announce host names), and the client connects to each at
    /// the address or name announced. With ``serverName`` `nil`, each node's certificate is
    /// checked against that address or name, so each node needs a certificate naming it, as
    /// `redis-cli --tls` expects too: nothing weaker is assumed for nodes the client learnt of
    /// from the cluster rather than from its user. When every node shows one certificate for a
    /// shared name (a managed cluster behind one DNS name), set ``serverName`` to that name:
    /// every node is then checked against it, and it is sent as SNI to each. To skip the name
    /// check but still require a certificate signed by the trusted roots, use
    /// ``Verification/noHostnameVerification``.
    ///
    /// The certificates and key are read when the client is made, and every connection shares
    /// them; ``validate()`` reads them beforehand, to report a mistake before the first command.
    public struct TLS: Sendable, Hashable, CustomStringConvertible {
        /// The certificates that may sign the server's certificate. Defaults to ``TrustRoots/system``.
        public var trustRoots: TrustRoots
        /// The certificate and key shown to a server that asks for one (mutual TLS), or `nil`
        /// to show none. Defaults to `nil`.
        public var clientCertificate: ClientCertificate?
        /// The name the server's certificate must be for, and the name sent as SNI (unless it is
        /// an IP address), or `nil` for the host connected to (each node's own on a cluster).
        /// Defaults to `nil`.
        public var serverName: String?
        /// How strictly the server's certificate is checked. Defaults to ``Verification/full``.
        public var verification: Verification

        /// Creates a TLS configuration; see each property for its default.
        public init(trustRoots: TrustRoots = .system, clientCertificate: ClientCertificate? = nil, serverName: String? = nil,
                    verification: Verification = .full) {
            self.trustRoots = trustRoots
            self.clientCertificate = clientCertificate
            self.serverName = serverName
            self.verification = verification
        }

        /// Reads and parses the trusted certificates, the client certificate and its key now,
        /// and checks that the key belongs to the certificate.
        ///
        /// A client does this when it is made and reports a mistake on every connection
        /// attempt; calling it first reports it at once.
        ///
        /// - Throws: ``RedisClientError/Code/invalidTLSConfiguration`` naming the file that
        ///   cannot be read or holds no PEM certificate or key, or a key that does not match.
        public func validate() throws(RedisClientError) {
            _ = try RedisTLSContext.makeSSLContext(self)
        }

        /// `tls(trust CA file '/etc/ca.pem', client certificate file '/etc/client.pem',
        /// server name cache.internal, verify full)`: where each part comes from, never the
        /// contents of a PEM text.
        public var description: String {
            var parts = ["trust \(trustRoots)"]
            if let clientCertificate { parts.append("client certificate \(clientCertificate.certificateChain)") }
            if let serverName { parts.append("server name \(serverName)") }
            parts.append("verify \(verification)")
            return "tls(" + parts.joined(separator: ", ") + ")"
        }

        /// PEM data: a file that holds it, or the text itself.
        public struct PEMSource: Sendable, Hashable, CustomStringConvertible {
            enum Base: Sendable, Hashable {
                case file(String)
                case text(String)
            }

            let base: Base

            /// The PEM file at `path` (absolute, or relative to the process's current directory).
            public static func file(_ path: String) -> Self { Self(base: .file(path)) }

            /// PEM text: one or more `-----BEGIN …-----` blocks.
            public static func pem(_ text: String) -> Self { Self(base: .text(text)) }

            /// `file '/etc/ca.pem'`, or `PEM text` (never the text, which may hold a key).
            public var description: String {
                switch base {
                case .file(let path): return "file '\(path)'"
                case .text: return "PEM text"
                }
            }
        }

        /// The certificates that may sign the server's certificate.
        public struct TrustRoots: Sendable, Hashable, CustomStringConvertible {
            let certificates: PEMSource?

            /// The system's trusted certificate authorities (on Linux, the distribution's
            /// bundle, such as `/etc/ssl/certs/ca-certificates.crt`).
            public static var system: Self { Self(certificates: nil) }

            /// The certificate authorities in `source`, one or more PEM certificates, and no
            /// others: for a server whose certificate a private CA signed.
            public static func certificates(_ source: PEMSource) -> Self { Self(certificates: source) }

            /// The certificate authorities in the PEM file at `path`, and no others.
            public static func file(_ path: String) -> Self { .certificates(.file(path)) }

            /// The certificate authorities in the PEM text `text`, and no others.
            public static func pem(_ text: String) -> Self { .certificates(.pem(text)) }

            /// `system` or `CA file '/etc/ca.pem'`.
            public var description: String { certificates.map { "CA \($0)" } ?? "system" }
        }

        /// A certificate and its private key, which the client shows to a server that asks for
        /// one.
        public struct ClientCertificate: Sendable, Hashable {
            /// The client's certificate, first, then any intermediate certificates, in PEM.
            public var certificateChain: PEMSource
            /// The certificate's private key, in PEM (unencrypted: PKCS #8, RSA or EC).
            public var privateKey: PEMSource

            /// A certificate chain and its private key.
            public init(certificateChain: PEMSource, privateKey: PEMSource) {
                self.certificateChain = certificateChain
                self.privateKey = privateKey
            }
        }

        /// How strictly the server's certificate is checked.
        public struct Verification: Sendable, Hashable, CustomStringConvertible {
            enum Base: String, Sendable, Hashable {
                case full
                case noHostname = "no-hostname"
                case none
            }

            let base: Base

            /// The certificate must be signed by the trusted roots, be valid now, and name the
            /// server (``TLS/serverName`` or the host): the only safe choice on a network that
            /// others share.
            public static var full: Self { Self(base: .full) }

            /// The certificate must be signed by the trusted roots and valid now, but may name
            /// any server: for servers reached by addresses their certificates do not list.
            /// Anyone holding a certificate of those roots can pose as the server.
            public static var noHostnameVerification: Self { Self(base: .noHostname) }

            /// No check at all: the traffic is encrypted, but anyone on the path can pose as
            /// the server. For tests and throwaway setups only.
            public static var none: Self { Self(base: .none) }

            /// `full`, `no-hostname` or `none`, as the `tls-verify` URL option writes it.
            public var description: String { base.rawValue }
        }
    }
}
