public import Foundation
import AsyncHTTPClient
import NIOHTTP1

extension S3Client {
    /// The smallest part S3 accepts, but for the last: 5 MiB.
    public static let minimumPartSize = 5 << 20

    /// The part size for a value of `expectedSize` bytes (unknown when `nil`): 8 MiB, or more
    /// when that would take over S3's 10,000 parts.
    public static func partSize(forExpectedSize expectedSize: Int64?) -> Int {
        let base = 8 << 20
        guard let expectedSize, expectedSize > Int64(base) * 10_000 else { return base }
        let needed = (expectedSize + 9_999) / 10_000
        return Int((needed + Int64(minimumPartSize) - 1) / Int64(minimumPartSize) * Int64(minimumPartSize))
    }

    /// The most parts an upload may have: 10,000.
    public static let maximumPartCount = 10_000

    /// The number of parts a multipart upload sends at once unless told otherwise: 4.
    public static let defaultConcurrentParts = 4

    /// Writes the bytes of `chunks` under `key`: in one PUT when they fit in one part, else as
    /// a multipart upload of `partSize` parts, up to `concurrentParts` of them in flight at
    /// once.
    ///
    /// Memory stays bounded to about `concurrentParts + 1` parts: the parts being sent and the
    /// one being filled (a chunk larger than a part is held whole while it is cut). The parts
    /// are numbered in the order of the bytes, whatever order their uploads end in. When a
    /// chunk or a part fails, or the task is cancelled, the parts in flight are cancelled and
    /// awaited, and then the upload is aborted (and its absence checked, aborting again if a
    /// part that was still being stored brought it back), so no parts are left behind and
    /// nothing is written.
    ///
    /// - Parameters:
    ///   - bucket: The bucket.
    ///   - key: The object's key.
    ///   - chunks: The bytes, in chunks of any size.
    ///   - partSize: The size of each part but the last, at least 5 MiB. Defaults to
    ///     ``partSize(forExpectedSize:)`` of an unknown size.
    ///   - concurrentParts: How many parts are sent at once, at least 1. Defaults to
    ///     ``defaultConcurrentParts``.
    ///   - contentType: The content type to store. Defaults to `application/octet-stream`.
    ///   - onPart: Called as each part starts and ends (from any task), for progress reports.
    /// - Returns: The new ETag (a multipart upload's ends with `-` and the part count).
    /// - Throws: ``S3Error`` (``S3Error/Kind/invalidRequest`` when the value would take more than
    ///   ``maximumPartCount`` parts), the error of `chunks`, or `CancellationError`.
    public func putObject<Chunks: AsyncSequence & Sendable>(
        bucket: String, key: String, chunks: Chunks, partSize: Int = S3Client.partSize(forExpectedSize: nil),
        concurrentParts: Int = S3Client.defaultConcurrentParts,
        contentType: String = "application/octet-stream", onPart: (@Sendable (S3PartEvent) -> Void)? = nil
    ) async throws -> S3PutResult where Chunks.Element == Data {
        let partSize = max(partSize, Self.minimumPartSize)
        let width = max(1, concurrentParts)
        var iterator = chunks.makeAsyncIterator()
        var buffer = Data()
        var finished = false
        /// The next part, `nil` at the end: the buffer filled to a part (or to the end) and cut.
        func nextPart() async throws -> Data? {
            while buffer.count < partSize, !finished {
                if let chunk = try await iterator.next() { buffer.append(chunk) } else { finished = true }
            }
            guard !buffer.isEmpty else { return nil }
            if buffer.count <= partSize {
                defer { buffer = Data() }
                return buffer
            }
            let part = Data(buffer.prefix(partSize))
            buffer = Data(buffer.dropFirst(partSize))
            return part
        }
        guard let first = try await nextPart() else {
            return try await putObject(bucket: bucket, key: key, body: Data(), contentType: contentType)
        }
        if finished && buffer.isEmpty {
            return try await putObject(bucket: bucket, key: key, body: first, contentType: contentType)
        }
        let uploadID = try await createMultipartUpload(bucket: bucket, key: key, contentType: contentType)
        do {
            let parts = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                var etags: [Int: String] = [:]
                var inFlight = 0
                var number = 0
                var part: Data? = first
                while let body = part {
                    try Task.checkCancellation()
                    number += 1
                    guard number <= Self.maximumPartCount else {
                        throw S3Error(kind: .invalidRequest, operation: "UploadPart", bucket: bucket, key: key,
                                      message: "the value takes more than \(Self.maximumPartCount) parts of \(partSize) bytes; "
                                          + "declare its size so that the parts are made larger")
                    }
                    let partNumber = number
                    group.addTask {
                        onPart?(S3PartEvent(phase: .started, partNumber: partNumber, size: body.count))
                        do {
                            let etag = try await self.uploadPart(bucket: bucket, key: key, uploadID: uploadID, partNumber: partNumber, body: body)
                            onPart?(S3PartEvent(phase: .completed, partNumber: partNumber, size: body.count))
                            return (partNumber, etag)
                        } catch {
                            onPart?(S3PartEvent(phase: .failed, partNumber: partNumber, size: body.count))
                            throw error
                        }
                    }
                    inFlight += 1
                    // The next part is read while the parts in flight are sent; then a slot is
                    // awaited, so at most `width` parts are in flight and one more is held.
                    part = try await nextPart()
                    if part != nil && inFlight == width, let (done, etag) = try await group.next() {
                        etags[done] = etag
                        inFlight -= 1
                    }
                }
                while let (done, etag) = try await group.next() { etags[done] = etag }
                return etags.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            }
            try Task.checkCancellation()
            return try await completeMultipartUpload(bucket: bucket, key: key, uploadID: uploadID, parts: parts)
        } catch {
            await abandon(bucket: bucket, key: key, uploadID: uploadID)
            throw error
        }
    }

    /// Aborts an upload, in a task of its own (so that the caller's cancellation does not stop
    /// it reaching the server), and checks that it is gone: a part the server was still storing
    /// when the abort came may bring it back, so it is aborted again (three times at most). An
    /// upload whose abort did not reach the server, or that is still listed after the third,
    /// is kept in ``abandonedUploads`` and aborted again later.
    func abandon(bucket: String, key: String, uploadID: String) async {
        let gone = await Task {
            for attempt in 0..<3 {
                if attempt > 0 { try? await Task.sleep(for: .milliseconds(100 << attempt)) }
                let aborted: Bool
                do {
                    try await self.abortMultipartUpload(bucket: bucket, key: key, uploadID: uploadID)
                    aborted = true
                } catch let error as S3Error where error.kind == .connection || error.kind == .timedOut {
                    // The server cannot be reached (after the retry policy's attempts): the
                    // upload waits for it in abandonedUploads, and the caller does not.
                    return false
                } catch {
                    aborted = false
                }
                do {
                    let open = try await self.listMultipartUploads(bucket: bucket, prefix: key)
                    if !open.contains(where: { $0.uploadID == uploadID }) { return true }
                } catch let error as S3Error where error.kind == .accessDenied || error.kind == .invalidCredentials {
                    // Listing takes a permission of its own, which the abort may not need: then
                    // an abort that was answered is all there is to know.
                    if aborted { return true }
                } catch {}
            }
            return false
        }.value
        if !gone { abandoned.add(S3AbandonedUpload(bucket: bucket, key: key, uploadID: uploadID)) }
    }

    /// Starts a multipart upload (POST `?uploads`).
    ///
    /// - Parameters:
    ///   - bucket: The bucket.
    ///   - key: The key of the object the upload will make.
    ///   - contentType: The content type the object will have. Defaults to
    ///     `application/octet-stream`.
    ///   - metadata: The user metadata it will have, sent as `x-amz-meta-NAME` headers.
    ///     Defaults to none.
    /// - Returns: The upload id.
    /// - Throws: ``S3Error``.
    public func createMultipartUpload(bucket: String, key: String, contentType: String = "application/octet-stream",
                                      metadata: [String: String] = [:]) async throws -> String {
        var call = Call(operation: "CreateMultipartUpload", method: .POST, bucket: bucket, key: key, query: [.init("uploads", "")])
        call.headers.append(.init("Content-Type", contentType))
        for (name, value) in metadata.sorted(by: { $0.key < $1.key }) { call.headers.append(.init("x-amz-meta-" + name, value)) }
        call.repetition = .onlyIfRejected
        let response = try await send(call)
        let root = try Self.parseXML(try await Self.collect(response, limit: 1 << 20, call: call), root: "InitiateMultipartUploadResult", call: call)
        guard let id = root.text(of: "UploadId"), !id.isEmpty else {
            throw S3Error(kind: .invalidResponse, operation: call.operation, bucket: bucket, key: key, message: "the answer has no UploadId")
        }
        return id
    }

    /// Sends part `partNumber` (1 to 10,000) of an upload.
    ///
    /// - Parameters:
    ///   - bucket: The bucket.
    ///   - key: The key the upload is for.
    ///   - uploadID: The id ``createMultipartUpload(bucket:key:contentType:metadata:)`` returned.
    ///   - partNumber: The part's number, from 1 to 10,000, in the order of the bytes.
    ///   - body: The part's bytes: at least ``minimumPartSize`` but for the last part.
    /// - Returns: The part's ETag, for ``completeMultipartUpload(bucket:key:uploadID:parts:ifNoneMatch:ifMatch:)``.
    /// - Throws: ``S3Error``.
    public func uploadPart(bucket: String, key: String, uploadID: String, partNumber: Int, body: Data) async throws -> String {
        let call = Call(operation: "UploadPart", method: .PUT, bucket: bucket, key: key,
                        query: [.init("partNumber", String(partNumber)), .init("uploadId", uploadID)], body: body)
        let response = try await send(call)
        _ = try? await response.body.collect(upTo: 1 << 20)
        guard let etag = response.headers.first(name: "ETag") else {
            throw S3Error(kind: .invalidResponse, operation: call.operation, bucket: bucket, key: key, message: "the answer has no ETag")
        }
        return etag
    }

    /// Joins the parts of an upload into the object.
    ///
    /// - Parameters:
    ///   - bucket: The bucket.
    ///   - key: The key the upload is for.
    ///   - uploadID: The id ``createMultipartUpload(bucket:key:contentType:metadata:)`` returned.
    ///   - parts: `(partNumber, etag)`, in increasing part number.
    ///   - ifNoneMatch: `*` to complete only if the key does not exist (AWS, SeaweedFS).
    ///   - ifMatch: An ETag the current object must have.
    /// - Returns: The new object's ETag (ending with `-` and the part count) and the server's date.
    /// - Throws: ``S3Error``, also when a 200 answer carries an error
    ///   (``S3Error/Kind/preconditionFailed`` when a condition does not hold).
    public func completeMultipartUpload(bucket: String, key: String, uploadID: String, parts: [(Int, String)],
                                        ifNoneMatch: String? = nil, ifMatch: String? = nil) async throws -> S3PutResult {
        var xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for (number, etag) in parts {
            xml += "<Part><PartNumber>\(number)</PartNumber><ETag>" + S3XMLElement.escape(etag) + "</ETag></Part>"
        }
        xml += "</CompleteMultipartUpload>"
        var call = Call(operation: "CompleteMultipartUpload", method: .POST, bucket: bucket, key: key,
                        query: [.init("uploadId", uploadID)], body: Data(xml.utf8))
        call.headers.append(.init("Content-Type", "application/xml"))
        if let ifNoneMatch { call.headers.append(.init("If-None-Match", ifNoneMatch)) }
        if let ifMatch { call.headers.append(.init("If-Match", ifMatch)) }
        call.repetition = .onlyIfRejected
        // A 200 answer may still carry an error.
        call.mayFailInBody = true
        let response = try await send(call)
        let data = try await Self.collect(response, limit: 1 << 20, call: call)
        guard let root = S3XMLElement.parse(data) else {
            throw S3Error(kind: .invalidResponse, operation: call.operation, bucket: bucket, key: key, message: "the answer is not XML")
        }
        let etag = root.text(of: "ETag") ?? response.headers.first(name: "ETag") ?? ""
        return S3PutResult(etag: etag, date: response.headers.first(name: "Date").flatMap(S3Dates.parseHTTPDate))
    }

    /// Abandons an upload and deletes its parts (DELETE `?uploadId`).
    ///
    /// - Parameters:
    ///   - bucket: The bucket.
    ///   - key: The key the upload is for.
    ///   - uploadID: The upload's id.
    /// - Throws: ``S3Error``. An upload that is gone already (404) is no error.
    public func abortMultipartUpload(bucket: String, key: String, uploadID: String) async throws {
        let call = Call(operation: "AbortMultipartUpload", method: .DELETE, bucket: bucket, key: key, query: [.init("uploadId", uploadID)],
                        passedStatuses: [404])
        let response = try await send(call)
        _ = try? await response.body.collect(upTo: 1 << 20)
    }

    /// The uploads of `bucket` under `prefix` that are neither completed nor aborted (the first
    /// 1,000).
    ///
    /// ``incompleteUploads(bucket:prefix:)`` follows every page and gives the start times too.
    ///
    /// - Parameters:
    ///   - bucket: The bucket.
    ///   - prefix: Only uploads for keys that start with it. Defaults to `""`, every key.
    /// - Returns: `(key, uploadID)` of each.
    /// - Throws: ``S3Error``.
    public func listMultipartUploads(bucket: String, prefix: String = "") async throws -> [(key: String, uploadID: String)] {
        var query: [SigV4Request.Parameter] = [.init("uploads", "")]
        if !prefix.isEmpty { query.append(.init("prefix", prefix)) }
        let call = Call(operation: "ListMultipartUploads", method: .GET, bucket: bucket, key: nil, query: query)
        let response = try await send(call)
        let root = try Self.parseXML(try await Self.collect(response, limit: 16 << 20, call: call), root: "ListMultipartUploadsResult", call: call)
        return root.children("Upload").map { (key: $0.text(of: "Key") ?? "", uploadID: $0.text(of: "UploadId") ?? "") }
    }
}

/// A part of a multipart upload starting or ending, as reported to the `onPart` handler of
/// ``S3Client/putObject(bucket:key:chunks:partSize:concurrentParts:contentType:onPart:)``.
public struct S3PartEvent: Sendable, Hashable {
    /// Where the part's upload is.
    public enum Phase: Sendable, Hashable {
        /// Its upload starts.
        case started
        /// The server has stored it.
        case completed
        /// Its upload failed or was cancelled (and the whole upload with it).
        case failed
    }

    /// Whether the part starts, has been stored, or failed.
    public var phase: Phase
    /// The part's number, from 1.
    public var partNumber: Int
    /// Its size in bytes.
    public var size: Int

    /// An event from its parts.
    public init(phase: Phase, partNumber: Int, size: Int) {
        self.phase = phase
        self.partNumber = partNumber
        self.size = size
    }
}
