public import Foundation
import AsyncHTTPClient
import NIOCore
import NIOHTTP1

extension S3Client {
    /// The largest object one PUT writes: 5 GiB.
    public static let maximumSinglePutSize: Int64 = 5 << 30

    /// The size of the signed chunks of a streamed PUT: 256 KiB.
    public static let defaultStreamingChunkSize = 256 << 10

    /// Writes the `length` bytes of `chunks` under `key` in one PUT, sending them as they come,
    /// without holding the value in memory or reading it twice.
    ///
    /// When the configuration signs payloads (``S3ClientConfiguration/signsPayload``, the
    /// default over `http`) the body goes in `aws-chunked` encoding
    /// (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`): cut into chunks of `chunkSize` bytes, each
    /// signed with the signature of the one before, so that the server checks every byte as it
    /// arrives. Otherwise (over `https`) it goes as it is, under `UNSIGNED-PAYLOAD`. Either way
    /// the length must be known before the first byte: S3 needs it
    /// (`x-amz-decoded-content-length`) in the signed headers. A value of unknown length goes
    /// through ``putObject(bucket:key:chunks:partSize:concurrentParts:contentType:onPart:)``.
    ///
    /// The request is never repeated (its body cannot be sent twice). It must end within the
    /// configuration's ``S3ClientConfiguration/requestTimeout`` plus a second per MiB of the
    /// value (a source slower than that fails it as a timeout). When `chunks` fails, or
    /// holds more or fewer bytes than `length`, the request is broken off before its end, and
    /// S3 stores nothing.
    ///
    /// - Parameters:
    ///   - bucket: The bucket.
    ///   - key: The object's key.
    ///   - chunks: The bytes, in chunks of any size.
    ///   - length: The number of bytes `chunks` holds, at most 5 GiB (S3's limit of one PUT).
    ///   - ifNoneMatch: `*` to write only if the key does not exist.
    ///   - ifMatch: An ETag the current object must have.
    ///   - contentType: The content type to store. Defaults to `application/octet-stream`.
    ///   - metadata: User metadata, sent as `x-amz-meta-NAME` headers.
    ///   - chunkSize: The size of each signed chunk but the last, at least 8 KiB. Defaults to
    ///     ``defaultStreamingChunkSize``.
    /// - Returns: The new ETag.
    /// - Throws: ``S3Error`` (``S3Error/Kind/preconditionFailed`` when a condition fails,
    ///   ``S3Error/Kind/invalidRequest`` when the bytes do not add up to `length`), the error of
    ///   `chunks`, or `CancellationError`.
    public func putObject<Chunks: AsyncSequence & Sendable>(
        bucket: String, key: String, chunks: Chunks, length: Int64, ifNoneMatch: String? = nil, ifMatch: String? = nil,
        contentType: String = "application/octet-stream", metadata: [String: String] = [:],
        chunkSize: Int = S3Client.defaultStreamingChunkSize
    ) async throws -> S3PutResult where Chunks.Element == Data {
        guard length >= 0 else {
            throw S3Error(kind: .invalidRequest, operation: "PutObject", bucket: bucket, key: key,
                          message: "a streamed PUT needs a length of zero or more bytes, not \(length)")
        }
        let chunkSize = max(chunkSize, SigV4ChunkSigner.minimumChunkSize)
        var call = Call(operation: "PutObject", method: .PUT, bucket: bucket, key: key)
        call.headers.append(.init("Content-Type", contentType))
        if let ifNoneMatch { call.headers.append(.init("If-None-Match", ifNoneMatch)) }
        if let ifMatch { call.headers.append(.init("If-Match", ifMatch)) }
        for (name, value) in metadata.sorted(by: { $0.key < $1.key }) { call.headers.append(.init("x-amz-meta-" + name, value)) }
        call.repetition = .never
        call.stream = StreamedBody(length: length, chunkSize: chunkSize) { signer, failure in
            let body = StreamedUploadBody(source: chunks, length: length, chunkSize: chunkSize, signer: signer, failure: failure,
                                          bucket: bucket, key: key)
            let encodedLength = signer == nil ? length : SigV4ChunkSigner.encodedLength(ofDecodedLength: length, chunkSize: chunkSize)
            return .stream(body, length: .known(encodedLength))
        }
        let response = try await send(call)
        _ = try? await response.body.collect(upTo: 1 << 20)
        guard let etag = response.headers.first(name: "ETag") else {
            throw S3Error(kind: .invalidResponse, operation: call.operation, bucket: bucket, key: key,
                          status: Int(response.status.code), message: "the answer to a PUT has no ETag")
        }
        return S3PutResult(etag: etag, date: response.headers.first(name: "Date").flatMap(S3Dates.parseHTTPDate))
    }
}

/// The body of a streamed PUT: the bytes of a source cut into chunks of a fixed size, each
/// framed and signed when there is a signer (`aws-chunked`), as they are otherwise; the length
/// checked as they pass, so that a source that holds more or fewer bytes than declared breaks
/// the request off instead of sending a body that does not match its headers.
struct StreamedUploadBody<Source: AsyncSequence & Sendable>: AsyncSequence, Sendable where Source.Element == Data {
    typealias Element = ByteBuffer

    let source: Source
    let length: Int64
    let chunkSize: Int
    let signer: SigV4ChunkSigner?
    let failure: S3Client.FailureBox
    let bucket: String
    let key: String

    struct AsyncIterator: AsyncIteratorProtocol {
        var source: Source.AsyncIterator
        let length: Int64
        let chunkSize: Int
        var signer: SigV4ChunkSigner?
        let failure: S3Client.FailureBox
        let bucket: String
        let key: String
        var pending = Data()
        /// The bytes of `pending` already sent.
        var start = 0
        var sourceEnded = false
        var sent: Int64 = 0
        var finished = false

        mutating func next() async throws -> ByteBuffer? {
            do {
                return try await produce()
            } catch {
                failure.record(error)
                throw error
            }
        }

        private mutating func produce() async throws -> ByteBuffer? {
            guard !finished else { return nil }
            while pending.count - start < chunkSize && !sourceEnded {
                if let data = try await source.next() {
                    if start > 0 {
                        // Drop the bytes already sent before appending, so that a large source
                        // chunk is not copied once per signed chunk.
                        pending = Data(pending[(pending.startIndex + start)...])
                        start = 0
                    }
                    pending.append(data)
                    if sent + Int64(pending.count) > length { throw mismatch(atLeast: sent + Int64(pending.count)) }
                } else {
                    sourceEnded = true
                }
            }
            guard pending.count > start else {
                finished = true
                guard sent == length else { throw mismatch(atLeast: sent) }
                guard var signer else { return nil }
                let last = signer.finalFrame()
                self.signer = signer
                return ByteBuffer(bytes: last)
            }
            let end = Swift.min(start + chunkSize, pending.count)
            let piece = pending[(pending.startIndex + start)..<(pending.startIndex + end)]
            start = end
            sent += Int64(piece.count)
            if start == pending.count {
                pending = Data()
                start = 0
            }
            guard var signer else { return ByteBuffer(bytes: piece) }
            let framed = signer.frame(piece)
            self.signer = signer
            return ByteBuffer(bytes: framed)
        }

        private func mismatch(atLeast count: Int64) -> S3Error {
            let held = sourceEnded ? "\(count)" : "more than \(length)"
            return S3Error(kind: .invalidRequest, operation: "PutObject", bucket: bucket, key: key,
                           message: "the streamed body held \(held) bytes, not the \(length) its request declared; nothing was stored")
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(source: source.makeAsyncIterator(), length: length, chunkSize: chunkSize, signer: signer, failure: failure,
                      bucket: bucket, key: key)
    }
}
