public import Foundation
import AsyncHTTPClient
import NIOHTTP1

extension S3Client {
    /// Creates `bucket` (PUT on the bucket), in the configured region.
    ///
    /// - Throws: ``S3Error`` (code `BucketAlreadyOwnedByYou` or `BucketAlreadyExists` when it
    ///   exists).
    public func createBucket(_ bucket: String) async throws {
        var call = Call(operation: "CreateBucket", method: .PUT, bucket: bucket, key: nil)
        if configuration.region != "us-east-1" {
            let xml = "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>"
                + S3XMLElement.escape(configuration.region) + "</LocationConstraint></CreateBucketConfiguration>"
            call.body = Data(xml.utf8)
        }
        let response = try await send(call)
        _ = try? await response.body.collect(upTo: 1 << 20)
    }

    /// Deletes `bucket`, which must be empty.
    ///
    /// - Throws: ``S3Error`` (code `BucketNotEmpty` when it holds objects, `NoSuchBucket`).
    public func deleteBucket(_ bucket: String) async throws {
        let call = Call(operation: "DeleteBucket", method: .DELETE, bucket: bucket, key: nil)
        let response = try await send(call)
        _ = try? await response.body.collect(upTo: 1 << 20)
    }

    /// Whether `bucket` exists and these credentials may use it (HEAD on the bucket).
    ///
    /// - Throws: ``S3Error`` for a failure other than a missing bucket (wrong credentials,
    ///   no answer).
    public func bucketExists(_ bucket: String) async throws -> Bool {
        let call = Call(operation: "HeadBucket", method: .HEAD, bucket: bucket, key: nil, passedStatuses: [404])
        let response = try await send(call)
        return response.status.code != 404
    }

    /// A presigned URL for `method` (GET or PUT, say) on `key`, valid for `lifetime`: whoever
    /// holds it may send that request without credentials until it expires.
    ///
    /// The URL is made here, with no request to the server, from the configuration's endpoint
    /// and addressing (never ``S3ClientConfiguration/connectionAddress``). It is signed with
    /// `UNSIGNED-PAYLOAD`, so whoever uses it chooses the body.
    ///
    /// - Parameters:
    ///   - method: The HTTP method the URL allows, such as `GET` or `PUT`. Defaults to `GET`.
    ///   - bucket: The bucket.
    ///   - key: The object's key.
    ///   - lifetime: How long the URL is valid, 1 second to 7 days (S3's limits; clamped).
    ///   - headers: Headers the user of the URL must send as they are (signed with it).
    ///     Defaults to none.
    ///   - date: When the validity starts. Defaults to now.
    /// - Returns: The URL, its query holding the signature; treat it as a secret until it expires.
    public func presignedURL(method: String = "GET", bucket: String, key: String, lifetime: Duration,
                             headers: [SigV4Request.Parameter] = [], date: Date = Date()) -> URL {
        let (host, path) = location(bucket: bucket, key: key)
        let seconds = Int(lifetime.components.seconds) + (lifetime.components.attoseconds > 0 ? 1 : 0)
        let signed = signer.presign(SigV4Request(method: method, host: host, path: path, headers: headers),
                                    expires: seconds, date: date)
        return URL(string: configuration.scheme + "://" + host + signed.pathAndQuery)!
    }
}
