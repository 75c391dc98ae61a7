public import Foundation
public import Trove
public import TroveS3Client

extension S3Store {
    /// The multipart uploads under the store's prefix that were started and neither completed
    /// nor aborted.
    ///
    /// A streamed write aborts its upload when it fails, but when the failure is the server
    /// itself (it died, or the network to it broke), the abort cannot reach it either: the
    /// upload then stays open on the server, its parts taking space, though no object shows
    /// them and no read sees them. The client keeps such uploads (`S3Client.abandonedUploads`)
    /// and aborts them once the server answers again; uploads of a process that ended first
    /// stay, and ``abortIncompleteUploads(startedBefore:)`` removes them, as an
    /// `AbortIncompleteMultipartUpload` lifecycle rule does on servers that keep lifecycle rules.
    ///
    /// - Throws: `StoreError` (`StoreError.Code.unavailable` when the server cannot be reached).
    public func incompleteUploads() async throws -> [S3IncompleteUpload] {
        try await mapErrors(.list, key: nil) { try await client.incompleteUploads(bucket: bucket, prefix: prefix) }
    }

    /// Aborts the multipart uploads under the store's prefix that were started before `date`
    /// (by the server's clock) and never completed, and returns how many it aborted.
    ///
    /// An upload in progress is an upload too: pass a date far enough back that no live write
    /// is that old (a day, say, for stores whose writes take minutes), so that another writer's
    /// upload is not aborted under it; an upload whose start time the server does not give is
    /// left alone. Uploads that disappear meanwhile (completed or aborted by their writer)
    /// count as aborted.
    ///
    /// - Throws: `StoreError` (`StoreError.Code.unavailable` when the server cannot be
    ///   reached); uploads aborted before the failure stay aborted.
    @discardableResult
    public func abortIncompleteUploads(startedBefore date: Date) async throws -> Int {
        let stale = try await incompleteUploads().filter { upload in
            upload.initiated.map { $0 < date } ?? false
        }
        try await mapErrors(.reclaim, key: nil) {
            for upload in stale {
                try await client.abortMultipartUpload(bucket: bucket, key: upload.key, uploadID: upload.uploadID)
            }
        }
        return stale.count
    }
}
