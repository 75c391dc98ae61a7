public import Foundation
import AsyncHTTPClient
import NIOHTTP1

extension S3Client {
    /// The largest source one CopyObject request copies: 5 GiB. A larger one is copied in
    /// parts (UploadPartCopy).
    public static let maximumCopySize: Int64 = 5 << 30

    /// The part size of a multipart copy of `sourceSize` bytes: 512 MiB, or more when that would
    /// take over 10,000 parts (at most 5 GiB, S3's largest part).
    public static func copyPartSize(forSourceSize sourceSize: Int64) -> Int64 {
        let base: Int64 = 512 << 20
        guard sourceSize > base * Int64(maximumPartCount) else { return base }
        let needed = (sourceSize + Int64(maximumPartCount) - 1) / Int64(maximumPartCount)
        let rounded = (needed + Int64(minimumPartSize) - 1) / Int64(minimumPartSize) * Int64(minimumPartSize)
        return min(rounded, maximumCopySize)
    }

    /// Copies `sourceKey` of `sourceBucket` to `key` of `bucket` on the server: the bytes never
    /// pass through this client.
    ///
    /// The source's head is read first (HEAD): a missing source throws
    /// ``S3Error/Kind/notFound`` naming it, before anything is written. A source of at most
    /// `multipartThreshold` bytes is copied with one CopyObject request; a larger one with a
    /// multipart upload whose parts are copied ranges of the source (UploadPartCopy,
    /// `x-amz-copy-source-range`), `concurrentParts` at a time, each part pinned to the
    /// source's ETag (so that a source rewritten during the copy fails it instead of mixing two
    /// values) and the upload aborted on any failure or cancellation, so that nothing is left
    /// behind. The source's key is percent-encoded in `x-amz-copy-source` (slashes kept), so any
    /// key, with spaces, `+`, `?`, `%` or non-ASCII characters, names its own object.
    ///
    /// CopyObject may answer 200 and report its failure in the body (S3 does when the copy
    /// fails after it started): such an answer throws, and is repeated as an error answer is.
    ///
    /// - Parameters:
    ///   - sourceBucket: The bucket to copy from; may be `bucket`.
    ///   - sourceKey: The key to copy.
    ///   - sourceVersionID: A version of the source, on a versioned bucket; `nil` for the
    ///     current one.
    ///   - bucket: The bucket to copy into.
    ///   - key: The key to write.
    ///   - sourceIfMatch: An ETag the source must have (`x-amz-copy-source-if-match`), else
    ///     ``S3Error/Kind/preconditionFailed``.
    ///   - ifNoneMatch: `*` to write only if `key` does not exist, on servers that honour it on
    ///     copies (SeaweedFS does).
    ///   - ifMatch: An ETag the destination must have, likewise.
    ///   - metadata: Whether the copy keeps the source's content type and user metadata
    ///     (``S3MetadataDirective/copy``, the default) or takes new ones.
    ///   - multipartThreshold: The largest source copied in one request; larger ones go in
    ///     parts. Defaults to (and is at most) ``maximumCopySize``.
    ///   - partSize: The size of each copied part but the last, at least 5 MiB. Defaults to
    ///     ``copyPartSize(forSourceSize:)``.
    ///   - concurrentParts: How many parts are copied at once. Defaults to
    ///     ``defaultConcurrentParts``.
    /// - Returns: The new object's ETag and time, and how many parts it was copied in.
    /// - Throws: ``S3Error``: ``S3Error/Kind/notFound`` naming the source when it does not
    ///   exist, ``S3Error/Kind/preconditionFailed`` when a condition does not hold.
    public func copyObject(
        fromBucket sourceBucket: String, key sourceKey: String, sourceVersionID: String? = nil,
        toBucket bucket: String, key: String, sourceIfMatch: String? = nil, ifNoneMatch: String? = nil, ifMatch: String? = nil,
        metadata: S3MetadataDirective = .copy, multipartThreshold: Int64 = S3Client.maximumCopySize, partSize: Int64? = nil,
        concurrentParts: Int = S3Client.defaultConcurrentParts
    ) async throws -> S3CopyResult {
        let source = Self.copySource(bucket: sourceBucket, key: sourceKey, versionID: sourceVersionID)
        var headCall = Call(operation: "CopyObject", method: .HEAD, bucket: sourceBucket, key: sourceKey, passedStatuses: [404])
        if let sourceVersionID { headCall.query.append(.init("versionId", sourceVersionID)) }
        let headResponse = try await send(headCall)
        guard headResponse.status.code != 404 else {
            throw missingSource(sourceBucket, sourceKey, destinationBucket: bucket, destinationKey: key, message: nil)
        }
        let head = try Self.head(of: headResponse, call: headCall)
        if let sourceIfMatch, Self.unquoted(sourceIfMatch) != Self.unquoted(head.etag) {
            throw S3Error(kind: .preconditionFailed, operation: "CopyObject", bucket: sourceBucket, key: sourceKey,
                          code: "PreconditionFailed",
                          message: "the copy source has the ETag \(head.etag), not \(sourceIfMatch); nothing was copied")
        }
        let threshold = min(max(0, multipartThreshold), Self.maximumCopySize)
        if head.size <= threshold {
            var result = try await copyInOneRequest(source: source, sourceBucket: sourceBucket, sourceKey: sourceKey, bucket: bucket,
                                                    key: key, sourceIfMatch: sourceIfMatch, ifNoneMatch: ifNoneMatch, ifMatch: ifMatch,
                                                    metadata: metadata)
            result.size = head.size
            return result
        }
        let size = min(max(partSize ?? Self.copyPartSize(forSourceSize: head.size), Int64(Self.minimumPartSize)), Self.maximumCopySize)
        let partCount = (head.size + size - 1) / size
        guard partCount <= Int64(Self.maximumPartCount) else {
            throw S3Error(kind: .invalidRequest, operation: "UploadPartCopy", bucket: bucket, key: key,
                          message: "copying \(head.size) bytes in parts of \(size) takes \(partCount) parts, more than S3's \(Self.maximumPartCount)")
        }
        let contentType: String
        let userMetadata: [String: String]
        switch metadata {
        case .copy:
            contentType = head.contentType ?? "application/octet-stream"
            userMetadata = head.metadata
        case .replace(let newType, let newMetadata):
            contentType = newType
            userMetadata = newMetadata
        }
        let uploadID = try await createMultipartUpload(bucket: bucket, key: key, contentType: contentType, metadata: userMetadata)
        do {
            let pinned = sourceIfMatch ?? head.etag
            let width = max(1, concurrentParts)
            let parts = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                var etags: [Int: String] = [:]
                var next = 0
                func start() {
                    let number = next + 1
                    let first = Int64(next) * size
                    let last = min(first + size, head.size) - 1
                    next += 1
                    group.addTask {
                        let etag = try await self.uploadPartCopy(source: source, sourceBucket: sourceBucket, sourceKey: sourceKey,
                                                                 range: first...last, sourceIfMatch: pinned, bucket: bucket, key: key,
                                                                 uploadID: uploadID, partNumber: number)
                        return (number, etag)
                    }
                }
                while next < min(width, Int(partCount)) { start() }
                while let (number, etag) = try await group.next() {
                    etags[number] = etag
                    try Task.checkCancellation()
                    if next < Int(partCount) { start() }
                }
                return etags.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            }
            try Task.checkCancellation()
            let result = try await completeMultipartUpload(bucket: bucket, key: key, uploadID: uploadID, parts: parts,
                                                           ifNoneMatch: ifNoneMatch, ifMatch: ifMatch)
            return S3CopyResult(etag: Self.quoted(result.etag), lastModified: result.date, size: head.size, partCount: parts.count)
        } catch {
            await abandon(bucket: bucket, key: key, uploadID: uploadID)
            throw error
        }
    }

    private func copyInOneRequest(source: String, sourceBucket: String, sourceKey: String, bucket: String, key: String,
                                  sourceIfMatch: String?, ifNoneMatch: String?, ifMatch: String?,
                                  metadata: S3MetadataDirective) async throws -> S3CopyResult {
        var call = Call(operation: "CopyObject", method: .PUT, bucket: bucket, key: key)
        call.headers.append(.init("x-amz-copy-source", source))
        if let sourceIfMatch { call.headers.append(.init("x-amz-copy-source-if-match", sourceIfMatch)) }
        if let ifNoneMatch { call.headers.append(.init("If-None-Match", ifNoneMatch)) }
        if let ifMatch { call.headers.append(.init("If-Match", ifMatch)) }
        if case .replace(let contentType, let userMetadata) = metadata {
            call.headers.append(.init("x-amz-metadata-directive", "REPLACE"))
            call.headers.append(.init("Content-Type", contentType))
            for (name, value) in userMetadata.sorted(by: { $0.key < $1.key }) { call.headers.append(.init("x-amz-meta-" + name, value)) }
        }
        if ifNoneMatch != nil || ifMatch != nil { call.repetition = .onlyIfRejected }
        let (root, etag) = try await sendCopy(call, answer: "CopyObjectResult", sourceBucket: sourceBucket, sourceKey: sourceKey)
        return S3CopyResult(etag: Self.quoted(etag), lastModified: root.text(of: "LastModified").flatMap(S3Dates.parseISO8601),
                            size: 0, partCount: nil)
    }

    /// Copies the bytes `range` of the source into part `partNumber` of an upload
    /// (UploadPartCopy).
    ///
    /// - Parameters:
    ///   - source: The source as ``copySource(bucket:key:versionID:)`` writes it.
    ///   - range: The first and last byte, both included.
    ///   - sourceIfMatch: An ETag the source must still have.
    /// - Returns: The part's ETag.
    func uploadPartCopy(source: String, sourceBucket: String, sourceKey: String, range: ClosedRange<Int64>, sourceIfMatch: String?,
                        bucket: String, key: String, uploadID: String, partNumber: Int) async throws -> String {
        var call = Call(operation: "UploadPartCopy", method: .PUT, bucket: bucket, key: key,
                        query: [.init("partNumber", String(partNumber)), .init("uploadId", uploadID)])
        call.headers.append(.init("x-amz-copy-source", source))
        call.headers.append(.init("x-amz-copy-source-range", "bytes=\(range.lowerBound)-\(range.upperBound)"))
        if let sourceIfMatch { call.headers.append(.init("x-amz-copy-source-if-match", sourceIfMatch)) }
        return try await sendCopy(call, answer: "CopyPartResult", sourceBucket: sourceBucket, sourceKey: sourceKey).etag
    }

    /// Sends a copy (which may fail in a 200's body) and reads its `answer` document and ETag;
    /// a source gone since its HEAD is reported as the copy's missing source.
    private func sendCopy(_ call: Call, answer: String, sourceBucket: String, sourceKey: String) async throws
        -> (root: S3XMLElement, etag: String) {
        var call = call
        call.mayFailInBody = true
        let response: HTTPClientResponse
        do {
            response = try await send(call)
        } catch let error as S3Error where error.code == "NoSuchKey" {
            throw missingSource(sourceBucket, sourceKey, destinationBucket: call.bucket ?? "", destinationKey: call.key ?? "",
                                message: error.message)
        }
        let data = try await Self.collect(response, limit: 1 << 20, call: call)
        let root = try Self.parseXML(data, root: answer, call: call)
        guard let etag = root.text(of: "ETag"), !etag.isEmpty else {
            throw S3Error(kind: .invalidResponse, operation: call.operation, bucket: call.bucket, key: call.key,
                          message: "the \(answer) has no ETag")
        }
        return (root, etag)
    }

    /// The value of `x-amz-copy-source` for `key` of `bucket`: `bucket/key` percent-encoded as a
    /// path (every byte but `A-Z a-z 0-9 - _ . ~` and `/`), then `?versionId=` and the version.
    public static func copySource(bucket: String, key: String, versionID: String? = nil) -> String {
        var source = SigV4Encoding.percentEncode(bucket + "/" + key, keepingSlashes: true)
        if let versionID { source += "?versionId=" + SigV4Encoding.percentEncode(versionID) }
        return source
    }

    private func missingSource(_ sourceBucket: String, _ sourceKey: String, destinationBucket: String, destinationKey: String,
                               message: String?) -> S3Error {
        S3Error(kind: .notFound, operation: "CopyObject", bucket: sourceBucket, key: sourceKey, status: 404, code: "NoSuchKey",
                message: "the copy source \(sourceBucket)/\(sourceKey) does not exist (or its bucket does not); nothing was written to "
                    + "\(destinationBucket)/\(destinationKey)" + (message.map { ": " + $0 } ?? ""))
    }

    /// `etag` with its quotes, as headers carry it (some servers leave them out of XML answers).
    static func quoted(_ etag: String) -> String {
        etag.hasPrefix("\"") || etag.hasPrefix("W/") ? etag : "\"" + etag + "\""
    }

    static func unquoted(_ etag: String) -> Substring {
        var text = Substring(etag)
        if text.hasPrefix("W/") { text = text.dropFirst(2) }
        if text.hasPrefix("\""), text.hasSuffix("\""), text.count >= 2 { text = text.dropFirst().dropLast() }
        return text
    }
}

/// Whether a copy keeps the source's content type and user metadata.
public enum S3MetadataDirective: Sendable, Hashable {
    /// The copy has the source's content type and user metadata (`COPY`).
    case copy
    /// The copy has this content type and these user metadata instead (`REPLACE`).
    case replace(contentType: String, metadata: [String: String])
}

/// What a copy made.
public struct S3CopyResult: Sendable, Hashable {
    /// The new object's ETag, quotes included (added when the server left them out).
    public var etag: String
    /// When the new object was written, as the server said.
    public var lastModified: Date?
    /// Its size: the source's, as its head said before the copy.
    public var size: Int64
    /// How many parts it was copied in; `nil` for a copy in one request.
    public var partCount: Int?

    /// A result from its parts.
    public init(etag: String, lastModified: Date?, size: Int64, partCount: Int?) {
        self.etag = etag
        self.lastModified = lastModified
        self.size = size
        self.partCount = partCount
    }
}
