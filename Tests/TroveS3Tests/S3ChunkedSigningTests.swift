import Foundation
import NIOCore
import Testing
@testable import TroveS3Client

/// `aws-chunked` bodies (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) against the worked example of S3's
/// documentation, "Signature Calculations for the Authorization Header: Transferring Payload in
/// Multiple Chunks": a PUT of 66,560 bytes of `a` to examplebucket/chunkObject.txt on 24 May
/// 2013, in chunks of 64 KiB (one of 65,536 bytes, one of 1,024, the final empty one).
@Suite struct S3ChunkedSigningTests {
    let signer = SigV4Signer(credentials: S3Credentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE",
                                                        secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
                             region: "us-east-1")
    let date = Date(timeIntervalSince1970: 1_369_353_600)  // 2013-05-24T00:00:00Z

    /// The example's request, with the headers the example signs.
    var request: SigV4Request {
        SigV4Request(method: "PUT", host: "s3.amazonaws.com", path: "/examplebucket/chunkObject.txt", headers: [
            .init("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            .init("Content-Encoding", "aws-chunked"),
            .init("Content-Length", "66824"),
            .init("x-amz-decoded-content-length", "66560"),
        ])
    }

    static let chunkSignatures = [
        "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
        "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
        "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
    ]

    @Test func theSeedSignatureIsTheDocumentedOne() {
        let (signed, chunks) = signer.signChunked(request, date: date)
        #expect(signed.canonicalRequest == """
            PUT
            /examplebucket/chunkObject.txt

            content-encoding:aws-chunked
            content-length:66824
            host:s3.amazonaws.com
            x-amz-content-sha256:STREAMING-AWS4-HMAC-SHA256-PAYLOAD
            x-amz-date:20130524T000000Z
            x-amz-decoded-content-length:66560
            x-amz-storage-class:REDUCED_REDUNDANCY

            content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class
            STREAMING-AWS4-HMAC-SHA256-PAYLOAD
            """)
        #expect(signed.signature == "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9")
        #expect(chunks.previousSignature == signed.signature)
        let authorization = signed.addedHeaders.first { $0.name == "Authorization" }?.value
        #expect(authorization == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            + "SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;"
            + "x-amz-storage-class, Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9")
        #expect(signed.addedHeaders.contains(.init("X-Amz-Content-SHA256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")))
    }

    @Test func eachChunkSignatureIsTheDocumentedOne() {
        var (_, chunks) = signer.signChunked(request, date: date)
        let first = Data(repeating: UInt8(ascii: "a"), count: 65_536)
        #expect(chunks.stringToSign(ofChunk: first) == """
            AWS4-HMAC-SHA256-PAYLOAD
            20130524T000000Z
            20130524/us-east-1/s3/aws4_request
            4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            bf718b6f653bebc184e1479f1935b8da974d701b893afcf49e701f3e2f9f9c5a
            """)
        #expect(chunks.sign(chunk: first) == Self.chunkSignatures[0])
        #expect(chunks.sign(chunk: Data(repeating: UInt8(ascii: "a"), count: 1024)) == Self.chunkSignatures[1])
        #expect(chunks.sign(chunk: Data()) == Self.chunkSignatures[2])
    }

    /// The documented body, byte for byte.
    static var documentedBody: Data {
        var body = Data("10000;chunk-signature=\(chunkSignatures[0])\r\n".utf8)
        body.append(Data(repeating: UInt8(ascii: "a"), count: 65_536))
        body.append(Data("\r\n400;chunk-signature=\(chunkSignatures[1])\r\n".utf8))
        body.append(Data(repeating: UInt8(ascii: "a"), count: 1024))
        body.append(Data("\r\n0;chunk-signature=\(chunkSignatures[2])\r\n\r\n".utf8))
        return body
    }

    @Test func theEncodedLengthIsTheDocumentedContentLength() {
        #expect(SigV4ChunkSigner.encodedLength(ofDecodedLength: 66_560, chunkSize: 65_536) == 66_824)
        #expect(Int64(Self.documentedBody.count) == 66_824)
        // No bytes: only the final chunk.
        #expect(SigV4ChunkSigner.encodedLength(ofDecodedLength: 0, chunkSize: 65_536) == 86)
        // An exact multiple of the chunk size: no short chunk.
        #expect(SigV4ChunkSigner.encodedLength(ofDecodedLength: 131_072, chunkSize: 65_536) == 2 * (5 + 17 + 64 + 4 + 65_536) + 86)
    }

    /// The body the client streams is the documented one, whether the source's pieces are
    /// smaller than a chunk and do not line up with it, exactly one chunk, or the whole value.
    @Test(arguments: [7000, 65_536, 66_560, 1])
    func theStreamedBodyIsTheDocumentedOne(_ piece: Int) async throws {
        let (_, chunks) = signer.signChunked(request, date: date)
        var body = Data()
        for try await buffer in StreamedUploadBody(source: Pieces(total: 66_560, piece: piece), length: 66_560, chunkSize: 65_536,
                                                   signer: chunks, failure: S3Client.FailureBox(), bucket: "examplebucket",
                                                   key: "chunkObject.txt") {
            body.append(contentsOf: buffer.readableBytesView)
        }
        #expect(body == Self.documentedBody)
    }

    @Test(arguments: [66_559, 66_561, 0])
    func aSourceOfTheWrongLengthBreaksTheBodyOff(_ actual: Int) async throws {
        let (_, chunks) = signer.signChunked(request, date: date)
        let failure = S3Client.FailureBox()
        let body = StreamedUploadBody(source: Pieces(total: actual, piece: 4096), length: 66_560, chunkSize: 65_536, signer: chunks,
                                      failure: failure, bucket: "examplebucket", key: "chunkObject.txt")
        let error = await #expect(throws: S3Error.self) {
            for try await _ in body {}
        }
        #expect(error?.kind == .invalidRequest)
        #expect(error?.message.contains("66560") == true)
        #expect(failure.recorded is S3Error)
    }

    /// `total` bytes of `a` in pieces of `piece` bytes.
    struct Pieces: AsyncSequence, Sendable {
        typealias Element = Data
        let total: Int
        let piece: Int
        struct AsyncIterator: AsyncIteratorProtocol {
            var left: Int
            let piece: Int
            mutating func next() async throws -> Data? {
                guard left > 0 else { return nil }
                let count = Swift.min(piece, left)
                left -= count
                return Data(repeating: UInt8(ascii: "a"), count: count)
            }
        }
        func makeAsyncIterator() -> AsyncIterator { AsyncIterator(left: total, piece: piece) }
    }
}
