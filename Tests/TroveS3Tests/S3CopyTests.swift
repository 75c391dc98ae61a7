import Foundation
import Testing
import Trove
import TroveS3
import TroveS3Client
import TroveTestSupport

/// Server-side copies on SeaweedFS: keys with reserved and non-ASCII characters, across
/// buckets, in parts (UploadPartCopy), conditions, a missing source, and the store's methods.
@Suite("S3 server-side copies", .enabled(if: TestServer.s3.isAvailable, TestServer.s3.absence), .freshBucket)
struct S3CopyTests {
    let client: S3Client
    let bucket: String
    let prefix = UUID().uuidString.lowercased() + "/"

    init() throws {
        client = try S3TestServer.client()
        bucket = try S3TestBucket.name()
    }

    /// `count` bytes in which each 4 KiB block holds its own index, so that a misplaced range
    /// shows.
    static func pattern(_ count: Int) -> Data {
        var data = Data(capacity: count)
        var block: UInt32 = 0
        while data.count < count {
            var piece = Data(repeating: UInt8(truncatingIfNeeded: block &* 31), count: 4096)
            withUnsafeBytes(of: block.bigEndian) { piece.replaceSubrange(0..<4, with: $0) }
            data.append(piece.prefix(count - data.count))
            block += 1
        }
        return data
    }

    func body(_ key: String, in bucket: String? = nil) async throws -> Data? {
        guard case .found(_, _, let body)? = try await client.getObject(bucket: bucket ?? self.bucket, key: key) else { return nil }
        return body
    }

    @Test(arguments: ["plain", "a b+c%20d?e=f&g#h;i,j:k@l$m!n'o(p)q*r", "ሴ/ü/日本語 ключ.txt", "deep/er/than/one/~tilde", "trailing space "])
    func aKeyWithReservedOrNonASCIICharactersCopiesItsOwnObject(_ name: String) async throws {
        let source = prefix + "src/" + name, target = prefix + "dst/" + name
        let value = Data("value of \(name)".utf8)
        // A decoy where a wrongly decoded source (`+` as a space, `%20` decoded twice) would land.
        _ = try await client.putObject(bucket: bucket, key: prefix + "src/" + name.replacingOccurrences(of: "+", with: " "),
                                       body: Data("decoy".utf8))
        _ = try await client.putObject(bucket: bucket, key: source, body: value, contentType: "text/plain; charset=utf-8",
                                       metadata: ["colour": "blue"])
        let result = try await client.copyObject(fromBucket: bucket, key: source, toBucket: bucket, key: target)
        #expect(result.partCount == nil)
        #expect(result.size == Int64(value.count))
        #expect(try await body(target) == value)
        let head = try #require(try await client.headObject(bucket: bucket, key: target))
        #expect(head.etag == result.etag)
        #expect(head.metadata["colour"] == "blue")
        #expect(head.contentType == "text/plain; charset=utf-8")
    }

    @Test func aCopyAcrossBucketsAndWithNewMetadata() async throws {
        let other = "trove-copy-" + UUID().uuidString.lowercased().prefix(8)
        try await client.createBucket(other)
        do {
            let value = Self.pattern(100_000)
            _ = try await client.putObject(bucket: bucket, key: prefix + "across", body: value, metadata: ["old": "1"])
            let result = try await client.copyObject(fromBucket: bucket, key: prefix + "across", toBucket: other, key: "copied/here",
                                                     metadata: .replace(contentType: "image/png", metadata: ["new": "2"]))
            #expect(try await body("copied/here", in: other) == value)
            let head = try #require(try await client.headObject(bucket: other, key: "copied/here"))
            #expect(head.etag == result.etag)
            #expect(head.contentType == "image/png")
            #expect(head.metadata == ["new": "2"])
            // The source is untouched.
            #expect(try await body(prefix + "across") == value)
        } catch {
            try? await S3TestServer.deleteBucket(other, client: client)
            throw error
        }
        try await S3TestServer.deleteBucket(other, client: client)
    }

    @Test func aSourceOverTheThresholdIsCopiedInParts() async throws {
        let value = Self.pattern(12 << 20 + 12_345)
        _ = try await client.putObject(bucket: bucket, key: prefix + "big source", body: value, contentType: "video/mp4",
                                       metadata: ["kept": "yes"])
        let result = try await client.copyObject(fromBucket: bucket, key: prefix + "big source", toBucket: bucket,
                                                 key: prefix + "big copy ሴ", multipartThreshold: 5 << 20, partSize: 5 << 20,
                                                 concurrentParts: 2)
        #expect(result.partCount == 3, "12 MiB and a bit in parts of 5 MiB")
        #expect(result.etag.hasSuffix("-3\""), "\(result.etag)")
        #expect(result.size == Int64(value.count))
        #expect(try await body(prefix + "big copy ሴ") == value)
        let head = try #require(try await client.headObject(bucket: bucket, key: prefix + "big copy ሴ"))
        #expect(head.contentType == "video/mp4")
        #expect(head.metadata["kept"] == "yes")
        #expect(try await client.listMultipartUploads(bucket: bucket, prefix: prefix).isEmpty)
    }

    @Test func aMissingSourceIsATypedNotFoundThatNamesIt() async throws {
        for threshold in [S3Client.maximumCopySize, 0] {
            let error = await #expect(throws: S3Error.self) {
                _ = try await client.copyObject(fromBucket: bucket, key: prefix + "no such source", toBucket: bucket,
                                                key: prefix + "never written", multipartThreshold: threshold)
            }
            #expect(error?.kind == .notFound)
            #expect(error?.key == prefix + "no such source" && error?.bucket == bucket)
            #expect(error?.description.contains("no such source") == true)
            #expect(try await client.headObject(bucket: bucket, key: prefix + "never written") == nil)
        }
        // A missing source bucket too.
        let error = await #expect(throws: S3Error.self) {
            _ = try await client.copyObject(fromBucket: "trove-no-such-bucket", key: "k", toBucket: bucket, key: prefix + "never written")
        }
        #expect(error?.kind == .notFound)
    }

    @Test func conditionsOnTheSourceAndTheDestination() async throws {
        let source = prefix + "conditional source"
        let written = try await client.putObject(bucket: bucket, key: source, body: Self.pattern(6 << 20))
        // The source's ETag, right and wrong, in one request and in parts.
        _ = try await client.copyObject(fromBucket: bucket, key: source, toBucket: bucket, key: prefix + "c1", sourceIfMatch: written.etag)
        for threshold in [S3Client.maximumCopySize, 0] {
            let stale = await #expect(throws: S3Error.self) {
                _ = try await client.copyObject(fromBucket: bucket, key: source, toBucket: bucket, key: prefix + "c2",
                                                sourceIfMatch: "\"0123456789abcdef0123456789abcdef\"", multipartThreshold: threshold)
            }
            #expect(stale?.kind == .preconditionFailed)
            #expect(try await client.headObject(bucket: bucket, key: prefix + "c2") == nil)
        }
        // The destination must be absent.
        let exists = await #expect(throws: S3Error.self) {
            _ = try await client.copyObject(fromBucket: bucket, key: source, toBucket: bucket, key: prefix + "c1", ifNoneMatch: "*")
        }
        #expect(exists?.kind == .preconditionFailed)
        _ = try await client.copyObject(fromBucket: bucket, key: source, toBucket: bucket, key: prefix + "c3", ifNoneMatch: "*")
        #expect(try await client.headObject(bucket: bucket, key: prefix + "c3") != nil)
        #expect(try await client.listMultipartUploads(bucket: bucket, prefix: prefix).isEmpty)
    }

    @Test func theStoreCopiesOnTheServer() async throws {
        let store = S3Store(bucket: bucket, prefix: prefix + "store/", client: client)
        let archive = S3Store(bucket: bucket, prefix: prefix + "archive/", client: client)
        try await store.set(Data("cat".utf8), for: "2026/cat.jpg")
        try await store.set(Data("dog".utf8), for: "2026/dog.jpg")
        try await store.set(Data("other".utf8), for: "2025/old.jpg")
        let copied = try #require(try await store.copyValue("2026/cat.jpg", to: "cat.jpg", in: archive))
        #expect(copied.size == 3)
        #expect(try await archive.read("cat.jpg")?.value == Data("cat".utf8))
        #expect(try await archive.metadata(for: "cat.jpg")?.etag == copied.etag)
        #expect(try await store.copyValue("2026/none.jpg", in: archive) == nil)
        #expect(try await archive.read("2026/none.jpg") == nil)
        let refused = await #expect(throws: StoreError.self) {
            try await store.copyValue("2026/dog.jpg", to: "cat.jpg", in: archive, condition: .ifAbsent)
        }
        #expect(refused?.code == .conditionFailed)
        #expect(try await archive.read("cat.jpg")?.value == Data("cat".utf8))

        try await archive.set(Data("kept".utf8), for: "2026/dog.jpg")
        let report = try await store.copyOnServer(to: archive, withPrefix: "2026/", replacing: false)
        #expect(report.copied == 1 && report.skipped == 1 && report.bytes == 3)
        #expect(try await archive.read("2026/cat.jpg")?.value == Data("cat".utf8))
        #expect(try await archive.read("2026/dog.jpg")?.value == Data("kept".utf8))
        #expect(try await archive.read("2025/old.jpg") == nil)

        let elsewhere = S3Store(bucket: bucket, client: S3Client(configuration: try S3ClientConfiguration(
            endpoint: URL(string: "http://127.0.0.1:1")!, credentials: try S3TestServer.credentials())))
        let error = await #expect(throws: StoreError.self) { try await store.copyValue("2026/cat.jpg", in: elsewhere) }
        #expect(error?.code == .notSupported)
    }
}
