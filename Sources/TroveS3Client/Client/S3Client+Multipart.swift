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

    /// Writes the bytes of `chunks` under `key`: in one PUT when they fit in one part, else as
    /// a multipart upload of `partSize` parts sent one after the other, holding one part in
    /// memory. When a chunk or a part fails, or the task is cancelled, the upload is aborted
    /// (so no parts are left behind) and nothing is written.
    ///
    /// - Parameters:
    ///   - partSize: The size of each part but the last, at least 5 MiB. Defaults to
    ///     ``partSize(forExpectedSize:)`` of an unknown size.
    /// - Returns: The new ETag (a multipart upload's ends with `-` and the part count).
    /// - Throws: ``S3Error``, the error of `chunks`, or `CancellationError`.
    public func putObject<Chunks: AsyncSequence & Sendable>(
        bucket: String, key: String, chunks: Chunks, partSize: Int = S3Client.partSize(forExpectedSize: nil),
        contentType: String = "application/octet-stream"
    ) async throws -> S3PutResult where Chunks.Element == Data {
        let partSize = max(partSize, Self.minimumPartSize)
        var iterator = chunks.makeAsyncIterator()
        var buffer = Data()
        var finished = false
        func fill() async throws {
            while buffer.count < partSize, !finished {
                if let chunk = try await iterator.next() { buffer.append(chunk) } else { finished = true }
            }
        }
        try await fill()
        if finished && buffer.count <= partSize {
            return try await putObject(bucket: bucket, key: key, body: buffer, contentType: contentType)
        }
        let uploadID = try await createMultipartUpload(bucket: bucket, key: key, contentType: contentType)
        do {
            var parts: [(Int, String)] = []
            while !buffer.isEmpty {
                let part = buffer.count > partSize ? Data(buffer.prefix(partSize)) : buffer
                buffer = buffer.count > partSize ? Data(buffer.dropFirst(partSize)) : Data()
                try Task.checkCancellation()
                let etag = try await uploadPart(bucket: bucket, key: key, uploadID: uploadID, partNumber: parts.count + 1, body: part)
                parts.append((parts.count + 1, etag))
                try await fill()
            }
            try Task.checkCancellation()
            return try await completeMultipartUpload(bucket: bucket, key: key, uploadID: uploadID, parts: parts)
        } catch {
            // Not cancelled with the caller: the abort must reach the server.
            _ = await Task { try? await self.abortMultipartUpload(bucket: bucket, key: key, uploadID: uploadID) }.result
            throw error
        }
    }

    /// Starts a multipart upload (POST `?uploads`).
    ///
    /// - Returns: The upload id.
    public func createMultipartUpload(bucket: String, key: String, contentType: String = "application/octet-stream") async throws -> String {
        var call = Call(operation: "CreateMultipartUpload", method: .POST, bucket: bucket, key: key, query: [.init("uploads", "")])
        call.headers.append(.init("Content-Type", contentType))
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
    /// - Returns: The part's ETag.
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
    /// - Parameter parts: `(partNumber, etag)`, in increasing part number.
    public func completeMultipartUpload(bucket: String, key: String, uploadID: String, parts: [(Int, String)]) async throws -> S3PutResult {
        var xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for (number, etag) in parts {
            xml += "<Part><PartNumber>\(number)</PartNumber><ETag>" + S3XMLElement.escape(etag) + "</ETag></Part>"
        }
        xml += "</CompleteMultipartUpload>"
        var call = Call(operation: "CompleteMultipartUpload", method: .POST, bucket: bucket, key: key,
                        query: [.init("uploadId", uploadID)], body: Data(xml.utf8))
        call.headers.append(.init("Content-Type", "application/xml"))
        call.repetition = .onlyIfRejected
        let response = try await send(call)
        let data = try await Self.collect(response, limit: 1 << 20, call: call)
        // A 200 answer may still carry an error.
        guard let root = S3XMLElement.parse(data) else {
            throw S3Error(kind: .invalidResponse, operation: call.operation, bucket: bucket, key: key, message: "the answer is not XML")
        }
        if root.name == "Error" {
            let code = root.text(of: "Code")
            throw S3Error(kind: S3Error.kind(status: 500, code: code), operation: call.operation, bucket: bucket, key: key,
                          status: Int(response.status.code), code: code, message: root.text(of: "Message") ?? "the upload failed",
                          requestID: root.text(of: "RequestId"))
        }
        let etag = root.text(of: "ETag") ?? response.headers.first(name: "ETag") ?? ""
        return S3PutResult(etag: etag, date: response.headers.first(name: "Date").flatMap(S3Dates.parseHTTPDate))
    }

    /// Abandons an upload and deletes its parts.
    public func abortMultipartUpload(bucket: String, key: String, uploadID: String) async throws {
        let call = Call(operation: "AbortMultipartUpload", method: .DELETE, bucket: bucket, key: key, query: [.init("uploadId", uploadID)],
                        passedStatuses: [404])
        let response = try await send(call)
        _ = try? await response.body.collect(upTo: 1 << 20)
    }

    /// The uploads of `bucket` under `prefix` that are neither completed nor aborted (the first
    /// 1,000).
    ///
    /// - Returns: `(key, uploadID)` of each.
    public func listMultipartUploads(bucket: String, prefix: String = "") async throws -> [(key: String, uploadID: String)] {
        var query: [SigV4Request.Parameter] = [.init("uploads", "")]
        if !prefix.isEmpty { query.append(.init("prefix", prefix)) }
        let call = Call(operation: "ListMultipartUploads", method: .GET, bucket: bucket, key: nil, query: query)
        let response = try await send(call)
        let root = try Self.parseXML(try await Self.collect(response, limit: 16 << 20, call: call), root: "ListMultipartUploadsResult", call: call)
        return root.children("Upload").map { (key: $0.text(of: "Key") ?? "", uploadID: $0.text(of: "UploadId") ?? "") }
    }
}
