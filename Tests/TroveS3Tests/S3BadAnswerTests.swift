import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import Testing
import Trove
import TroveS3
import TroveS3Client
import TroveTestSupport

/// The fake S3 endpoint of Fixtures/fake-server/answers.py on 127.0.0.1, answering the given
/// answers (statuses or names of bad answers) in turn, stopped when `body` ends.
func withFakeS3Endpoint<T>(_ answers: [String], _ body: (FakeS3Endpoint) async throws -> T) async throws -> T {
    let endpoint = try FakeS3Endpoint(answers)
    defer { endpoint.stop() }
    return try await body(endpoint)
}

/// A running fake endpoint (see ``withFakeS3Endpoint(_:_:)``).
final class FakeS3Endpoint: Sendable {
    let port: Int
    private let process: SpawnedProcess
    /// The write end of the endpoint's standard input: closing it ends the endpoint.
    private let input: FileHandle

    init(_ answers: [String]) throws {
        let script = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/fake-server/answers.py").path
        process = SpawnedProcess()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script] + answers
        let inputPipe = Pipe()
        let output = Pipe()
        process.standardInput = inputPipe
        process.standardOutput = output
        try process.run()
        input = inputPipe.fileHandleForWriting
        var portText = ""
        while !portText.hasSuffix("\n") {
            let byte = output.fileHandleForReading.readData(ofLength: 1)
            guard !byte.isEmpty else { break }
            portText += String(decoding: byte, as: UTF8.self)
        }
        guard let port = Int(portText.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            try? input.close()
            process.waitUntilExit()
            throw TestFailure("the fake S3 endpoint did not print its port (it printed \"\(portText)\")")
        }
        self.port = port
    }

    /// A client of the endpoint (fake credentials).
    func client(retry: S3RetryPolicy = .none, requestTimeout: Duration = .seconds(60),
                httpClient: HTTPClient = S3Client.defaultHTTPClient, logger: Logger = Logger(label: "trove.s3")) throws -> S3Client {
        S3Client(configuration: try S3ClientConfiguration(
            endpoint: URL(string: "http://127.0.0.1:\(port)")!, credentials: S3Credentials(accessKeyID: "AKID", secretAccessKey: "secret"),
            retry: retry, requestTimeout: requestTimeout), httpClient: httpClient, logger: logger)
    }

    /// How many requests the endpoint has answered (or begun to).
    func requestCount() async throws -> Int {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/_count"), timeout: .seconds(10))
        return Int(String(buffer: try await response.body.collect(upTo: 100)))!
    }

    /// Closes the endpoint's standard input, which ends it, and waits for it.
    func stop() {
        try? input.close()
        process.waitUntilExit()
    }
}

/// Garbage from a server: malformed or foreign bodies, bodies cut short or too long, an error
/// document in a 200, a proxy's HTML page, answers that never come. Each gives a typed
/// StoreError that says what came back, within a deadline, and the connection pool is not
/// poisoned by it. Against the fake endpoint (no S3 server sends these on purpose).
@Suite struct S3BadAnswerTests {
    static let deadline = Duration.seconds(30)

    func store(_ endpoint: FakeS3Endpoint, retry: S3RetryPolicy = .none, requestTimeout: Duration = .seconds(60),
               httpClient: HTTPClient = S3Client.defaultHTTPClient) throws -> S3Store {
        S3Store(bucket: "bucket", client: try endpoint.client(retry: retry, requestTimeout: requestTimeout, httpClient: httpClient),
                options: S3Store.Options(listingOrder: .server))
    }

    /// Expects `body` to throw a StoreError with one of `codes` within the deadline.
    @discardableResult
    func expectFailure(_ codes: StoreError.Code..., sourceLocation: SourceLocation = #_sourceLocation,
                       _ body: @escaping @Sendable () async throws -> Void) async throws -> StoreError {
        var thrown: (any Error)?
        do {
            try await withinDeadline(Self.deadline, "a call answered with garbage") { try await body() }
        } catch {
            thrown = error
        }
        let error = try #require(thrown as? StoreError, "expected a StoreError (\(codes)), got \(thrown.map { "\($0)" } ?? "no error")",
                                 sourceLocation: sourceLocation)
        #expect(codes.contains(error.code), "\(error)", sourceLocation: sourceLocation)
        return error
    }

    @Test func aMalformedListingIsAnIOErrorQuotingTheAnswer() async throws {
        try await withFakeS3Endpoint(["malformed-xml"]) { endpoint in
            let store = try store(endpoint)
            let error = try await expectFailure(.io) { _ = try await store.listPage(.all, after: nil, limit: 10) }
            let text = String(describing: error)
            #expect(text.contains("ListObjectsV2") && text.contains("not well-formed XML") && text.contains("ListBucketResult"), "\(text)")
            #expect(text.contains("<Contents><Key>a</Ke"), "the message quotes what came: \(text)")
            #expect(try await endpoint.requestCount() == 1)
        }
    }

    @Test func plainTextWhereXMLBelongsIsAnIOError() async throws {
        try await withFakeS3Endpoint(["not-xml"]) { endpoint in
            let error = try await expectFailure(.io) { _ = try await store(endpoint).listPage(.all, after: nil, limit: 10) }
            #expect(String(describing: error).contains("this is not XML at all"), "\(error)")
        }
    }

    @Test func anErrorDocumentInA200IsTheServersError() async throws {
        try await withFakeS3Endpoint(["error-in-200"]) { endpoint in
            let error = try await expectFailure(.unavailable) { _ = try await store(endpoint).listPage(.all, after: nil, limit: 10) }
            let text = String(describing: error)
            #expect(text.contains("InternalError") && text.contains("We encountered an internal error"), "\(text)")
            #expect(error.isRetryable == true)
            let s3 = try #require(error.underlying as? S3Error)
            #expect(s3.code == "InternalError" && s3.requestID == "fake-error-200")
        }
    }

    @Test func anErrorDocumentInA200CompletingAnUploadFailsTheWriteAndAbortsIt() async throws {
        // Start, two parts (8 MiB and 1 MiB), completion answered 200 with an error, abort.
        try await withFakeS3Endpoint(["initiate", "part", "part", "error-in-200", "no-content"]) { endpoint in
            let store = try store(endpoint)
            let error = try await expectFailure(.unavailable) {
                _ = try await store.write(contentsOf: PatternChunks(count: 9), for: "k", options: .default)
            }
            let text = String(describing: error)
            #expect(text.contains("CompleteMultipartUpload") && text.contains("InternalError"), "\(text)")
            #expect(error.key == "k")
            // The abort is the fifth request; a check that the upload is gone may follow it.
            #expect(try await endpoint.requestCount() >= 5, "the upload was not aborted")
        }
    }

    @Test func aProxysHTMLPageSaysWhatItIs() async throws {
        let quick = S3RetryPolicy(maximumAttempts: 3, baseDelay: .milliseconds(5), maximumDelay: .milliseconds(20), maximumTotal: .seconds(600))
        try await withFakeS3Endpoint(["html-502"]) { endpoint in
            let error = try await expectFailure(.unavailable) { _ = try await store(endpoint, retry: quick).read("k") }
            let text = String(describing: error)
            #expect(text.contains("502") && text.contains("Bad Gateway") && text.contains("text/html"), "\(text)")
            #expect(text.contains("not S3's error XML") && text.contains("<title>502 Bad Gateway</title>"), "\(text)")
            #expect(error.isRetryable == true)
            #expect(try await endpoint.requestCount() == 3, "a 502 is a server error: repeated up to the attempt bound")
        }
    }

    @Test func anObjectAnswerWithoutAnETagIsAnIOError() async throws {
        try await withFakeS3Endpoint(["no-etag"]) { endpoint in
            let error = try await expectFailure(.io) { _ = try await store(endpoint).read("k") }
            #expect(String(describing: error).contains("no ETag"), "\(error)")
        }
    }

    @Test func aBodyCutShortOfItsContentLengthFailsTheRead() async throws {
        try await withFakeS3Endpoint(["truncated"]) { endpoint in
            let store = try store(endpoint)
            let whole = try await expectFailure(.unavailable) { _ = try await store.read("k") }
            #expect(String(describing: whole).contains("could not be read"), "\(whole)")
            let streamed = try await expectFailure(.unavailable) {
                let entry = try #require(try await store.readStream("k", chunkSize: 64))
                #expect(entry.metadata.size == 1000)
                for try await _ in entry.chunks {}
            }
            #expect(String(describing: streamed).contains("broke off"), "\(streamed)")
            #expect(streamed.key == "k")
            let listing = try await expectFailure(.unavailable) { _ = try await store.listPage(.all, after: nil, limit: 10) }
            #expect(String(describing: listing).contains("ListObjectsV2"), "\(listing)")
        }
    }

    @Test func aBodyThatStallsEndsAtTheReadTimeout() async throws {
        let httpClient = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup,
                                    configuration: HTTPClient.Configuration(timeout: .init(connect: .seconds(2), read: .seconds(2))))
        do {
            try await withFakeS3Endpoint(["stalled-body"]) { endpoint in
                let store = try store(endpoint, httpClient: httpClient)
                let error = try await expectFailure(.timedOut) { _ = try await store.read("k") }
                #expect(String(describing: error).contains("could not be read"), "\(error)")
                #expect(error.isRetryable == true)
            }
        } catch {
            try await httpClient.shutdown()
            throw error
        }
        try await httpClient.shutdown()
    }

    @Test func anAnswerThatNeverComesEndsAtTheRequestTimeout() async throws {
        try await withFakeS3Endpoint(["stalled-head"]) { endpoint in
            let store = try store(endpoint, requestTimeout: .seconds(2))
            let error = try await expectFailure(.timedOut) { _ = try await store.read("k") }
            let text = String(describing: error)
            #expect(text.contains("no answer from http://127.0.0.1:\(endpoint.port)"), "\(text)")
            #expect(error.isRetryable == true)
        }
    }

    @Test func bytesBeyondTheContentLengthAreNotTakenForTheNextAnswer() async throws {
        try await withFakeS3Endpoint(["overlong-body", "200"]) { endpoint in
            let store = try store(endpoint)
            let first = try #require(try await store.read("k"))
            #expect(first.value == Data("fake value".utf8))
            let second = try #require(try await store.read("k"))
            #expect(second.value == Data("fake value".utf8), "the bytes after the first answer were read as the second")
            #expect(second.metadata.etag.rawValue == "\"fake\"")
            #expect(try await endpoint.requestCount() == 2)
        }
    }
}
