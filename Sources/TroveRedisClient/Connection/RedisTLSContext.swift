import Foundation
import NIOCore
import NIOSSL

/// The TLS side of a client's connections: the SSL context, made once from the
/// configuration and shared by every connection of the client (and by every node of a
/// cluster), the handler each connection starts with, and what a TLS library error means.
///
/// Making the context reads the certificate files (and, for the system's roots, the
/// distribution's bundle), which is blocking I/O: it happens once, when the client is made,
/// never on an event loop.
final class RedisTLSContext: Sendable {
    let tls: RedisClient.TLS
    private let context: Result<NIOSSLContext, RedisClientError>

    init(_ tls: RedisClient.TLS) {
        self.tls = tls
        do {
            context = .success(try Self.makeSSLContext(tls))
        } catch {
            context = .failure(error)
        }
    }

    /// Why the settings cannot be used, or `nil` when they can.
    var failure: RedisClientError? {
        if case .failure(let error) = context { return error }
        return nil
    }

    /// The handler that speaks TLS to `configuration`'s server: SNI and the name checked are
    /// ``RedisClient/TLS/serverName``, else the host (no SNI for an IP address, whose
    /// certificate entry NIOSSL checks against the address connected to).
    func makeHandler(for configuration: RedisClient.Configuration) throws(RedisClientError) -> NIOSSLClientHandler {
        let context = try self.context.get()
        let name = tls.serverName ?? configuration.host
        do {
            return try NIOSSLClientHandler(context: context, serverHostname: Self.isIPAddress(name) ? nil : name)
        } catch {
            throw RedisClientError(.invalidTLSConfiguration, "'\(name)' cannot be the TLS server name of \(configuration.endpoint): \(error)",
                                   underlying: error)
        }
    }

    // MARK: The context

    /// The context for `tls`, its files read and parsed.
    static func makeSSLContext(_ tls: RedisClient.TLS) throws(RedisClientError) -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        switch tls.verification.base {
        case .full: configuration.certificateVerification = .fullVerification
        case .noHostname: configuration.certificateVerification = .noHostnameVerification
        case .none: configuration.certificateVerification = .none
        }
        if let source = tls.trustRoots.certificates {
            configuration.trustRoots = .certificates(try certificates(in: source, what: "the trusted CA certificates"))
        } else {
            configuration.trustRoots = .default
        }
        if let client = tls.clientCertificate {
            configuration.certificateChain = try certificates(in: client.certificateChain, what: "the client certificate").map { .certificate($0) }
            configuration.privateKey = .privateKey(try privateKey(in: client.privateKey))
        }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            // Both parsed above: BoringSSL refuses a key only when it is not the certificate's.
            let text = String(describing: error)
            if let client = tls.clientCertificate, (error as? NIOSSLError).map({ if case .failedToLoadPrivateKey = $0 { true } else { false } }) == true
                || text.contains("KEY_VALUES_MISMATCH") {
                throw RedisClientError(.invalidTLSConfiguration, "the client key (\(client.privateKey)) does not belong to the client "
                                       + "certificate (\(client.certificateChain))", underlying: error)
            }
            let roots = tls.trustRoots.certificates == nil ? "the system's trusted certificates cannot be loaded, or " : ""
            throw RedisClientError(.invalidTLSConfiguration, "the TLS settings cannot be used (\(roots)the certificates are refused): "
                                   + (reasonCode(error) ?? text), underlying: error)
        }
    }

    /// The bytes of `source`: the file's, or the text's.
    private static func bytes(of source: RedisClient.TLS.PEMSource, what: String) throws(RedisClientError) -> [UInt8] {
        switch source.base {
        case .text(let text):
            return Array(text.utf8)
        case .file(let path):
            do {
                return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
            } catch {
                let reason: String
                switch (error as? CocoaError)?.code {
                case .fileReadNoSuchFile?: reason = "no such file"
                case .fileReadNoPermission?: reason = "permission denied"
                default: reason = (error as NSError).localizedDescription
                }
                throw RedisClientError(.invalidTLSConfiguration, "cannot read \(what) from \(source): \(reason)", underlying: error)
            }
        }
    }

    private static func certificates(in source: RedisClient.TLS.PEMSource, what: String) throws(RedisClientError) -> [NIOSSLCertificate] {
        let bytes = try bytes(of: source, what: what)
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMBytes(bytes)
        } catch {
            throw RedisClientError(.invalidTLSConfiguration, "\(what) in \(source) is not PEM: expected '-----BEGIN CERTIFICATE-----' blocks",
                                   underlying: error)
        }
        guard !certificates.isEmpty else {
            throw RedisClientError(.invalidTLSConfiguration, "\(source) holds no certificate: expected '-----BEGIN CERTIFICATE-----' blocks for \(what)")
        }
        return certificates
    }

    private static func privateKey(in source: RedisClient.TLS.PEMSource) throws(RedisClientError) -> NIOSSLPrivateKey {
        let bytes = try bytes(of: source, what: "the client key")
        do {
            return try NIOSSLPrivateKey(bytes: bytes, format: .pem)
        } catch {
            throw RedisClientError(.invalidTLSConfiguration, "the client key in \(source) is not an unencrypted PEM private key "
                                   + "('-----BEGIN PRIVATE KEY-----', RSA or EC)", underlying: error)
        }
    }

    static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }

    // MARK: What went wrong

    /// The kind and the words for a TLS library error of a connection whose handshake has
    /// not finished; `nil` for an error that is not a TLS one (a reset socket, say).
    ///
    /// - Parameters:
    ///   - error: What NIOSSL fired.
    ///   - name: The name the certificate was checked against.
    static func failure(_ error: any Error, tls: RedisClient.TLS, name: String) -> (RedisClientError.TLSFailure, String)? {
        if let extra = error as? NIOSSLExtraError {
            if extra == .failedToValidateHostname {
                let hint = tls.serverName == nil
                    ? "connect by a name the certificate lists, set the server name it is for (tls-server-name), or verify with no-hostname"
                    : "set the server name it is for (tls-server-name), or verify with no-hostname"
                return (.nameMismatch, "the server's certificate is not for \(isIPAddress(name) ? "the address" : "the name") '\(name)'; \(hint)")
            }
            return (.other, String(describing: extra))
        }
        let code: String
        switch error {
        case let error as NIOSSLError:
            switch error {
            case .handshakeFailed(let inner):
                code = reasonCode(inner) ?? String(describing: inner)
            case .uncleanShutdown:
                return (.other, "the server closed the connection during the TLS handshake")
            default:
                return (.other, String(describing: error))
            }
        case let error as BoringSSLError:
            code = reasonCode(error) ?? String(describing: error)
        default:
            return nil
        }
        switch code {
        case "CERTIFICATE_VERIFY_FAILED":
            let roots = tls.trustRoots.certificates.map { "the CA certificates in \($0)" } ?? "a CA the system trusts"
            return (.untrustedCertificate, "the server's certificate is not trusted: it is not signed by \(roots), "
                    + "or it has expired or is not valid yet (\(code))")
        case let code where code.hasSuffix("CERTIFICATE_REQUIRED"):
            let given = tls.clientCertificate == nil ? "none was given (tls-cert and tls-key)" : "it did not get the one given"
            return (.clientCertificateRejected, "the server requires a client certificate, and \(given) (\(code))")
        case let code where code.hasSuffix("ALERT_BAD_CERTIFICATE") || code.hasSuffix("ALERT_UNKNOWN_CA")
            || code.hasSuffix("ALERT_CERTIFICATE_UNKNOWN") || code.hasSuffix("ALERT_ACCESS_DENIED")
            || code.hasSuffix("ALERT_CERTIFICATE_EXPIRED") || code.hasSuffix("ALERT_UNSUPPORTED_CERTIFICATE"):
            let given = tls.clientCertificate == nil ? "none was given" : "the one given is not signed by a CA it trusts, or has expired"
            return (.clientCertificateRejected, "the server refused the client's certificate: \(given) (\(code))")
        case "WRONG_VERSION_NUMBER", "HTTP_REQUEST", "HTTPS_PROXY_REQUEST", "RECORD_TOO_LARGE", "PACKET_LENGTH_TOO_LONG",
             "ENCRYPTED_LENGTH_TOO_LONG", "BAD_PACKET_LENGTH":
            return (.notTLS, "what answered does not speak TLS: a plain Redis port, or another protocol (\(code))")
        case let code where code.hasSuffix("ALERT_PROTOCOL_VERSION") || code == "UNSUPPORTED_PROTOCOL":
            return (.other, "the server speaks no TLS version the client does (1.2 and 1.3) (\(code))")
        case let code where code.hasSuffix("ALERT_HANDSHAKE_FAILURE"):
            let given = tls.clientCertificate == nil ? "it requires a client certificate, or " : ""
            return (.other, "the server ended the handshake: \(given)it has no cipher in common with the client (\(code))")
        default:
            return (.other, code)
        }
    }

    /// `CERTIFICATE_VERIFY_FAILED` out of BoringSSL's `error:1000007d:SSL
    /// routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED at …`, or `EOF during handshake`.
    static func reasonCode(_ error: any Error) -> String? {
        let text = String(describing: error)
        if text.contains("EOF during handshake") { return "the server closed the connection during the TLS handshake" }
        guard let marker = text.range(of: "OPENSSL_internal:", options: .backwards) else { return nil }
        let code = text[marker.upperBound...].prefix { $0.isUppercase || $0.isNumber || $0 == "_" }
        return code.isEmpty ? nil : String(code)
    }
}

extension RedisClient.Configuration {
    /// `host:port` (`[host]:port` for an IPv6 address), for messages.
    var endpoint: RedisClient.Endpoint { RedisClient.Endpoint(host: host, port: port) }
}
