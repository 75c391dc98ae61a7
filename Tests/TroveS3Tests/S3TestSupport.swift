import Foundation
import Testing
import Trove
import TroveS3
import TroveS3Client
import TroveTestSupport

/// The server of this run, from the variables of scripts/servers/s3.sh.
enum S3TestServer {
    static func variable(_ name: String) throws -> String {
        try TestServer(name: "s3", variable: name).require()
    }

    static func credentials() throws -> S3Credentials {
        S3Credentials(accessKeyID: try variable("TROVE_TEST_S3_ACCESS_KEY"), secretAccessKey: try variable("TROVE_TEST_S3_SECRET_KEY"))
    }

    static func configuration(credentials: S3Credentials? = nil, retry: S3RetryPolicy = .default) throws -> S3ClientConfiguration {
        try S3ClientConfiguration(endpoint: URL(string: try TestServer.s3.require())!,
                                  region: ProcessInfo.processInfo.environment["TROVE_TEST_S3_REGION"] ?? "us-east-1",
                                  credentials: try credentials ?? self.credentials(), retry: retry)
    }

    static func client() throws -> S3Client { S3Client(configuration: try configuration()) }

    /// Deletes every object of `bucket`, then the bucket.
    static func deleteBucket(_ bucket: String, client: S3Client) async throws {
        while true {
            let page = try await client.listObjectsV2(bucket: bucket)
            if page.objects.isEmpty { break }
            _ = try await client.deleteObjects(bucket: bucket, keys: page.objects.map(\.key))
        }
        try await client.deleteBucket(bucket)
    }
}

/// A bucket made for one suite (its name in ``S3TestBucket/current`` while the suite runs) and
/// deleted, with everything in it, when the suite ends.
struct S3TestBucket: SuiteTrait, TestScoping {
    @TaskLocal static var current: String?

    static func name() throws -> String {
        guard let current else { throw MissingBucket() }
        return current
    }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        guard TestServer.s3.isAvailable else { return try await function() }
        let client = try S3TestServer.client()
        let bucket = "trove-test-" + UUID().uuidString.lowercased().prefix(13).replacingOccurrences(of: "-", with: "")
        try await client.createBucket(bucket)
        do {
            try await S3TestBucket.$current.withValue(bucket) { try await function() }
        } catch {
            try? await S3TestServer.deleteBucket(bucket, client: client)
            throw error
        }
        try await S3TestServer.deleteBucket(bucket, client: client)
    }
}

struct MissingBucket: Error, CustomStringConvertible {
    var description: String { "no bucket: the suite needs the .freshBucket trait" }
}

extension Trait where Self == S3TestBucket {
    /// A fresh bucket for the suite, deleted afterwards.
    static var freshBucket: S3TestBucket { S3TestBucket() }
}
