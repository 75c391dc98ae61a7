public import Foundation
import AsyncHTTPClient
import NIOHTTP1

/// A multipart upload that was started and neither completed nor aborted: its parts take space
/// on the server, and no object shows them.
public struct S3IncompleteUpload: Sendable, Hashable {
    /// The key the upload was for.
    public var key: String
    /// The upload's id.
    public var uploadID: String
    /// When the upload was started, by the server's clock (`nil` when the server did not say).
    public var initiated: Date?

    /// An upload from its parts.
    public init(key: String, uploadID: String, initiated: Date?) {
        self.key = key
        self.uploadID = uploadID
        self.initiated = initiated
    }
}

extension S3Client {
    /// Every upload of `bucket` under `prefix` that is neither completed nor aborted, with the
    /// time it was started, following ListMultipartUploads' pages to the end.
    ///
    /// - Throws: ``S3Error`` (``S3Error/Kind/invalidResponse`` when a truncated page gives no
    ///   marker to go on from).
    public func incompleteUploads(bucket: String, prefix: String = "") async throws -> [S3IncompleteUpload] {
        var uploads: [S3IncompleteUpload] = []
        var keyMarker: String?
        var uploadIDMarker: String?
        while true {
            var query: [SigV4Request.Parameter] = [.init("uploads", "")]
            if !prefix.isEmpty { query.append(.init("prefix", prefix)) }
            if let keyMarker { query.append(.init("key-marker", keyMarker)) }
            if let uploadIDMarker { query.append(.init("upload-id-marker", uploadIDMarker)) }
            let call = Call(operation: "ListMultipartUploads", method: .GET, bucket: bucket, key: nil, query: query)
            let response = try await send(call)
            let root = try Self.parseXML(try await Self.collect(response, limit: 16 << 20, call: call),
                                         root: "ListMultipartUploadsResult", call: call)
            uploads += root.children("Upload").map {
                S3IncompleteUpload(key: $0.text(of: "Key") ?? "", uploadID: $0.text(of: "UploadId") ?? "",
                                   initiated: $0.text(of: "Initiated").flatMap(S3Dates.parseISO8601))
            }
            guard root.text(of: "IsTruncated") == "true" else { return uploads }
            let nextKey = root.text(of: "NextKeyMarker").flatMap { $0.isEmpty ? nil : $0 }
            let nextID = root.text(of: "NextUploadIdMarker").flatMap { $0.isEmpty ? nil : $0 }
            guard let nextKey, nextKey != keyMarker || nextID != uploadIDMarker else {
                throw S3Error(kind: .invalidResponse, operation: call.operation, bucket: bucket,
                              message: "a truncated listing of uploads came without a marker to go on from")
            }
            keyMarker = nextKey
            uploadIDMarker = nextID
        }
    }
}
