import Foundation
import Testing
import Trove
import TroveS3
import TroveS3Client
import TroveTestSupport

/// Streamed writes through multipart uploads on SeaweedFS: the bytes whole, and nothing left
/// behind (no object, no open upload) when the source fails or lies about its length.
@Suite("S3Store multipart uploads", .enabled(if: TestServer.s3.isAvailable, TestServer.s3.absence), .freshBucket)
struct S3MultipartTests {
    /// `count` chunks of 1 MiB, each filled with its index; throws instead of chunk `failingAt`.
    struct Chunks: AsyncSequence, Sendable {
        typealias Element = Data
        let count: Int
        var failingAt: Int?
        typealias Failure = any Error
        struct AsyncIterator: AsyncIteratorProtocol {
            let count: Int
            let failingAt: Int?
            var index = 0
            mutating func next() async throws -> Data? {
                guard index < count else { return nil }
                defer { index += 1 }
                if index == failingAt { throw SourceFailure() }
                return Data(repeating: UInt8(index & 0xFF), count: 1 << 20)
            }
        }
        func makeAsyncIterator() -> AsyncIterator { AsyncIterator(count: count, failingAt: failingAt) }
        var whole: Data { (0..<count).reduce(into: Data()) { $0.append(Data(repeating: UInt8($1 & 0xFF), count: 1 << 20)) } }
    }

    func store() throws -> S3Store {
        S3Store(bucket: try S3TestBucket.name(), prefix: UUID().uuidString.lowercased() + "/", client: try S3TestServer.client())
    }

    @Test func aStreamedValueOfThreePartsReadsBackWhole() async throws {
        let store = try store()
        let chunks = Chunks(count: 20)
        let metadata = try await store.write(contentsOf: chunks, for: "big", options: .default)
        #expect(metadata.size == 20 << 20)
        #expect(metadata.etag.rawValue.hasSuffix("-3\""), "\(metadata.etag): 20 MiB in 8 MiB parts is 3 parts")
        let read = try #require(try await store.read("big"))
        #expect(read.value == chunks.whole)
        #expect(read.metadata.etag == metadata.etag)
        #expect(try await store.client.listMultipartUploads(bucket: store.bucket, prefix: store.prefix).isEmpty)
    }

    @Test func aSourceThatFailsLeavesNoObjectAndNoUpload() async throws {
        let store = try store()
        await #expect(throws: SourceFailure.self) {
            _ = try await store.write(contentsOf: Chunks(count: 20, failingAt: 13), for: "broken", options: .default)
        }
        #expect(try await store.read("broken") == nil)
        #expect(try await store.client.listMultipartUploads(bucket: store.bucket, prefix: store.prefix).isEmpty)
    }

    @Test func aWrongExpectedSizeWritesNothing() async throws {
        let store = try store()
        let error = await #expect(throws: StoreError.self) {
            _ = try await store.write(contentsOf: Chunks(count: 18), for: "short", options: WriteOptions(expectedSize: 17 << 20))
        }
        #expect(error?.code == .invalidArgument)
        #expect(try await store.read("short") == nil)
        #expect(try await store.client.listMultipartUploads(bucket: store.bucket, prefix: store.prefix).isEmpty)
    }
}

/// What a failing source of chunks throws.
struct SourceFailure: Error {}
