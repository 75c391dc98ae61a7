import Crypto
import Foundation
import Synchronization
import Testing
import Trove
import TroveS3
import TroveS3Client
import TroveTestSupport

/// A SeaweedFS server of the test's own, killed with SIGKILL in the middle of a streamed
/// (multipart) write through S3Store, then started again on the same data.
@Suite("S3Store: a SeaweedFS server killed during a multipart upload", .enabled(if: Weed.isAvailable, Weed.absence))
struct S3ServerKillTests {
    /// 48 MiB in six parts of 8 MiB; the server is killed once three parts are acknowledged
    /// (the source is asked for the chunks of part 4 only after part 3's upload has returned).
    /// The write fails with a retryable `unavailable` naming the key, within the deadline;
    /// after the restart no object and no listing shows the value; the upload that the failed
    /// write could not abort (its server was dead) is kept by the client, which aborts it by
    /// itself once the server answers again; `abortIncompleteUploads(startedBefore:)` removes
    /// uploads that no client kept; a second write succeeds and reads back byte for byte.
    @Test(.timeLimit(.minutes(5)))
    func killedDuringAStreamedWrite() async throws {
        try await withScratchDirectory("trove-s3-kill") { directory in
            try await withOwnSeaweedFS(try OwnSeaweedServer(directory: directory)) { server in
                try await exercise(server)
            }
        }
    }

    private func exercise(_ server: OwnSeaweedServer) async throws {
        let bucket = "trove-kill-" + UUID().uuidString.lowercased().prefix(8)
        try await server.waitUntilWritable(bucket: bucket)
        // The default configuration: a request timeout of 60 s, which the failure must not wait out.
        let store = S3Store(bucket: bucket, prefix: "killed/", client: try server.client(requestTimeout: .seconds(60)))
        let key: StoreKey = "big"
        let partChunks = S3Client.partSize(forExpectedSize: nil) / PatternChunks.chunkSize
        let killedAt = Atomic<Int>(-1)
        let killTime = Mutex<ContinuousClock.Instant?>(nil)
        let doomed = PatternChunks(count: 6 * partChunks, beforeChunk: { index in
            guard index == 3 * partChunks + partChunks / 2 else { return }
            await server.server.kill()
            killTime.withLock { $0 = .now }
            killedAt.store(index, ordering: .releasing)
        })

        // A refused connection is reported under the retry policy, not after the request
        // timeout of each attempt (the part's and the abort's): 45 s is less than one of them.
        let error = try await expectStoreError(.unavailable) {
            _ = try await withinDeadline(.seconds(45), "a streamed write to a killed server") {
                try await store.write(contentsOf: doomed, for: key, options: .default)
            }
        }
        let failedAfter = killTime.withLock { $0 }.map { ContinuousClock.now - $0 }
        #expect(killedAt.load(ordering: .acquiring) == 3 * partChunks + partChunks / 2, "the server was not killed mid-upload")
        #expect(!server.server.isRunning)
        #expect(error.key == key && error.operation == .write)
        #expect(error.isRetryable == true, "\(error)")
        #expect(String(describing: error).contains(server.endpoint.host! + ":" + String(server.endpoint.port!)), "\(error)")
        print("a streamed write to a killed SeaweedFS failed \(failedAfter.map { "\($0)" } ?? "?") after the kill: \(error)")

        // The failed write could not abort its upload: the server was dead. The client keeps it.
        let abandoned = store.client.abandonedUploads
        #expect(abandoned.map(\.key) == [store.prefix + key.rawValue], "\(abandoned)")

        try server.server.start()
        try await server.waitUntilWritable(bucket: bucket)
        #expect(try await store.read(key) == nil, "a partial value is visible after the restart")
        #expect(try await store.metadata(for: key) == nil)
        #expect(try await store.client.listObjectsV2(bucket: bucket, prefix: store.prefix).objects.isEmpty)

        // The server answers again, so the client aborts the upload by itself, in the background.
        var open = try await store.incompleteUploads()
        for _ in 0..<100 where !open.isEmpty || !store.client.abandonedUploads.isEmpty {
            try await Task.sleep(for: .milliseconds(100))
            open = try await store.incompleteUploads()
        }
        #expect(open.isEmpty, "the abandoned upload is still open: \(open)")
        #expect(store.client.abandonedUploads.isEmpty)

        // An upload that no client keeps (its process ended) is found and aborted by its age.
        let stray = try await store.client.createMultipartUpload(bucket: bucket, key: store.prefix + "stray")
        let orphans = try await store.incompleteUploads()
        #expect(orphans.map(\.uploadID) == [stray], "\(orphans)")
        #expect(orphans.allSatisfy { $0.initiated != nil })
        #expect(try await store.abortIncompleteUploads(startedBefore: Date().addingTimeInterval(-3600)) == 0,
                "an upload started within the hour was aborted")
        #expect(try await store.abortIncompleteUploads(startedBefore: Date().addingTimeInterval(1)) == 1)
        #expect(try await store.incompleteUploads().isEmpty)

        let whole = PatternChunks(count: 6 * partChunks)
        let written = try await store.write(contentsOf: whole, for: key, options: .default)
        #expect(written.size == whole.size)
        #expect(written.etag.rawValue.hasSuffix("-6\""), "\(written.etag)")
        let entry = try #require(try await store.readStream(key, chunkSize: 1 << 20))
        let (size, digest) = try await sizeAndDigest(of: entry)
        #expect(size == whole.size)
        #expect(digest == whole.digest, "the value read back after the restart differs from the one written")
        #expect(try await store.incompleteUploads().isEmpty)

        try await store.discard(key)
        try await store.client.deleteBucket(bucket)
    }
}
