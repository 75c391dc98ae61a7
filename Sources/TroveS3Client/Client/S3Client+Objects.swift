public import Foundation
import AsyncHTTPClient
import Crypto
import NIOHTTP1

extension S3Client {
    /// Reads the head of `key` (HEAD).
    ///
    /// - Parameters:
    ///   - bucket: The bucket.
    ///   - key: The object's key.
    /// - Returns: The head, or `nil` when the key (or, as HEAD cannot tell them apart, the
    ///   bucket) does not exist.
    /// - Throws: ``S3Error``.
    public func headObject(bucket: String, key: String) async throws -> S3ObjectHead? {
        let call = Call(operation: "HeadObject", method: .HEAD, bucket: bucket, key: key, passedStatuses: [404])
        let response = try await send(call)
        if response.status.code == 404 { return nil }
        return try Self.head(of: response, call: call)
    }

    /// Reads `key` whole, or the `range` of it (GET).
    ///
    /// - Parameters:
    ///   - bucket: The bucket.
    ///   - key: The object's key.
    ///   - range: An HTTP range such as `bytes=0-99`, `bytes=100-` or `bytes=-10`; `nil` for
    ///     the whole object.
    ///   - ifNoneMatch: An ETag: an object that still has it answers
    ///     ``S3GetOutcome/notModified(_:)`` without its body.
    ///   - ifMatch: An ETag the object must have, else ``S3Error/Kind/preconditionFailed``.
    /// - Returns: The outcome, or `nil` when the key does not exist.
    /// - Throws: ``S3Error`` (``S3Error/Kind/notFound`` naming the bucket when it does not exist).
    public func getObject(bucket: String, key: String, range: String? = nil, ifNoneMatch: String? = nil,
                          ifMatch: String? = nil) async throws -> S3GetOutcome<Data>? {
        let (call, response) = try await startGet(bucket: bucket, key: key, range: range, ifNoneMatch: ifNoneMatch, ifMatch: ifMatch)
        guard let response else { return nil }
        switch response {
        case .found(let head, let offset, let body):
            return .found(head, offset: offset, body: try await Self.collect(body, limit: Int.max, call: call))
        case .notModified(let head): return .notModified(head)
        case .rangeNotSatisfiable(let size): return .rangeNotSatisfiable(objectSize: size)
        }
    }

    /// Opens `key` (or its `range`) for reading as its body arrives (GET); see
    /// ``getObject(bucket:key:range:ifNoneMatch:ifMatch:)`` for the parameters.
    ///
    /// - Returns: The outcome, whose body streams in chunks as the network delivers them, or
    ///   `nil` when the key does not exist.
    public func getObjectStream(bucket: String, key: String, range: String? = nil, ifNoneMatch: String? = nil,
                                ifMatch: String? = nil) async throws -> S3GetOutcome<S3Body>? {
        let (call, response) = try await startGet(bucket: bucket, key: key, range: range, ifNoneMatch: ifNoneMatch, ifMatch: ifMatch)
        guard let response else { return nil }
        switch response {
        case .found(let head, let offset, let body):
            return .found(head, offset: offset, body: S3Body(body: body.body, operation: call.operation, bucket: bucket, key: key))
        case .notModified(let head): return .notModified(head)
        case .rangeNotSatisfiable(let size): return .rangeNotSatisfiable(objectSize: size)
        }
    }

    private func startGet(bucket: String, key: String, range: String?, ifNoneMatch: String?,
                          ifMatch: String?) async throws -> (Call, S3GetOutcome<HTTPClientResponse>?) {
        var call = Call(operation: "GetObject", method: .GET, bucket: bucket, key: key, passedStatuses: [304, 404, 416])
        if let range { call.headers.append(.init("Range", range)) }
        if let ifNoneMatch { call.headers.append(.init("If-None-Match", ifNoneMatch)) }
        if let ifMatch { call.headers.append(.init("If-Match", ifMatch)) }
        let response = try await send(call)
        switch response.status.code {
        case 404:
            let error = await Self.error(from: response, call: call)
            if error.code == "NoSuchBucket" { throw error }
            return (call, nil)
        case 304:
            return (call, .notModified(try Self.head(of: response, call: call)))
        case 416:
            _ = try? await response.body.collect(upTo: 1 << 20)
            let total = response.headers.first(name: "Content-Range").flatMap { $0.split(separator: "/").last }.flatMap { Int64($0) }
            return (call, .rangeNotSatisfiable(objectSize: total))
        default:
            var head = try Self.head(of: response, call: call)
            var offset: Int64 = 0
            if response.status.code == 206, let contentRange = response.headers.first(name: "Content-Range") {
                // bytes FIRST-LAST/TOTAL
                let parts = contentRange.dropFirst("bytes ".count).split(separator: "/")
                if parts.count == 2, let total = Int64(parts[1]), let first = parts[0].split(separator: "-").first.flatMap({ Int64($0) }) {
                    head.size = total
                    offset = first
                }
            }
            return (call, .found(head, offset: offset, body: response))
        }
    }

    /// Writes `body` under `key` in one request (PUT).
    ///
    /// A conditional PUT is repeated only after an answer saying it was not applied (503,
    /// 429); an unconditional one after any retryable failure (see ``S3RetryPolicy``).
    ///
    /// - Parameters:
    ///   - bucket: The bucket.
    ///   - key: The object's key.
    ///   - body: The object's bytes, exactly.
    ///   - ifNoneMatch: `*` to write only if the key does not exist.
    ///   - ifMatch: An ETag the current object must have.
    ///   - contentType: The content type to store. Defaults to `application/octet-stream`.
    ///   - metadata: User metadata, sent as `x-amz-meta-NAME` headers.
    /// - Returns: The new ETag, and the server's date.
    /// - Throws: ``S3Error`` (``S3Error/Kind/preconditionFailed`` when a condition fails).
    public func putObject(bucket: String, key: String, body: Data, ifNoneMatch: String? = nil, ifMatch: String? = nil,
                          contentType: String = "application/octet-stream", metadata: [String: String] = [:]) async throws -> S3PutResult {
        var call = Call(operation: "PutObject", method: .PUT, bucket: bucket, key: key, body: body)
        call.headers.append(.init("Content-Type", contentType))
        if let ifNoneMatch { call.headers.append(.init("If-None-Match", ifNoneMatch)) }
        if let ifMatch { call.headers.append(.init("If-Match", ifMatch)) }
        for (name, value) in metadata.sorted(by: { $0.key < $1.key }) { call.headers.append(.init("x-amz-meta-" + name, value)) }
        if ifNoneMatch != nil || ifMatch != nil { call.repetition = .onlyIfRejected }
        let response = try await send(call)
        _ = try? await response.body.collect(upTo: 1 << 20)
        guard let etag = response.headers.first(name: "ETag") else {
            throw S3Error(kind: .invalidResponse, operation: call.operation, bucket: bucket, key: key,
                          status: Int(response.status.code), message: "the answer to a PUT has no ETag")
        }
        return S3PutResult(etag: etag, date: response.headers.first(name: "Date").flatMap(S3Dates.parseHTTPDate))
    }

    /// Deletes `key` (DELETE). Deleting a missing key succeeds: S3 cannot tell.
    ///
    /// - Parameters:
    ///   - bucket: The bucket.
    ///   - key: The object's key.
    ///   - ifMatch: An ETag the object must have, on servers that honour a conditional
    ///     delete (AWS since 2024); others may ignore it.
    /// - Throws: ``S3Error``.
    public func deleteObject(bucket: String, key: String, ifMatch: String? = nil) async throws {
        var call = Call(operation: "DeleteObject", method: .DELETE, bucket: bucket, key: key)
        if let ifMatch {
            call.headers.append(.init("If-Match", ifMatch))
            call.repetition = .onlyIfRejected
        }
        let response = try await send(call)
        _ = try? await response.body.collect(upTo: 1 << 20)
    }

    /// Deletes `keys` with DeleteObjects, 1,000 keys per request.
    ///
    /// - Parameters:
    ///   - bucket: The bucket.
    ///   - keys: The keys to delete, any number.
    /// - Returns: The keys that were not deleted, with the server's reason; a missing key counts
    ///   as deleted.
    /// - Throws: ``S3Error`` when a request fails as a whole.
    public func deleteObjects(bucket: String, keys: [String]) async throws -> [S3DeleteFailure] {
        var failures: [S3DeleteFailure] = []
        var start = 0
        while start < keys.count {
            let batch = keys[start..<min(start + 1000, keys.count)]
            start += batch.count
            var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>"
            for key in batch { xml += "<Object><Key>" + S3XMLElement.escape(key) + "</Key></Object>" }
            xml += "</Delete>"
            let body = Data(xml.utf8)
            var call = Call(operation: "DeleteObjects", method: .POST, bucket: bucket, key: nil,
                            query: [.init("delete", "")], body: body)
            call.headers.append(.init("Content-Type", "application/xml"))
            call.headers.append(.init("Content-MD5", Data(Insecure.MD5.hash(data: body)).base64EncodedString()))
            let response = try await send(call)
            let data = try await Self.collect(response, limit: 16 << 20, call: call)
            let root = try Self.parseXML(data, root: "DeleteResult", call: call)
            for error in root.children("Error") {
                failures.append(S3DeleteFailure(key: error.text(of: "Key") ?? "", code: error.text(of: "Code") ?? "",
                                                message: error.text(of: "Message") ?? ""))
            }
        }
        return failures
    }

    /// Lists one page of objects (ListObjectsV2).
    ///
    /// - Parameters:
    ///   - bucket: The bucket.
    ///   - prefix: Only keys that start with it. Defaults to `""`, every key.
    ///   - delimiter: Groups keys that hold it after the prefix into common prefixes.
    ///   - startAfter: Only keys after it (in the server's order).
    ///   - continuationToken: The previous page's ``S3ListPage/nextContinuationToken``.
    ///   - maxKeys: At most this many objects and prefixes, up to 1,000 (the server's cap).
    ///     Defaults to 1,000.
    /// - Returns: The page, in the server's order (byte order on AWS, MinIO and Ceph, not on
    ///   SeaweedFS), with the `Server` header that says which server answered.
    /// - Throws: ``S3Error`` (``S3Error/Kind/notFound`` for a missing bucket).
    public func listObjectsV2(bucket: String, prefix: String = "", delimiter: String? = nil, startAfter: String? = nil,
                              continuationToken: String? = nil, maxKeys: Int = 1000) async throws -> S3ListPage {
        var query: [SigV4Request.Parameter] = [.init("list-type", "2"), .init("max-keys", String(max(1, min(maxKeys, 1000))))]
        if !prefix.isEmpty { query.append(.init("prefix", prefix)) }
        if let delimiter { query.append(.init("delimiter", delimiter)) }
        if let startAfter, !startAfter.isEmpty { query.append(.init("start-after", startAfter)) }
        if let continuationToken { query.append(.init("continuation-token", continuationToken)) }
        let call = Call(operation: "ListObjectsV2", method: .GET, bucket: bucket, key: nil, query: query)
        let response = try await send(call)
        let data = try await Self.collect(response, limit: 64 << 20, call: call)
        let root = try Self.parseXML(data, root: "ListBucketResult", call: call)
        let objects = root.children("Contents").map { element in
            S3ListedObject(key: element.text(of: "Key") ?? "", size: Int64(element.text(of: "Size") ?? "") ?? 0,
                           etag: element.text(of: "ETag") ?? "",
                           lastModified: element.text(of: "LastModified").flatMap(S3Dates.parseISO8601))
        }
        let prefixes = root.children("CommonPrefixes").compactMap { $0.text(of: "Prefix") }
        let truncated = root.text(of: "IsTruncated") == "true"
        let token = truncated ? root.text(of: "NextContinuationToken").flatMap { $0.isEmpty ? nil : $0 } : nil
        if truncated && token == nil {
            throw S3Error(kind: .invalidResponse, operation: call.operation, bucket: bucket,
                          message: "a truncated listing came without a continuation token")
        }
        return S3ListPage(objects: objects, commonPrefixes: prefixes, nextContinuationToken: token,
                          server: response.headers.first(name: "Server"))
    }

    /// The head of an object from the headers of `response`.
    static func head(of response: HTTPClientResponse, call: Call) throws -> S3ObjectHead {
        let headers = response.headers
        guard let etag = headers.first(name: "ETag") else {
            throw S3Error(kind: .invalidResponse, operation: call.operation, bucket: call.bucket, key: call.key,
                          status: Int(response.status.code), message: "the answer has no ETag")
        }
        var metadata: [String: String] = [:]
        for (name, value) in headers {
            let lower = name.lowercased()
            if lower.hasPrefix("x-amz-meta-") { metadata[String(lower.dropFirst("x-amz-meta-".count))] = value }
        }
        return S3ObjectHead(size: headers.first(name: "Content-Length").flatMap { Int64($0) } ?? 0, etag: etag,
                            lastModified: headers.first(name: "Last-Modified").flatMap(S3Dates.parseHTTPDate),
                            contentType: headers.first(name: "Content-Type"), metadata: metadata)
    }
}
