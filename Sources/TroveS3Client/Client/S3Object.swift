public import Foundation
import AsyncHTTPClient
import NIOCore

/// What the headers of a GET or HEAD answer say about an object.
public struct S3ObjectHead: Sendable, Hashable {
    /// The size of the whole object, whatever range was read.
    public var size: Int64
    /// The ETag as the server sent it, quotes included (`"9b2cf535f27731c974343645a3985328"`).
    public var etag: String
    /// When the object was last written, to the second.
    public var lastModified: Date?
    /// The content type the object was stored with.
    public var contentType: String?
    /// The user metadata (`x-amz-meta-*` headers), by lower-case name without the prefix.
    public var metadata: [String: String]

    /// A head from its parts.
    public init(size: Int64, etag: String, lastModified: Date?, contentType: String? = nil, metadata: [String: String] = [:]) {
        self.size = size
        self.etag = etag
        self.lastModified = lastModified
        self.contentType = contentType
        self.metadata = metadata
    }
}

/// What a GET found.
public enum S3GetOutcome<Body: Sendable>: Sendable {
    /// The object (or the range asked for, which starts at `offset`), with its head.
    case found(S3ObjectHead, offset: Int64, body: Body)
    /// The object's ETag is the one given as `ifNoneMatch` (304); its head, without a body.
    case notModified(S3ObjectHead)
    /// The range starts at or past the end of the object (416); the object's size when the
    /// server said it.
    case rangeNotSatisfiable(objectSize: Int64?)
}

/// The body of a GET answer as it arrives, in chunks.
///
/// It can be iterated once. An answer whose body is not read to its end holds its connection
/// until it is dropped.
public struct S3Body: AsyncSequence, Sendable {
    public typealias Element = Data
    public typealias Failure = any Error

    let body: HTTPClientResponse.Body
    let operation: String
    let bucket: String?
    let key: String?

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: HTTPClientResponse.Body.AsyncIterator
        let operation: String
        let bucket: String?
        let key: String?

        public mutating func next() async throws -> Data? {
            do {
                guard let buffer = try await base.next() else { return nil }
                return Data(buffer.readableBytesView)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                throw S3Error(kind: S3Error.kind(ofFailure: error), operation: operation, bucket: bucket, key: key,
                              message: "the object's body broke off: \(error)", underlying: error)
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: body.makeAsyncIterator(), operation: operation, bucket: bucket, key: key)
    }
}

/// One entry of a ListObjectsV2 page.
public struct S3ListedObject: Sendable, Hashable {
    /// The object's key.
    public var key: String
    /// Its size in bytes.
    public var size: Int64
    /// Its ETag, quotes included.
    public var etag: String
    /// When it was last written.
    public var lastModified: Date?

    /// A listed object from its parts.
    public init(key: String, size: Int64, etag: String, lastModified: Date?) {
        self.key = key
        self.size = size
        self.etag = etag
        self.lastModified = lastModified
    }
}

/// One page of ListObjectsV2, in the server's order (which is byte order on AWS, MinIO, Ceph and
/// GCS, and directory by directory on SeaweedFS).
public struct S3ListPage: Sendable, Hashable {
    /// The objects of the page.
    public var objects: [S3ListedObject]
    /// The common prefixes (with a delimiter), each ending with it.
    public var commonPrefixes: [String]
    /// The token for the next page, when there is one.
    public var nextContinuationToken: String?
    /// The server's name and version (its `Server` header), such as `SeaweedFS 4.48`.
    public var server: String?

    /// A page from its parts.
    public init(objects: [S3ListedObject], commonPrefixes: [String], nextContinuationToken: String?, server: String? = nil) {
        self.objects = objects
        self.commonPrefixes = commonPrefixes
        self.nextContinuationToken = nextContinuationToken
        self.server = server
    }
}

/// A key's outcome in a DeleteObjects request.
public struct S3DeleteFailure: Sendable, Hashable {
    /// The key that was not deleted.
    public var key: String
    /// S3's error code for it.
    public var code: String
    /// The server's message.
    public var message: String
}

/// What a PUT answered.
public struct S3PutResult: Sendable, Hashable {
    /// The new object's ETag, quotes included.
    public var etag: String
    /// The server's time of the answer (its `Date` header), close to the object's
    /// last-modified time.
    public var date: Date?
}
