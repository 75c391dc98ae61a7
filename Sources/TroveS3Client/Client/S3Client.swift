public import AsyncHTTPClient
import Foundation
public import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import TroveNIOSupport

/// A small S3 client: signed requests over AsyncHTTPClient to any S3-compatible server (AWS,
/// MinIO, SeaweedFS, Ceph, R2, Google Cloud Storage's interoperability API).
///
/// Every operation signs its request with Signature Version 4, maps an error answer to
/// ``S3Error`` (with S3's code, message and request id) and repeats failures under the
/// configuration's ``S3RetryPolicy``. The client keeps no state between requests beyond the
/// connection pool of its `HTTPClient`, the signing key of the day and the uploads it could
/// not abort (``abandonedUploads``); it is safe to share between tasks.
///
/// A missing key reads as `nil` (``headObject(bucket:key:)``, ``getObject(bucket:key:range:ifNoneMatch:ifMatch:)``);
/// a missing bucket throws ``S3Error/Kind/notFound`` naming it.
public final class S3Client: Sendable {
    /// Where requests go and how they are signed and repeated.
    public let configuration: S3ClientConfiguration
    /// The HTTP client that sends the requests.
    public let httpClient: HTTPClient
    /// The signer of every request.
    public let signer: SigV4Signer
    /// Where retries go (at debug level: the operation, the bucket, the attempt, the wait and
    /// the failure, never a key, a value or a credential), and the HTTP client's own events
    /// of each request (connections made and reused, at trace level).
    public let logger: Logger
    /// The uploads given up and not yet aborted (see ``abandonedUploads``).
    let abandoned = AbandonedUploads()

    /// A client for `configuration`, sending through `httpClient`.
    ///
    /// - Parameters:
    ///   - configuration: The endpoint, the region, the credentials, the addressing, the retry
    ///     policy and the timeouts.
    ///   - httpClient: The HTTP client; defaults to ``defaultHTTPClient``, which needs no
    ///     shutdown. A client passed in stays the caller's to shut down.
    ///   - logger: Where retries and the HTTP client's events go. Defaults to a logger
    ///     labelled `trove.s3`.
    public init(configuration: S3ClientConfiguration, httpClient: HTTPClient = S3Client.defaultHTTPClient,
                logger: Logger = Logger(label: "trove.s3")) {
        self.configuration = configuration
        self.httpClient = httpClient
        self.signer = SigV4Signer(credentials: configuration.credentials, region: configuration.region)
        self.logger = logger
    }

    /// The HTTP client that S3 clients send through unless given another: one for the
    /// process, never shut down (as `HTTPClient.shared`), on AsyncHTTPClient's shared event
    /// loops, with its default configuration but for two settings.
    ///
    /// - A connection that cannot be made fails the requests waiting for it at once, instead of
    ///   being tried again in the background until each request's deadline: the retry policy
    ///   decides what happens next, so a server that is down (connection refused) is reported
    ///   within the policy's backoffs, not after ``S3ClientConfiguration/requestTimeout`` for
    ///   every attempt. Connecting (or waiting for one of the 64 connections per host) may take up
    ///   to 30 seconds.
    /// - A response whose body stops arriving fails after 60 seconds without a byte (the
    ///   request timeout ends with the response's head; this bounds the body).
    public static let defaultHTTPClient: HTTPClient = {
        var configuration = HTTPClient.Configuration(timeout: HTTPClient.Configuration.Timeout(connect: .seconds(30), read: .seconds(60)))
        configuration.connectionPool.retryConnectionEstablishment = false
        // A request waits for a pooled connection within the connect timeout: parallel parts and
        // batches of many stores in one process need more than the default 8 per host.
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    // MARK: - Requests

    /// Whether a request may be sent again after a failure.
    enum Repetition {
        /// Repeating it cannot change the outcome (reads, unconditional writes of bytes in
        /// memory, deletes): repeated after any retryable failure.
        case idempotent
        /// Repeated only after an answer saying it was not applied (503, 429): a conditional
        /// write that may have succeeded before its connection broke must not be repeated.
        case onlyIfRejected
        /// Never repeated (a streamed body cannot be sent twice).
        case never
    }

    /// One S3 request, before it is signed.
    struct Call {
        var operation: String
        var method: HTTPMethod
        var bucket: String?
        var key: String?
        var query: [SigV4Request.Parameter] = []
        var headers: [SigV4Request.Parameter] = []
        var body: Data?
        /// A body sent as it is produced, instead of ``body``; such a call is never repeated.
        var stream: StreamedBody?
        var repetition: Repetition = .idempotent
        /// Statuses handed back to the caller instead of thrown (beyond 2xx).
        var passedStatuses: Set<UInt> = []
        /// Whether a 2xx answer may still carry an `<Error>` document (CopyObject, UploadPartCopy,
        /// CompleteMultipartUpload): its body (at most 1 MiB) is read and checked, and such an
        /// answer throws, and is repeated, as any error answer.
        var mayFailInBody = false
    }

    /// A request body of a known length, produced while it is sent: in `aws-chunked` encoding
    /// with signed chunks when the configuration signs payloads, else as it is under
    /// `UNSIGNED-PAYLOAD`.
    struct StreamedBody: Sendable {
        /// The bytes of the value (not of its encoding).
        var length: Int64
        /// The size of each signed chunk but the last.
        var chunkSize: Int
        /// The body to send, its chunks signed by the signer when there is one; the first error
        /// of the source goes into the box as well, so that it is thrown as it is.
        var makeBody: @Sendable (_ signer: SigV4ChunkSigner?, _ failure: FailureBox) -> HTTPClientRequest.Body
    }

    /// The first error a streamed body met, kept for the caller.
    final class FailureBox: Sendable {
        private let error = Mutex<(any Error)?>(nil)
        func record(_ failure: any Error) { error.withLock { if $0 == nil { $0 = failure } } }
        var recorded: (any Error)? { error.withLock { $0 } }
    }

    /// The host and decoded path of a request for `bucket` and `key` under the addressing.
    func location(bucket: String?, key: String?) -> (host: String, path: String) {
        let endpointHost = configuration.hostAndPort
        guard let bucket else { return (endpointHost, "/") }
        switch configuration.addressing {
        case .path:
            return (endpointHost, "/" + bucket + (key.map { "/" + $0 } ?? ""))
        case .virtualHost:
            return (bucket + "." + endpointHost, "/" + (key ?? ""))
        }
    }

    /// Sends `call`, repeating it under the retry policy, and returns the response whose status
    /// is 2xx or one of `call.passedStatuses`; its body is the caller's to read.
    ///
    /// - Throws: ``S3Error`` for an error answer or a failure to get one; `CancellationError`
    ///   when the task is cancelled.
    func send(_ call: Call) async throws -> HTTPClientResponse {
        let policy = configuration.retry
        let start = ContinuousClock.now
        var generator = SystemRandomNumberGenerator()
        var attempt = 1
        var staleConnections = 0
        while true {
            try Task.checkCancellation()
            do {
                return try await sendOnce(call)
            } catch let error as S3Error where Self.neverLeft(error) && staleConnections < 2
                        && call.stream == nil && call.repetition == .idempotent {
                // The pool handed out a connection that the server had closed (after its idle
                // timeout, or after bytes it should not have sent): the request never left, so it
                // goes out again on a new connection whatever the retry policy says.
                staleConnections += 1
            } catch let error as S3Error {
                let mayRepeat: Bool
                switch call.stream == nil ? call.repetition : .never {
                case .idempotent: mayRepeat = error.isRetryable
                case .onlyIfRejected: mayRepeat = error.kind == .throttled
                case .never: mayRepeat = false
                }
                // The server's hint, when it gave one, is the least wait.
                let delay = max(policy.delay(afterAttempt: attempt, using: &generator), error.retryAfter ?? .zero)
                guard mayRepeat, attempt < policy.maximumAttempts,
                      ContinuousClock.now + delay - start < policy.maximumTotal else { throw error }
                logger.debug("retrying an S3 request", metadata: [
                    "operation": "\(call.operation)", "bucket": "\(call.bucket ?? "")", "failed_attempt": "\(attempt)",
                    "wait": "\(delay)", "error": "\(error.kind)", "status": "\(error.status.map(String.init) ?? "none")",
                    "code": "\(error.code ?? "none")", "request_id": "\(error.requestID ?? "none")",
                ])
                attempt += 1
                try await Task.sleep(for: delay)
            }
        }
    }

    /// Whether `error` is a request that failed before any of it was written: its connection
    /// was closed when the request came to it.
    static func neverLeft(_ error: S3Error) -> Bool {
        error.kind == .connection && (error.underlying as? ChannelError) == .ioOnClosedChannel
    }

    private func sendOnce(_ call: Call) async throws -> HTTPClientResponse {
        let (host, path) = location(bucket: call.bucket, key: call.key)
        var headers = call.headers
        let payload: SigV4Payload
        if let stream = call.stream {
            if configuration.signsPayload {
                payload = .signedChunks
                headers.append(.init("Content-Encoding", "aws-chunked"))
                headers.append(.init("Content-Length", String(SigV4ChunkSigner.encodedLength(ofDecodedLength: stream.length,
                                                                                             chunkSize: stream.chunkSize))))
                headers.append(.init("x-amz-decoded-content-length", String(stream.length)))
            } else {
                payload = .unsigned
                headers.append(.init("Content-Length", String(stream.length)))
            }
        } else if let body = call.body, !body.isEmpty {
            payload = configuration.signsPayload ? .hash(of: body) : .unsigned
        } else {
            payload = configuration.signsPayload ? .empty : .unsigned
        }
        let sigV4Request = SigV4Request(method: call.method.rawValue, host: host, path: path, query: call.query, headers: headers)
        let signed: SigV4SignedRequest
        var chunkSigner: SigV4ChunkSigner?
        if payload == .signedChunks {
            (signed, chunkSigner) = signer.signChunked(sigV4Request)
        } else {
            signed = signer.sign(sigV4Request, payload: payload)
        }
        let authority = configuration.connectionAddress?.authority ?? host
        var request = HTTPClientRequest(url: configuration.scheme + "://" + authority + signed.pathAndQuery)
        request.method = call.method
        request.headers.add(name: "Host", value: host)
        // Content-Length comes from the body (the client sets it, equal to the signed one).
        for header in headers where header.name != "Content-Length" { request.headers.add(name: header.name, value: header.value) }
        for header in signed.addedHeaders { request.headers.add(name: header.name, value: header.value) }
        let failure = FailureBox()
        if let stream = call.stream {
            request.body = stream.makeBody(chunkSigner, failure)
        } else if let body = call.body {
            request.body = .bytes(ByteBuffer(bytes: body))
        } else if call.method == .PUT || call.method == .POST {
            request.headers.add(name: "Content-Length", value: "0")
        }
        let response: HTTPClientResponse
        do {
            // A streamed body takes as long as its source: the deadline grows by a second per MiB.
            let allowance = configuration.requestTimeout + .seconds((call.stream?.length ?? 0) >> 20)
            response = try await httpClient.execute(request, deadline: .now() + .nanoseconds(allowance.nanoseconds),
                                                logger: logger)
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as HTTPClientError where error == .cancelled {
            throw CancellationError()
        } catch {
            if let sourceError = failure.recorded { throw sourceError }
            throw S3Error(kind: S3Error.kind(ofFailure: error), operation: call.operation, bucket: call.bucket, key: call.key,
                          message: "no answer from \(configuration.scheme)://\(configuration.hostAndPort): \(ConnectionFailure.reason(error))",
                          underlying: error)
        }
        if let sourceError = failure.recorded {
            // The server answered before the body ended (with an error, as a rule): the body's
            // failure is what the caller needs to see.
            _ = try? await response.body.collect(upTo: 1 << 20)
            throw sourceError
        }
        let status = response.status.code
        // The server answers: the uploads it could not abort before may be aborted now.
        if !abandoned.isEmpty, status < 500 { abortAbandonedUploadsLater() }
        if (200..<300).contains(status) {
            guard call.mayFailInBody else { return response }
            let data = try await Self.collect(response, limit: 1 << 20, call: call)
            if let root = S3XMLElement.parse(data), root.name == "Error" {
                let code = root.text(of: "Code")
                // The status says nothing here: the kind comes from the code, a server error when unknown.
                throw S3Error(kind: S3Error.kind(status: 500, code: code), operation: call.operation, bucket: call.bucket,
                              key: call.key, status: Int(status), code: code,
                              message: root.text(of: "Message").flatMap { $0.isEmpty ? nil : $0 } ?? "the server answered \(status) with an error",
                              requestID: root.text(of: "RequestId") ?? response.headers.first(name: "x-amz-request-id"))
            }
            return HTTPClientResponse(version: response.version, status: response.status, headers: response.headers,
                                      body: .bytes(ByteBuffer(bytes: data)))
        }
        if call.passedStatuses.contains(status) { return response }
        throw await Self.error(from: response, call: call)
    }

    /// The ``S3Error`` that an error answer describes, its body read (at most 1 MiB).
    static func error(from response: HTTPClientResponse, call: Call) async -> S3Error {
        let status = Int(response.status.code)
        var code: String?
        var message = response.status.reasonPhrase
        var requestID = response.headers.first(name: "x-amz-request-id")
        if let body = try? await response.body.collect(upTo: 1 << 20), body.readableBytes > 0 {
            let data = Data(body.readableBytesView)
            if let root = S3XMLElement.parse(data), root.name == "Error" {
                code = root.text(of: "Code")
                if let text = root.text(of: "Message"), !text.isEmpty { message = text }
                requestID = root.text(of: "RequestId") ?? requestID
            } else {
                // A proxy's page, say: what it is tells more than the status alone.
                let type = response.headers.first(name: "Content-Type") ?? "a body without a content type"
                message += ": the answer is \(type), not S3's error XML (\(snippet(of: data)))"
            }
        }
        if code == nil {
            switch status {
            case 404: code = "NotFound"
            case 304: code = "NotModified"
            case 412: code = "PreconditionFailed"
            default: break
            }
        }
        var kind = S3Error.kind(status: status, code: code)
        if code == "NoSuchBucket", let bucket = call.bucket { message = "the bucket '\(bucket)' does not exist: \(message)" }
        if kind == .clockSkew { message = "this machine's clock is too far from the server's: \(message)" }
        if status == 503 && code == nil { kind = .throttled }
        let retryAfter = response.headers.first(name: "Retry-After").flatMap { S3Error.retryAfter(header: $0) }
        return S3Error(kind: kind, operation: call.operation, bucket: call.bucket, key: call.key, status: status,
                       code: code, message: message, requestID: requestID, retryAfter: retryAfter)
    }

    /// The whole body of `response`, at most `limit` bytes.
    static func collect(_ response: HTTPClientResponse, limit: Int, call: Call) async throws -> Data {
        do {
            let buffer = try await response.body.collect(upTo: limit)
            return Data(buffer.readableBytesView)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw S3Error(kind: S3Error.kind(ofFailure: error), operation: call.operation, bucket: call.bucket, key: call.key,
                          status: Int(response.status.code), message: "the body of the answer could not be read: \(error)",
                          underlying: error)
        }
    }

    /// The document `root` of a successful answer's body.
    ///
    /// - Throws: ``S3Error``: the server's error when the body is S3's error document (which S3
    ///   may send with a 200), ``S3Error/Kind/invalidResponse`` when it is not well-formed XML or
    ///   another document, its first bytes quoted.
    static func parseXML(_ data: Data, root: String, call: Call) throws -> S3XMLElement {
        guard let element = S3XMLElement.parse(data) else {
            throw S3Error(kind: .invalidResponse, operation: call.operation, bucket: call.bucket, key: call.key,
                          message: "the answer is not well-formed XML where a \(root) document belongs (\(snippet(of: data)))")
        }
        if element.name == "Error" {
            let code = element.text(of: "Code")
            throw S3Error(kind: S3Error.kind(status: 500, code: code), operation: call.operation, bucket: call.bucket, key: call.key,
                          code: code, message: (element.text(of: "Message") ?? "the server failed") + " (an error document in a successful answer)",
                          requestID: element.text(of: "RequestId"))
        }
        guard element.name == root else {
            throw S3Error(kind: .invalidResponse, operation: call.operation, bucket: call.bucket, key: call.key,
                          message: "the answer is a \(element.name) document where a \(root) document belongs")
        }
        return element
    }

    /// The size of `data` and its first 100 bytes as text, for an error's message.
    static func snippet(of data: Data) -> String {
        let head = String(decoding: data.prefix(100), as: UTF8.self)
            .replacingOccurrences(of: "\r", with: "").replacingOccurrences(of: "\n", with: " ")
        return "\(data.count) bytes: \u{201C}\(head)\(data.count > 100 ? "\u{2026}" : "")\u{201D}"
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
