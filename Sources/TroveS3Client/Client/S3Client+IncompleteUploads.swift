public import Foundation
import AsyncHTTPClient
import NIOHTTP1
import Logging
import Synchronization

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

/// A multipart upload that this client gave up (its write failed or was cancelled) and could
/// not abort: the server did not answer, or still listed it after three aborts.
public struct S3AbandonedUpload: Sendable, Hashable {
    /// The upload's bucket.
    public var bucket: String
    /// The key the upload was for.
    public var key: String
    /// The upload's id.
    public var uploadID: String

    /// An upload from its parts.
    public init(bucket: String, key: String, uploadID: String) {
        self.bucket = bucket
        self.key = key
        self.uploadID = uploadID
    }
}

/// The uploads a client abandoned and has still to abort, and whether an attempt is under way.
final class AbandonedUploads: Sendable {
    /// The most that are kept; past it the oldest are forgotten (a lifecycle rule or
    /// ``S3Client/incompleteUploads(bucket:prefix:)`` finds them).
    static let limit = 1_000

    private struct State {
        var uploads: [S3AbandonedUpload] = []
        var isAborting = false
        /// No new attempt starts before this (an answered request may be followed by many).
        var nextAttempt = ContinuousClock.Instant.now
    }
    private let state = Mutex(State())
    /// Whether any is kept: read on every answered request, without the lock.
    private let count = Atomic<Int>(0)

    var isEmpty: Bool { count.load(ordering: .relaxed) == 0 }
    var uploads: [S3AbandonedUpload] { state.withLock { $0.uploads } }

    func add(_ upload: S3AbandonedUpload) {
        state.withLock { state in
            if !state.uploads.contains(upload) { state.uploads.append(upload) }
            if state.uploads.count > Self.limit { state.uploads.removeFirst(state.uploads.count - Self.limit) }
            count.store(state.uploads.count, ordering: .relaxed)
        }
    }

    /// The uploads to try, when no attempt is under way (and, unless `now`, when the last one
    /// is long enough ago); the attempt is then the caller's, ended by ``finish(gone:)``.
    func begin(now: Bool) -> [S3AbandonedUpload]? {
        state.withLock { state in
            guard !state.uploads.isEmpty, !state.isAborting, now || ContinuousClock.now >= state.nextAttempt else { return nil }
            state.isAborting = true
            return state.uploads
        }
    }

    func finish(gone: [S3AbandonedUpload]) {
        state.withLock { state in
            state.uploads.removeAll { gone.contains($0) }
            state.isAborting = false
            state.nextAttempt = .now + .seconds(1)
            count.store(state.uploads.count, ordering: .relaxed)
        }
    }
}

extension S3Client {
    /// The multipart uploads this client gave up and could not abort (their server did not
    /// answer, or still listed them): they are aborted again, in the background, after the next
    /// request that a server answers (at most one attempt a second), and by
    /// ``abortAbandonedUploads()``. Kept in memory only, at most 1,000: uploads that a process
    /// ended before aborting are found with ``incompleteUploads(bucket:prefix:)``.
    public var abandonedUploads: [S3AbandonedUpload] { abandoned.uploads }

    /// Aborts the uploads of ``abandonedUploads`` now, and returns how many are gone (aborted,
    /// or already gone); those whose abort fails stay for a later attempt. Returns 0 at once
    /// when another attempt is under way.
    @discardableResult
    public func abortAbandonedUploads() async -> Int {
        guard let uploads = abandoned.begin(now: true) else { return 0 }
        return await abort(uploads)
    }

    /// Starts an attempt in the background after an answered request, when there is
    /// something to abort and no attempt has been made within the last second.
    func abortAbandonedUploadsLater() {
        guard !abandoned.isEmpty, let uploads = abandoned.begin(now: false) else { return }
        Task { await self.abort(uploads) }
    }

    private func abort(_ uploads: [S3AbandonedUpload]) async -> Int {
        var gone: [S3AbandonedUpload] = []
        for upload in uploads {
            // A 404 (the upload is gone already) counts as aborted.
            if (try? await abortMultipartUpload(bucket: upload.bucket, key: upload.key, uploadID: upload.uploadID)) != nil {
                gone.append(upload)
            }
        }
        abandoned.finish(gone: gone)
        logger.debug("aborted abandoned multipart uploads", metadata: ["aborted": "\(gone.count)", "left": "\(uploads.count - gone.count)"])
        return gone.count
    }
}
