import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import Trove
import TroveS3
import TroveS3Client
import TroveTestSupport

/// Streamed single PUTs on SeaweedFS: `aws-chunked` bodies with signed chunks (SeaweedFS checks
/// each chunk's signature: a forged signature or a changed byte is refused, and nothing is
/// stored), a source of the wrong length, and conditional streamed writes through the store.
@Suite("S3 streamed PUTs", .enabled(if: TestServer.s3.isAvailable, TestServer.s3.absence), .freshBucket)
struct S3StreamingUploadTests {
    let client: S3Client
    let bucket: String
    let prefix = UUID().uuidString.lowercased() + "/"

    init() throws {
        client = try S3TestServer.client()
        bucket = try S3TestBucket.name()
    }

    func body(_ key: String) async throws -> Data? {
        guard case .found(_, _, let body)? = try await client.getObject(bucket: bucket, key: key) else { return nil }
        return body
    }

    @Test func aStreamedValueInSignedChunksReadsBackWhole() async throws {
        #expect(client.configuration.signsPayload, "over http the client signs payloads, so the body goes aws-chunked")
        let value = S3CopyTests.pattern(1 << 20 + 777)
        let chunks = ValueChunks(chunksOf: value, chunkSize: 10_000)
        let result = try await client.putObject(bucket: bucket, key: prefix + "streamed ሴ", chunks: chunks, length: Int64(value.count),
                                                metadata: ["source": "stream"], chunkSize: 64 << 10)
        #expect(try await body(prefix + "streamed ሴ") == value)
        let head = try #require(try await client.headObject(bucket: bucket, key: prefix + "streamed ሴ"))
        #expect(head.size == Int64(value.count))
        #expect(head.etag == result.etag)
        #expect(head.metadata["source"] == "stream")
        // An empty value: only the final chunk.
        _ = try await client.putObject(bucket: bucket, key: prefix + "empty", chunks: ValueChunks(chunksOf: Data(), chunkSize: 1), length: 0)
        #expect(try await body(prefix + "empty") == Data())
    }

    @Test func aStreamedValueWithoutPayloadSigningGoesAsItIs() async throws {
        var configuration = try S3TestServer.configuration()
        configuration.signsPayload = false
        let unsigned = S3Client(configuration: configuration)
        let value = S3CopyTests.pattern(300_000)
        _ = try await unsigned.putObject(bucket: bucket, key: prefix + "unsigned", chunks: ValueChunks(chunksOf: value, chunkSize: 70_000),
                                         length: Int64(value.count))
        #expect(try await body(prefix + "unsigned") == value)
    }

    @Test(arguments: [99_999, 100_001])
    func aSourceOfTheWrongLengthStoresNothing(_ actual: Int) async throws {
        let key = prefix + "wrong length \(actual)"
        _ = try await client.putObject(bucket: bucket, key: key, body: Data("before".utf8))
        let error = await #expect(throws: S3Error.self) {
            _ = try await client.putObject(bucket: bucket, key: key, chunks: ValueChunks(chunksOf: Data(count: actual), chunkSize: 8192),
                                           length: 100_000, chunkSize: 16 << 10)
        }
        #expect(error?.kind == .invalidRequest)
        #expect(try await body(key) == Data("before".utf8))
    }

    /// One chunked PUT sent by hand, its body framed by the same signer as the client's, with
    /// `tamper` applied to the encoded body.
    func sendChunked(_ key: String, value: Data, chunkSize: Int, tamper: (inout Data) -> Void) async throws -> HTTPClientResponse {
        let configuration = client.configuration
        let host = configuration.endpoint.host! + ":" + String(configuration.endpoint.port!)
        let path = "/" + bucket + "/" + key
        let encodedLength = SigV4ChunkSigner.encodedLength(ofDecodedLength: Int64(value.count), chunkSize: chunkSize)
        let request = SigV4Request(method: "PUT", host: host, path: path, headers: [
            .init("Content-Encoding", "aws-chunked"),
            .init("Content-Length", String(encodedLength)),
            .init("x-amz-decoded-content-length", String(value.count)),
        ])
        var (signed, signer) = client.signer.signChunked(request)
        var encoded = Data()
        var offset = 0
        while offset < value.count {
            let piece = value[offset..<min(offset + chunkSize, value.count)]
            encoded.append(signer.frame(piece))
            offset += piece.count
        }
        encoded.append(signer.finalFrame())
        #expect(Int64(encoded.count) == encodedLength)
        tamper(&encoded)
        var http = HTTPClientRequest(url: configuration.endpoint.absoluteString + signed.pathAndQuery)
        http.method = .PUT
        http.headers.add(name: "Content-Encoding", value: "aws-chunked")
        http.headers.add(name: "x-amz-decoded-content-length", value: String(value.count))
        for header in signed.addedHeaders { http.headers.add(name: header.name, value: header.value) }
        http.body = .bytes(ByteBuffer(bytes: encoded))
        return try await HTTPClient.shared.execute(http, timeout: .seconds(60))
    }

    @Test func theServerChecksEveryChunkSignature() async throws {
        let value = S3CopyTests.pattern(3 * 65_536 + 1000)
        // Untouched, the hand-made request is accepted: what follows fails because of the tampering only.
        let intact = try await sendChunked(prefix + "intact", value: value, chunkSize: 65_536) { _ in }
        #expect(intact.status == .ok)
        #expect(try await body(prefix + "intact") == value)

        // The second chunk's signature changed (its last hex digit), the bytes intact.
        let secondHeader = 5 + 17 + 64 + 2 + 65_536 + 2
        let signatureEnd = secondHeader + 5 + 17 + 63
        let forged = try await sendChunked(prefix + "forged", value: value, chunkSize: 65_536) { body in
            body[signatureEnd] = body[signatureEnd] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        }
        _ = try? await forged.body.collect(upTo: 1 << 20)
        // AWS answers 403 SignatureDoesNotMatch; SeaweedFS 4.48 answers 500 InternalError (its log
        // says "chunk signature does not match"). Either way the PUT is refused and stores nothing.
        #expect(!(200..<300).contains(forged.status.code), "a forged chunk signature was accepted: \(forged.status)")
        #expect(try await client.headObject(bucket: bucket, key: prefix + "forged") == nil)

        // A byte of the third chunk changed, its signature intact.
        let tamperedByte = 2 * (5 + 17 + 64 + 2 + 65_536 + 2) + 5 + 17 + 64 + 2 + 100
        let tampered = try await sendChunked(prefix + "tampered", value: value, chunkSize: 65_536) { body in
            body[tamperedByte] ^= 0xFF
        }
        _ = try? await tampered.body.collect(upTo: 1 << 20)
        #expect(!(200..<300).contains(tampered.status.code), "a changed chunk was accepted: \(tampered.status)")
        #expect(try await client.headObject(bucket: bucket, key: prefix + "tampered") == nil)
    }

    @Test func aConditionalStreamedWriteOfADeclaredSizeStreams() async throws {
        let store = S3Store(bucket: bucket, prefix: prefix + "store/", client: client)
        let value = S3CopyTests.pattern(3 << 20 + 5)
        let chunks = ValueChunks(chunksOf: value, chunkSize: 100_000)
        let written = try await store.write(contentsOf: chunks, for: "once",
                                            options: WriteOptions(condition: .ifAbsent, expectedSize: Int64(value.count)))
        #expect(written.size == Int64(value.count))
        #expect(try await store.read("once")?.value == value)
        let again = await #expect(throws: StoreError.self) {
            _ = try await store.write(contentsOf: ValueChunks(chunksOf: Data("other".utf8), chunkSize: 2), for: "once",
                                      options: WriteOptions(condition: .ifAbsent, expectedSize: 5))
        }
        #expect(again?.code == .conditionFailed)
        // If-Match with the current ETag replaces it; a wrong declared size writes nothing.
        let replaced = try await store.write(contentsOf: ValueChunks(chunksOf: Data("second".utf8), chunkSize: 2), for: "once",
                                             options: WriteOptions(condition: .ifMatches(written.etag), expectedSize: 6))
        #expect(try await store.read("once")?.value == Data("second".utf8))
        let short = await #expect(throws: StoreError.self) {
            _ = try await store.write(contentsOf: ValueChunks(chunksOf: Data("third".utf8), chunkSize: 2), for: "once",
                                      options: WriteOptions(condition: .ifMatches(replaced.etag), expectedSize: 50))
        }
        #expect(short?.code == .invalidArgument)
        #expect(try await store.read("once")?.value == Data("second".utf8))
    }
}
