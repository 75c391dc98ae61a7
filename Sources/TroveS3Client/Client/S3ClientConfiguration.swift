public import Foundation

/// Where an ``S3Client`` sends its requests and how it signs and repeats them.
public struct S3ClientConfiguration: Sendable {
    /// How a bucket is named in a request.
    public enum Addressing: String, Sendable, Hashable {
        /// `http://endpoint/bucket/key`: works with every server (MinIO, SeaweedFS, Ceph) and
        /// every bucket name.
        case path
        /// `http://bucket.endpoint/key`: what AWS prefers; needs a bucket name that is a valid
        /// host name and a DNS entry for it.
        case virtualHost
    }

    /// The server: scheme, host and port, such as `http://127.0.0.1:8333`.
    public var endpoint: URL
    /// The region the signature is scoped to. Defaults to `us-east-1`.
    public var region: String
    /// The keys that sign every request.
    public var credentials: S3Credentials
    /// How buckets are addressed. Defaults to ``Addressing/path``.
    public var addressing: Addressing
    /// When failed requests are repeated. Defaults to ``S3RetryPolicy/default``.
    public var retry: S3RetryPolicy
    /// How long one attempt may take, from sending the request to the end of its response's
    /// head (a streamed body may take longer). Defaults to 60 seconds.
    public var requestTimeout: Duration
    /// Whether request bodies are signed (their SHA-256 in the signature) rather than sent as
    /// `UNSIGNED-PAYLOAD`. Defaults to `true` over `http` (where nothing else protects the body)
    /// and `false` over `https`.
    public var signsPayload: Bool
    /// Where connections go in place of the request's own host name (the endpoint's host, or
    /// the bucket's under virtual-host addressing), as curl's `--connect-to` does: the request
    /// still names and signs its host in its `Host` header. For an endpoint behind a tunnel or
    /// a private address, or virtual-host addressing where no DNS entry names the buckets.
    /// Presigned URLs keep the request's host. Over `https` the server's certificate is checked
    /// against this address's host. Defaults to `nil`: the host name is resolved.
    public var connectionAddress: ConnectionAddress?

    /// A host and port to connect to.
    public struct ConnectionAddress: Sendable, Hashable {
        /// A host name or an IP address (IPv6 without brackets).
        public var host: String
        /// The TCP port.
        public var port: Int

        /// The address `host`:`port`.
        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        /// `host:port`, an IPv6 address in brackets.
        var authority: String { (host.contains(":") ? "[\(host)]" : host) + ":\(port)" }
    }

    /// A configuration for `endpoint`.
    ///
    /// - Parameters:
    ///   - endpoint: The server's base URL (`http` or `https`, a host, an optional port, no path).
    ///   - region: The signing region. Defaults to `us-east-1`.
    ///   - credentials: The signing keys.
    ///   - addressing: Path or virtual-host addressing. Defaults to ``Addressing/path``.
    ///   - retry: The retry policy. Defaults to ``S3RetryPolicy/default``.
    ///   - requestTimeout: The time one attempt may take. Defaults to 60 seconds.
    ///   - signsPayload: Whether bodies are signed. Defaults to `true` unless the scheme is `https`.
    /// - Throws: ``S3Error`` (``S3Error/Kind/invalidRequest``) when the endpoint is not an
    ///   `http` or `https` URL with a host and without a path.
    public init(endpoint: URL, region: String = "us-east-1", credentials: S3Credentials,
                addressing: Addressing = .path, retry: S3RetryPolicy = .default,
                requestTimeout: Duration = .seconds(60), signsPayload: Bool? = nil) throws(S3Error) {
        guard let scheme = endpoint.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = endpoint.host, !host.isEmpty else {
            throw S3Error(kind: .invalidRequest, operation: "Configure",
                          message: "the endpoint '\(endpoint.absoluteString)' must be an http or https URL with a host")
        }
        guard endpoint.path.isEmpty || endpoint.path == "/", endpoint.query == nil else {
            throw S3Error(kind: .invalidRequest, operation: "Configure",
                          message: "the endpoint '\(endpoint.absoluteString)' must not have a path or a query")
        }
        self.endpoint = endpoint
        self.region = region
        self.credentials = credentials
        self.addressing = addressing
        self.retry = retry
        self.requestTimeout = requestTimeout
        self.signsPayload = signsPayload ?? (scheme != "https")
    }

    var scheme: String { endpoint.scheme!.lowercased() }

    /// `host` or `host:port` (the port only when it is not the scheme's default).
    var hostAndPort: String {
        let host = endpoint.host!
        let bracketed = host.contains(":") ? "[\(host)]" : host
        guard let port = endpoint.port, port != (scheme == "https" ? 443 : 80) else { return bracketed }
        return "\(bracketed):\(port)"
    }
}

/// When a failed request is sent again: only for failures that may pass (a lost connection, a
/// server error, throttling), only for requests that are safe to repeat, a bounded number of
/// times, after a full-jitter exponential backoff.
///
/// A request is safe to repeat when repeating it cannot change the outcome: reads, listings,
/// unconditional writes of a body held in memory, deletes. A conditional write is repeated
/// only after an answer that says it was not applied (503, 429); a write of a streamed body
/// is never repeated.
public struct S3RetryPolicy: Sendable, Hashable {
    /// How many attempts in all, the first included; 1 turns retries off.
    public var maximumAttempts: Int
    /// The cap of the first backoff; each later one doubles, up to ``maximumDelay``.
    public var baseDelay: Duration
    /// The largest backoff.
    public var maximumDelay: Duration
    /// No attempt starts later than this after the first.
    public var maximumTotal: Duration

    /// A retry policy.
    public init(maximumAttempts: Int = 4, baseDelay: Duration = .milliseconds(50),
                maximumDelay: Duration = .seconds(2), maximumTotal: Duration = .seconds(20)) {
        self.maximumAttempts = max(1, maximumAttempts)
        self.baseDelay = baseDelay
        self.maximumDelay = maximumDelay
        self.maximumTotal = maximumTotal
    }

    /// 4 attempts, backoffs capped at 50 ms, 100 ms, 200 ms (up to 2 s), within 20 seconds.
    public static let `default` = S3RetryPolicy()
    /// One attempt, no retry.
    public static let none = S3RetryPolicy(maximumAttempts: 1)

    /// The backoff before attempt `attempt + 1` (attempt counts from 1): a uniformly random
    /// time between zero and `min(maximumDelay, baseDelay × 2^(attempt − 1))`.
    func delay(afterAttempt attempt: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        let cap = min(maximumDelay, baseDelay * (1 << min(attempt - 1, 30)))
        let nanoseconds = cap.components.seconds * 1_000_000_000 + cap.components.attoseconds / 1_000_000_000
        guard nanoseconds > 0 else { return .zero }
        return .nanoseconds(Int64.random(in: 0...nanoseconds, using: &generator))
    }
}
