import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Testing
import TroveTestSupport
import Trove
@testable import TroveS3
@testable import TroveS3Client

/// S3's error answers mapped to S3Error and StoreError, and the retry policy: only retryable
/// failures, only requests safe to repeat, with a bounded full-jitter backoff. Against canned
/// answers and a fake endpoint on 127.0.0.1 (no S3 server).
@Suite struct S3RetryAndErrorTests {
    static func answer(_ status: UInt, _ xml: String, headers: HTTPHeaders = [:]) -> HTTPClientResponse {
        HTTPClientResponse(status: HTTPResponseStatus(statusCode: Int(status)), headers: headers,
                           body: .bytes(ByteBuffer(string: xml)))
    }

    static func xml(_ code: String, _ message: String) -> String {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>\(code)</Code><Message>\(message)</Message><RequestId>R1D</RequestId></Error>"
    }

    let call = S3Client.Call(operation: "GetObject", method: .GET, bucket: "b", key: "k")

    @Test func errorAnswersBecomeTypedErrors() async throws {
        let missing = await S3Client.error(from: Self.answer(404, Self.xml("NoSuchKey", "The specified key does not exist.")), call: call)
        #expect(missing.kind == .notFound && missing.code == "NoSuchKey" && missing.requestID == "R1D" && !missing.isRetryable)
        #expect(missing.message == "The specified key does not exist.")
        let signature = await S3Client.error(from: Self.answer(403, Self.xml("SignatureDoesNotMatch", "no")), call: call)
        #expect(signature.kind == .invalidCredentials && !signature.isRetryable)
        let slow = await S3Client.error(from: Self.answer(503, Self.xml("SlowDown", "Reduce your request rate.")), call: call)
        #expect(slow.kind == .throttled && slow.isRetryable)
        let skew = await S3Client.error(from: Self.answer(403, Self.xml("RequestTimeTooSkewed", "The difference is too large.")), call: call)
        #expect(skew.kind == .clockSkew && skew.message.contains("clock"))
        let bare = await S3Client.error(from: Self.answer(500, ""), call: call)
        #expect(bare.kind == .serverError && bare.isRetryable && bare.code == nil)
        let bucket = await S3Client.error(from: Self.answer(404, Self.xml("NoSuchBucket", "The specified bucket does not exist")), call: call)
        #expect(bucket.message.contains("'b'"))
        let garbage = await S3Client.error(from: Self.answer(400, "<not xml"), call: call)
        #expect(garbage.kind == .invalidRequest && garbage.status == 400)
    }

    @Test func storeErrorsSayWhatAndWhere() throws {
        let client = S3Client(configuration: try S3ClientConfiguration(
            endpoint: URL(string: "http://127.0.0.1:1")!, credentials: S3Credentials(accessKeyID: "AKID", secretAccessKey: "hidden-secret")))
        let store = S3Store(bucket: "photos", client: client)
        let denied = store.storeError(S3Error(kind: .invalidCredentials, operation: "GetObject", bucket: "photos", key: "k",
                                              status: 403, code: "InvalidAccessKeyId", message: "no such key id"), .read, key: "k")
        #expect(denied.code == .permissionDenied)
        #expect(denied.message.contains("AKID") && !String(describing: denied).contains("hidden-secret"))
        let condition = store.storeError(S3Error(kind: .preconditionFailed, operation: "PutObject", message: "no"), .write, key: "k")
        #expect(condition.code == .conditionFailed)
        let slow = store.storeError(S3Error(kind: .throttled, operation: "PutObject", message: "slow"), .write, key: "k")
        #expect(slow.code == .unavailable && slow.isRetryable)
        let late = store.storeError(S3Error(kind: .timedOut, operation: "GetObject", message: "no answer within 2 s"), .read, key: "k")
        #expect(late.code == .timedOut && late.isRetryable)
        #expect(S3Error.kind(ofFailure: HTTPClientError.deadlineExceeded) == .timedOut)
        #expect(S3Error.kind(ofFailure: HTTPClientError.readTimeout) == .timedOut)
        #expect(S3Error.kind(ofFailure: HTTPClientError.remoteConnectionClosed) == .connection)
        let missing = store.storeError(S3Error(kind: .notFound, operation: "ListObjectsV2", bucket: "photos", code: "NoSuchBucket", message: "gone"),
                                       .list, key: nil)
        #expect(missing.message.contains("'photos'"))
    }

    @Test func backoffIsFullJitterUnderADoublingCap() {
        let policy = S3RetryPolicy(maximumAttempts: 10, baseDelay: .milliseconds(100), maximumDelay: .milliseconds(800))
        var random = SplitMix64(seed: 7)
        for attempt in 1...8 {
            let cap = min(800, 100 << (attempt - 1))
            let delays = (0..<200).map { _ in policy.delay(afterAttempt: attempt, using: &random) }
            #expect(delays.allSatisfy { $0 >= .zero && $0 <= .milliseconds(cap) }, "attempt \(attempt)")
            #expect(delays.contains { $0 < .milliseconds(cap / 4) } && delays.contains { $0 > .milliseconds(cap * 3 / 4) }, "attempt \(attempt)")
        }
    }

    /// A fake endpoint answering `statuses` in turn; `body` gets a client with short backoffs.
    func withFakeEndpoint(_ statuses: [Int], attempts: Int = 4, _ body: (S3Client) async throws -> Void) async throws -> Int {
        try await withFakeEndpoint(answers: statuses.map(String.init), attempts: attempts, body)
    }

    /// A fake endpoint giving `answers` in turn: statuses, or `200-error` and `200-copy`.
    func withFakeEndpoint(answers: [String], attempts: Int = 4, _ body: (S3Client) async throws -> Void) async throws -> Int {
        try await withFakeS3Endpoint(answers) { endpoint in
            // The total-time bound set far off: on a loaded machine the fake endpoint's answers
            // can take seconds, and these tests count attempts.
            try await body(try endpoint.client(retry: S3RetryPolicy(maximumAttempts: attempts, baseDelay: .milliseconds(5),
                                                                    maximumDelay: .milliseconds(20), maximumTotal: .seconds(600))))
            return try await endpoint.requestCount()
        }
    }

    @Test func aReadIsRepeatedAfterServerErrorsAndThrottling() async throws {
        let requests = try await withFakeEndpoint([503, 500, 200]) { client in
            let outcome = try await client.getObject(bucket: "b", key: "k")
            guard case .found(_, _, let body)? = outcome else { Issue.record("no object: \(String(describing: outcome))"); return }
            #expect(body == Data("fake value".utf8))
        }
        #expect(requests == 3)
    }

    @Test func retriesStopAtTheAttemptBound() async throws {
        let requests = try await withFakeEndpoint([503], attempts: 3) { client in
            let error = await #expect(throws: S3Error.self) { _ = try await client.getObject(bucket: "b", key: "k") }
            #expect(error?.kind == .throttled)
        }
        #expect(requests == 3)
    }

    @Test func retryAfterHeadersAreReadAsSecondsOrDates() async throws {
        let now = Date(timeIntervalSince1970: 1_796_000_000)
        #expect(S3Error.retryAfter(header: "2", now: now) == .seconds(2))
        #expect(S3Error.retryAfter(header: " 0 ", now: now) == .zero)
        #expect(S3Error.retryAfter(header: "999999", now: now) == .seconds(3600), "capped at an hour")
        let format = DateFormatter()
        format.locale = Locale(identifier: "en_US_POSIX")
        format.timeZone = TimeZone(identifier: "GMT")
        format.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        #expect(S3Error.retryAfter(header: format.string(from: now.addingTimeInterval(90)), now: now) == .seconds(90))
        #expect(S3Error.retryAfter(header: format.string(from: now.addingTimeInterval(-90)), now: now) == .zero, "a date passed")
        for garbage in ["-1", "soon", "", "1.5", "Mon, 99 Foo 2026"] {
            #expect(S3Error.retryAfter(header: garbage, now: now) == nil, "\(garbage)")
        }
        let slow = await S3Client.error(from: Self.answer(503, Self.xml("SlowDown", "Reduce your request rate."),
                                                          headers: ["Retry-After": "3"]), call: call)
        #expect(slow.kind == .throttled && slow.retryAfter == .seconds(3))
        let plain = await S3Client.error(from: Self.answer(503, Self.xml("SlowDown", "Reduce your request rate.")), call: call)
        #expect(plain.retryAfter == nil)
    }

    /// The server's Retry-After is the least wait before the next attempt, however short the
    /// policy's own backoffs (5 to 20 ms here).
    @Test func aRetryWaitsAtLeastAsLongAsTheServerAsked() async throws {
        let clock = ContinuousClock()
        var waited = Duration.zero
        let requests = try await withFakeEndpoint(answers: ["503+retry-after:1", "200"]) { client in
            let started = clock.now
            _ = try await client.getObject(bucket: "b", key: "k")
            waited = clock.now - started
        }
        #expect(requests == 2)
        #expect(waited >= .seconds(1), "\(waited)")
    }

    /// Each retry is logged at debug level with what failed and how long the client waits,
    /// without the key.
    @Test func retriesAreLoggedWithoutKeys() async throws {
        let handler = CapturingLogHandler()
        try await withFakeS3Endpoint(["503", "200"]) { endpoint in
            let client = try endpoint.client(retry: S3RetryPolicy(maximumAttempts: 3, baseDelay: .milliseconds(5),
                                                                  maximumDelay: .milliseconds(20), maximumTotal: .seconds(600)),
                                             logger: handler.logger(level: .debug))
            _ = try await client.getObject(bucket: "b", key: "private-key-name")
        }
        let retries = handler.records.filter { $0.message == "retrying an S3 request" }
        #expect(retries.count == 1)
        let retry = try #require(retries.first)
        #expect(retry.level == .debug)
        #expect(retry.metadata["operation"] == "GetObject" && retry.metadata["failed_attempt"] == "1")
        #expect(retry.metadata["status"] == "503" && retry.metadata["code"] == "SlowDown" && retry.metadata["bucket"] == "b")
        #expect(!handler.records.contains { "\($0.message) \($0.metadata)".contains("private-key-name") })
    }

    /// With the client's own retries off, the hint reaches the store's error, where a
    /// RetryingStore honours it.
    @Test func theHintReachesTheStoreError() async throws {
        try await withFakeS3Endpoint(["503+retry-after:2"]) { endpoint in
            let store = S3Store(bucket: "b", client: try endpoint.client())
            let error = try await expectStoreError(.unavailable) { try await store.read("k") }
            #expect(error.isRetryable && error.retryAfter == .seconds(2), "\(String(describing: error))")
        }
    }

    @Test func aConditionalWriteIsNotRepeatedAfterAServerError() async throws {
        let requests = try await withFakeEndpoint([500, 200]) { client in
            let error = await #expect(throws: S3Error.self) {
                _ = try await client.putObject(bucket: "b", key: "k", body: Data("v".utf8), ifNoneMatch: "*")
            }
            #expect(error?.kind == .serverError)
        }
        #expect(requests == 1, "a 500 may have applied the write: repeating If-None-Match: * could fail a write that succeeded")
    }

    @Test func aConditionalWriteIsRepeatedAfterThrottling() async throws {
        let requests = try await withFakeEndpoint([503, 200]) { client in
            _ = try await client.putObject(bucket: "b", key: "k", body: Data("v".utf8), ifNoneMatch: "*")
        }
        #expect(requests == 2)
    }

    @Test func aFailedConditionAndAClientErrorAreNotRepeated() async throws {
        let requests = try await withFakeEndpoint([412, 200]) { client in
            let error = await #expect(throws: S3Error.self) {
                _ = try await client.putObject(bucket: "b", key: "k", body: Data("v".utf8), ifMatch: "\"x\"")
            }
            #expect(error?.kind == .preconditionFailed)
        }
        #expect(requests == 1)
        let denied = try await withFakeEndpoint([403, 200]) { client in
            await #expect(throws: S3Error.self) { _ = try await client.headObject(bucket: "b", key: "k") }
        }
        #expect(denied == 1)
    }

    @Test func aCopyThatFailsInsideA200AnswerIsRepeatedAsAnError() async throws {
        // HEAD of the source, then a copy answered 200 with an error, then a good copy.
        let requests = try await withFakeEndpoint(answers: ["200", "200-error", "200-copy"]) { client in
            let result = try await client.copyObject(fromBucket: "b", key: "source", toBucket: "b", key: "target")
            #expect(result.etag == "\"copied\"")
        }
        #expect(requests == 3)
        let failing = try await withFakeEndpoint(answers: ["200", "200-error"], attempts: 2) { client in
            let error = await #expect(throws: S3Error.self) {
                _ = try await client.copyObject(fromBucket: "b", key: "source", toBucket: "b", key: "target")
            }
            #expect(error?.status == 200 && error?.code == "InternalError" && error?.kind == .serverError)
            #expect(error?.operation == "CopyObject" && error?.requestID == "fake-200")
        }
        #expect(failing == 3, "the HEAD and two attempts of the copy")
    }
}
