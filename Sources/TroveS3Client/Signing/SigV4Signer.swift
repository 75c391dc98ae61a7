public import Foundation
import Crypto
import Synchronization

/// A request as Signature Version 4 sees it: method, host, path, query and headers.
///
/// The path and the query hold decoded text (an object key as it is, `a b/ሴ`); the signer
/// encodes them once, as S3 expects, and ``SigV4SignedRequest/encodedPath`` and
/// ``SigV4SignedRequest/encodedQuery`` are what goes on the wire, so that what is sent and what
/// is signed cannot differ.
public struct SigV4Request: Sendable, Hashable {
    /// The HTTP method, such as `GET`.
    public var method: String
    /// The `Host` header's value: the host, and the port when it is not the scheme's default.
    public var host: String
    /// The decoded path, starting with `/`.
    public var path: String
    /// The decoded query parameters, in any order; names may repeat.
    public var query: [Parameter]
    /// The headers to sign besides `host` and those the signer adds; names may repeat (their
    /// values are then joined with commas, in this order).
    public var headers: [Parameter]

    /// A name and a value, of a query parameter or a header.
    public struct Parameter: Sendable, Hashable {
        /// The name.
        public var name: String
        /// The value.
        public var value: String
        /// A parameter from its name and value.
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    /// A request to sign.
    public init(method: String, host: String, path: String, query: [Parameter] = [], headers: [Parameter] = []) {
        self.method = method
        self.host = host
        self.path = path
        self.query = query
        self.headers = headers
    }
}

/// What a request's payload contributes to its signature.
public enum SigV4Payload: Sendable, Hashable {
    /// `UNSIGNED-PAYLOAD`: the body is not part of the signature (TLS or a checksum protects
    /// it); what presigned URLs always use.
    case unsigned
    /// The lower-case hex SHA-256 of the body.
    case sha256(String)
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`: the body goes in `aws-chunked` encoding, each chunk
    /// signed in turn, the request's signature the seed of the chain (see
    /// ``SigV4Signer/signChunked(_:date:)`` and ``SigV4ChunkSigner``).
    case signedChunks

    /// The SHA-256 of `body`.
    public static func hash(of body: some DataProtocol) -> SigV4Payload {
        .sha256(SigV4Encoding.hex(SHA256.hash(data: body)))
    }

    /// The SHA-256 of an empty body.
    public static let empty = SigV4Payload.sha256("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")

    /// The text that stands for the payload in the canonical request.
    public var canonicalValue: String {
        switch self {
        case .unsigned: return "UNSIGNED-PAYLOAD"
        case .sha256(let hex): return hex
        case .signedChunks: return "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
        }
    }
}

/// A request signed in its headers: the steps of the signature, and what to send.
public struct SigV4SignedRequest: Sendable {
    /// The canonical request, the first step of the signature.
    public let canonicalRequest: String
    /// The string to sign, made of the canonical request's hash.
    public let stringToSign: String
    /// The signature, 64 lower-case hex digits.
    public let signature: String
    /// The path as it goes on the wire (encoded once).
    public let encodedPath: String
    /// The query as it goes on the wire (encoded, sorted), without the `?`; empty when there is
    /// none. For a presigned request it holds the authentication parameters too.
    public let encodedQuery: String
    /// The headers to add to the request as it is sent: `X-Amz-Date`, `X-Amz-Content-SHA256`,
    /// `X-Amz-Security-Token` and `Authorization` (none for a presigned request).
    public let addedHeaders: [SigV4Request.Parameter]

    /// The path and query, as in a request line: `/bucket/key?x=1`.
    public var pathAndQuery: String { encodedQuery.isEmpty ? encodedPath : encodedPath + "?" + encodedQuery }
}

/// Signs requests with AWS Signature Version 4, in headers or in a presigned URL's query.
///
/// A signer holds the credentials, the region and the service (`s3`). It keeps the signing key
/// of the current day, so that signing a request costs two HMACs and two hashes. S3's rules
/// apply: the path is encoded once and never normalized (``normalizesPath`` exists for other
/// services and for the published test suite).
public struct SigV4Signer: Sendable {
    /// The credentials that sign.
    public let credentials: S3Credentials
    /// The region, such as `us-east-1`.
    public let region: String
    /// The service, `s3` for S3.
    public let service: String
    /// Whether header signing adds `X-Amz-Content-SHA256` (S3 requires it). Defaults to `true`.
    public var sendsContentHashHeader: Bool
    /// Whether the path has `.` and `..` segments and repeated slashes removed before signing
    /// (never for S3, where they are part of the key). Defaults to `false`.
    public var normalizesPath: Bool

    private let keyCache: SigningKeyCache

    /// A signer for `service` in `region`.
    ///
    /// - Parameters:
    ///   - credentials: The keys that sign.
    ///   - region: The region, such as `us-east-1`.
    ///   - service: The service. Defaults to `s3`.
    ///   - sendsContentHashHeader: Whether to add `X-Amz-Content-SHA256`. Defaults to `true`.
    ///   - normalizesPath: Whether to normalize the path. Defaults to `false`.
    public init(credentials: S3Credentials, region: String, service: String = "s3",
                sendsContentHashHeader: Bool = true, normalizesPath: Bool = false) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.sendsContentHashHeader = sendsContentHashHeader
        self.normalizesPath = normalizesPath
        self.keyCache = SigningKeyCache()
    }

    /// Signs `request` in its headers, at `date`, for `payload`.
    ///
    /// - Returns: The steps of the signature and the headers to add
    ///   (``SigV4SignedRequest/addedHeaders``).
    public func sign(_ request: SigV4Request, payload: SigV4Payload, date: Date = Date()) -> SigV4SignedRequest {
        let (timestamp, day) = SigV4Encoding.timestamp(date)
        var added: [SigV4Request.Parameter] = [SigV4Request.Parameter("X-Amz-Date", timestamp)]
        if sendsContentHashHeader { added.append(SigV4Request.Parameter("X-Amz-Content-SHA256", payload.canonicalValue)) }
        if let token = credentials.sessionToken { added.append(SigV4Request.Parameter("X-Amz-Security-Token", token)) }
        let headers = canonicalHeaders(host: request.host, request.headers + added)
        let encodedPath = encodePath(request.path)
        let encodedQuery = Self.canonicalQuery(request.query)
        let canonical = [request.method, encodedPath, encodedQuery, headers.block, headers.names, payload.canonicalValue]
            .joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = stringToSign(canonical, timestamp: timestamp, scope: scope)
        let signature = sign(stringToSign, day: day)
        added.append(SigV4Request.Parameter(
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(headers.names), Signature=\(signature)"))
        return SigV4SignedRequest(canonicalRequest: canonical, stringToSign: stringToSign, signature: signature,
                                  encodedPath: encodedPath, encodedQuery: encodedQuery, addedHeaders: added)
    }

    /// Signs `request` in its query, as a presigned URL valid for `expires` seconds from `date`.
    ///
    /// The headers of `request` are signed, so whoever uses the URL must send them as they are.
    ///
    /// - Parameters:
    ///   - request: The request the URL stands for: its method, host, path, query and headers.
    ///   - expires: Seconds of validity, 1 to 604,800 (seven days), S3's limits; a value
    ///     outside is clamped to them.
    ///   - payload: What stands for the body. Defaults to ``SigV4Payload/unsigned``, what S3
    ///     expects of a presigned URL (whoever uses it chooses the body).
    ///   - date: When the validity starts. Defaults to now.
    /// - Returns: The signed request, whose ``SigV4SignedRequest/pathAndQuery`` holds the
    ///   authentication parameters and `X-Amz-Signature`.
    public func presign(_ request: SigV4Request, expires: Int, payload: SigV4Payload = .unsigned,
                        date: Date = Date()) -> SigV4SignedRequest {
        let (timestamp, day) = SigV4Encoding.timestamp(date)
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let headers = canonicalHeaders(host: request.host, request.headers)
        var authentication = [
            SigV4Request.Parameter("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            SigV4Request.Parameter("X-Amz-Credential", "\(credentials.accessKeyID)/\(scope)"),
            SigV4Request.Parameter("X-Amz-Date", timestamp),
            SigV4Request.Parameter("X-Amz-Expires", String(min(max(expires, 1), 604_800))),
            SigV4Request.Parameter("X-Amz-SignedHeaders", headers.names),
        ]
        if let token = credentials.sessionToken { authentication.append(SigV4Request.Parameter("X-Amz-Security-Token", token)) }
        let encodedPath = encodePath(request.path)
        let query = Self.canonicalQuery(request.query + authentication)
        let canonical = [request.method, encodedPath, query, headers.block, headers.names, payload.canonicalValue]
            .joined(separator: "\n")
        let stringToSign = stringToSign(canonical, timestamp: timestamp, scope: scope)
        let signature = sign(stringToSign, day: day)
        return SigV4SignedRequest(canonicalRequest: canonical, stringToSign: stringToSign, signature: signature,
                                  encodedPath: encodedPath, encodedQuery: query + "&X-Amz-Signature=" + signature,
                                  addedHeaders: [])
    }

    // MARK: - The steps

    /// The canonical query: each name and value encoded, sorted by name and then value.
    static func canonicalQuery(_ parameters: [SigV4Request.Parameter]) -> String {
        guard !parameters.isEmpty else { return "" }
        let encoded = parameters.map { (SigV4Encoding.percentEncode($0.name), SigV4Encoding.percentEncode($0.value)) }
        let sorted = encoded.sorted { lhs, rhs in
            lhs.0 == rhs.0 ? lhs.1.utf8.lexicographicallyPrecedes(rhs.1.utf8) : lhs.0.utf8.lexicographicallyPrecedes(rhs.0.utf8)
        }
        return sorted.map { $0.0 + "=" + $0.1 }.joined(separator: "&")
    }

    /// The canonical headers block (`name:value` lines, each followed by a newline) and the
    /// signed header names (`host;x-amz-date`).
    func canonicalHeaders(host: String, _ headers: [SigV4Request.Parameter]) -> (block: String, names: String) {
        var values: [String: [String]] = ["host": [Self.trimmed(host)]]
        for header in headers {
            let name = header.name.lowercased()
            if name == "host" { continue }
            values[name, default: []].append(Self.trimmed(header.value))
        }
        let names = values.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var block = ""
        for name in names {
            block += name + ":" + values[name]!.joined(separator: ",") + "\n"
        }
        return (block, names.joined(separator: ";"))
    }

    /// `value` without leading and trailing white space, each inner run of white space (a folded
    /// line's break included) made one space.
    static func trimmed(_ value: String) -> String {
        var output = [UInt8]()
        output.reserveCapacity(value.utf8.count)
        var pendingSpace = false
        for byte in value.utf8 {
            if byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D {
                pendingSpace = !output.isEmpty
            } else {
                if pendingSpace { output.append(0x20) }
                pendingSpace = false
                output.append(byte)
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    func encodePath(_ path: String) -> String {
        SigV4Encoding.percentEncode(normalizesPath ? Self.normalized(path) : path, keepingSlashes: true)
    }

    /// `path` without empty, `.` and `..` segments (RFC 3986's dot-segment removal, with
    /// repeated slashes collapsed), keeping a trailing slash.
    static func normalized(_ path: String) -> String {
        var segments: [Substring] = []
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        for part in parts {
            switch part {
            case "", ".": continue
            case "..": _ = segments.popLast()
            default: segments.append(part)
            }
        }
        var result = "/" + segments.joined(separator: "/")
        let last = parts.last ?? ""
        if !segments.isEmpty, last.isEmpty || last == "." || last == ".." { result += "/" }
        return result
    }

    private func stringToSign(_ canonicalRequest: String, timestamp: String, scope: String) -> String {
        let hash = SigV4Encoding.hex(SHA256.hash(data: Data(canonicalRequest.utf8)))
        return "AWS4-HMAC-SHA256\n\(timestamp)\n\(scope)\n\(hash)"
    }

    private func sign(_ stringToSign: String, day: String) -> String {
        SigV4Encoding.hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: signingKey(day: day)))
    }

    /// The key of `day` (`20150830`) that signs strings to sign: the secret run through HMACs
    /// of the day, the region, the service and `aws4_request`.
    func signingKey(day: String) -> SymmetricKey {
        keyCache.key(day: day) {
            func hmac(_ key: SymmetricKey, _ text: String) -> SymmetricKey {
                SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: key))
            }
            let secret = SymmetricKey(data: Data(("AWS4" + credentials.secretAccessKey).utf8))
            return hmac(hmac(hmac(hmac(secret, day), region), service), "aws4_request")
        }
    }
}

/// The signing key of the last day a signer signed for.
private final class SigningKeyCache: Sendable {
    private let cached = Mutex<(day: String, key: SymmetricKey)?>(nil)

    func key(day: String, derive: () -> SymmetricKey) -> SymmetricKey {
        if let hit = cached.withLock({ $0?.day == day ? $0?.key : nil }) { return hit }
        let key = derive()
        cached.withLock { $0 = (day, key) }
        return key
    }
}
