import Foundation
import Testing
import Trove
import TroveS3
import TroveS3Client
import TroveTestSupport
import Synchronization

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

/// Parallel parts: order and ETags right whatever order the parts end in, memory bounded to
/// about one part more than are in flight, and an upload cancelled in its middle aborted.
@Suite("S3 parallel multipart uploads", .enabled(if: TestServer.s3.isAvailable, TestServer.s3.absence), .freshBucket)
struct S3ParallelPartsTests {
    let client: S3Client
    let bucket: String
    let prefix = UUID().uuidString.lowercased() + "/"

    init() throws {
        client = try S3TestServer.client()
        bucket = try S3TestBucket.name()
    }

    /// What the parts did, and how far the source was read, as the upload went.
    final class Ledger: Sendable {
        struct State {
            var produced = 0
            var completedBytes = 0
            var inFlight = 0
            var maximumInFlight = 0
            var maximumAhead = 0
            var started: [Int] = []
            var completed: [Int] = []
        }
        let state = Mutex(State())

        func produced(_ bytes: Int) {
            state.withLock {
                $0.produced += bytes
                $0.maximumAhead = max($0.maximumAhead, $0.produced - $0.completedBytes)
            }
        }

        func record(_ event: S3PartEvent) {
            state.withLock {
                switch event.phase {
                case .started:
                    $0.started.append(event.partNumber)
                    $0.inFlight += 1
                    $0.maximumInFlight = max($0.maximumInFlight, $0.inFlight)
                case .completed:
                    $0.completed.append(event.partNumber)
                    $0.completedBytes += event.size
                    $0.inFlight -= 1
                case .failed:
                    $0.inFlight -= 1
                }
            }
        }
    }

    /// `megabytes` chunks of 1 MiB, chunk `i` filled with `i`, counted in `ledger`; after
    /// `pauseAfter` chunks, it waits until its task is cancelled.
    func source(_ megabytes: Int, ledger: Ledger, pauseAfter: Int? = nil) -> ValueChunks {
        ValueChunks {
            var index = 0
            return ValueChunks.ChunkSource {
                guard index < megabytes else { return nil }
                if let pauseAfter, index == pauseAfter { try await Task.sleep(for: .seconds(600)) }
                defer { index += 1 }
                ledger.produced(1 << 20)
                return Data(repeating: UInt8(index & 0xFF), count: 1 << 20)
            }
        }
    }

    static func whole(_ megabytes: Int) -> Data {
        (0..<megabytes).reduce(into: Data()) { $0.append(Data(repeating: UInt8($1 & 0xFF), count: 1 << 20)) }
    }

    @Test func partsGoInParallelInOrderAndWithinTheMemoryBound() async throws {
        let ledger = Ledger()
        let partSize = 5 << 20
        let result = try await client.putObject(bucket: bucket, key: prefix + "parallel", chunks: source(42, ledger: ledger),
                                                partSize: partSize, concurrentParts: 4, onPart: ledger.record)
        #expect(result.etag.hasSuffix("-9\""), "42 MiB in 5 MiB parts is 9 parts: \(result.etag)")
        guard case .found(_, _, let body)? = try await client.getObject(bucket: bucket, key: prefix + "parallel") else {
            Issue.record("the object is missing")
            return
        }
        #expect(body == Self.whole(42), "the parts were joined out of order")
        let state = ledger.state.withLock { $0 }
        #expect(state.started == Array(1...9), "parts start in the order of the bytes")
        #expect(Set(state.completed) == Set(1...9))
        #expect(state.maximumInFlight <= 4)
        #expect(state.maximumInFlight >= 2, "the parts went one at a time")
        // In flight: at most 4 parts; held: the one being filled (and the 1 MiB chunk that overflows it).
        #expect(state.maximumAhead <= 5 * partSize + (1 << 20), "read \(state.maximumAhead) bytes ahead of the stored parts")
        #expect(try await client.listMultipartUploads(bucket: bucket, prefix: prefix).isEmpty)
    }

    @Test func oneAtATimeStillWorks() async throws {
        let ledger = Ledger()
        let result = try await client.putObject(bucket: bucket, key: prefix + "serial", chunks: source(11, ledger: ledger),
                                                partSize: 5 << 20, concurrentParts: 1, onPart: ledger.record)
        #expect(result.etag.hasSuffix("-3\""))
        #expect(ledger.state.withLock { $0.maximumInFlight } == 1)
        #expect(ledger.state.withLock { $0.maximumAhead } <= 2 * (5 << 20) + (1 << 20))
    }

    @Test func anUploadCancelledInItsMiddleLeavesNoUploadAndNoObject() async throws {
        let ledger = Ledger()
        let key = prefix + "cancelled"
        let upload = Task {
            try await client.putObject(bucket: bucket, key: key, chunks: source(60, ledger: ledger, pauseAfter: 23),
                                       partSize: 5 << 20, concurrentParts: 3, onPart: ledger.record)
        }
        // Wait until the source has given 23 MiB and some parts are stored, with the upload open.
        let deadline = ContinuousClock.now + .seconds(120)
        while ledger.state.withLock({ $0.produced < 23 << 20 || $0.completed.count < 2 }), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        let open = try await client.listMultipartUploads(bucket: bucket, prefix: key)
        #expect(open.count == 1, "the upload is under way")
        upload.cancel()
        let outcome = await upload.result
        #expect(throws: CancellationError.self) { try outcome.get() }
        #expect(try await client.listMultipartUploads(bucket: bucket, prefix: prefix).isEmpty, "an upload was left behind")
        #expect(try await client.headObject(bucket: bucket, key: key) == nil)
        #expect(ledger.state.withLock { $0.inFlight } == 0, "a part was still in flight after the call returned")
    }

    @Test func aStoreWithMorePartsInFlightWritesTheSameBytes() async throws {
        let store = S3Store(bucket: bucket, prefix: prefix + "store/", client: client, options: S3Store.Options(concurrentParts: 6))
        let ledger = Ledger()
        let metadata = try await store.write(contentsOf: source(30, ledger: ledger), for: "big", options: WriteOptions(expectedSize: 30 << 20))
        #expect(metadata.size == 30 << 20)
        #expect(try await store.read("big")?.value == Self.whole(30))
        #expect(try await client.listMultipartUploads(bucket: bucket, prefix: prefix).isEmpty)
    }
}

/// What a failing source of chunks throws.
struct SourceFailure: Error {}
