import AsyncHTTPClient
public import Foundation

/// A failed S3 request: the server's error (its code, message and request id) or the failure
/// to reach it.
///
/// The description never holds credentials or a presigned query.
public struct S3Error: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is, for callers that branch on it.
    public enum Kind: String, Sendable, Hashable {
        /// The bucket or the key does not exist (`NoSuchBucket`, `NoSuchKey`, a 404).
        case notFound
        /// A condition (`If-Match`, `If-None-Match`) did not hold: 412, or 409
        /// `ConditionalRequestConflict` from a concurrent conditional write.
        case preconditionFailed
        /// The credentials are wrong (`InvalidAccessKeyId`, `SignatureDoesNotMatch`).
        case invalidCredentials
        /// The credentials are right but not allowed this (`AccessDenied`, other 403s).
        case accessDenied
        /// The client's clock is too far from the server's (`RequestTimeTooSkewed`).
        case clockSkew
        /// The server asks to slow down (503 `SlowDown`, 429).
        case throttled
        /// The server failed (500, 502, 503, 504).
        case serverError
        /// The request was refused as malformed or too large (other 4xx).
        case invalidRequest
        /// No answer: the connection failed or was reset.
        case connection
        /// No answer within a deadline: the request's timeout, or the HTTP client's connect
        /// or read timeout.
        case timedOut
        /// The answer could not be understood.
        case invalidResponse
    }

    /// The kind of failure.
    public var kind: Kind
    /// The operation, such as `PutObject`.
    public var operation: String
    /// The bucket the request was for, if any.
    public var bucket: String?
    /// The key the request was for, if any.
    public var key: String?
    /// The HTTP status, or `nil` when no response came.
    public var status: Int?
    /// S3's error code, such as `NoSuchKey`; `nil` when the response had no error body.
    public var code: String?
    /// The server's message, or what went wrong on the client's side.
    public var message: String
    /// The server's request id (`x-amz-request-id`), for its logs.
    public var requestID: String?
    /// The failure beneath, such as a connection error.
    public var underlying: (any Error)?
    /// How long the server asked the client to wait before trying again (its `Retry-After`
    /// header, in seconds or as a date), if it said.
    public var retryAfter: Duration?

    /// An error from its parts.
    public init(kind: Kind, operation: String, bucket: String? = nil, key: String? = nil, status: Int? = nil,
                code: String? = nil, message: String, requestID: String? = nil, underlying: (any Error)? = nil,
                retryAfter: Duration? = nil) {
        self.kind = kind
        self.operation = operation
        self.bucket = bucket
        self.key = key
        self.status = status
        self.code = code
        self.message = message
        self.requestID = requestID
        self.underlying = underlying
        self.retryAfter = retryAfter
    }

    /// The wait a `Retry-After` header asks for: a whole number of seconds, or an HTTP date
    /// (the time until then, as `now` tells it; none when it has passed). `nil` for anything
    /// else, and at most an hour, so that a garbled header cannot stall a client for days.
    public static func retryAfter(header value: String, now: Date = Date()) -> Duration? {
        let text = value.trimmingCharacters(in: .whitespaces)
        let hour = 3600
        if let seconds = Int(text) {
            return seconds >= 0 ? .seconds(min(seconds, hour)) : nil
        }
        let format = DateFormatter()
        format.locale = Locale(identifier: "en_US_POSIX")
        format.timeZone = TimeZone(identifier: "GMT")
        format.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = format.date(from: text) else { return nil }
        let milliseconds = Int(date.timeIntervalSince(now) * 1000)
        return .milliseconds(min(max(milliseconds, 0), hour * 1000))
    }

    /// Whether repeating the same request may succeed (throttling, a server failure, a lost
    /// connection).
    public var isRetryable: Bool {
        switch kind {
        case .throttled, .serverError, .connection, .timedOut: return true
        default: return code == "RequestTimeout" || code == "InternalError"
        }
    }

    /// `PutObject bucket/key: 412 PreconditionFailed: At least one of the pre-conditions you
    /// specified did not hold (request id …)`.
    public var description: String {
        var text = operation
        if let bucket { text += " " + bucket + (key.map { "/" + $0 } ?? "") }
        text += ": "
        if let status { text += "\(status) " }
        if let code { text += code + ": " }
        text += message
        if let requestID { text += " (request id \(requestID))" }
        return text
    }

    /// ``Kind/timedOut`` when `error`, from the HTTP client, is one of its timeouts, else
    /// ``Kind/connection``.
    public static func kind(ofFailure error: any Error) -> Kind {
        guard let error = error as? HTTPClientError else { return .connection }
        return error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout ? .timedOut : .connection
    }

    /// The kind that an S3 error `code` answered with HTTP `status` belongs to.
    public static func kind(status: Int, code: String?) -> Kind {
        switch code {
        case "NoSuchKey", "NoSuchBucket", "NoSuchUpload", "NotFound": return .notFound
        case "PreconditionFailed", "ConditionalRequestConflict": return .preconditionFailed
        case "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken", "AuthorizationHeaderMalformed":
            return .invalidCredentials
        case "RequestTimeTooSkewed": return .clockSkew
        case "SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequests": return .throttled
        case "AccessDenied": return .accessDenied
        default: break
        }
        switch status {
        case 404: return .notFound
        case 412: return .preconditionFailed
        case 403: return .accessDenied
        case 429: return .throttled
        case 500...599: return .serverError
        case 400...499: return .invalidRequest
        default: return .invalidResponse
        }
    }
}
