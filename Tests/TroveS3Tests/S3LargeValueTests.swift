import Crypto
import Foundation
import Synchronization
import Testing
import Trove
import TroveS3
import TroveS3Client
import TroveTestSupport

/// Large values streamed through S3Store on the SeaweedFS of scripts/servers/s3.sh: written
/// with `write(contentsOf:)` (a multipart upload of 8 MiB parts) and read with `readStream`,
/// each side digested with SHA-256 as the bytes pass, and the process's peak resident memory
/// measured around the round trip, which must stay flat: far below the value's size.
///
/// 64 MiB in every run; 1 GiB with `TROVE_S3_LARGE=1` (beside the other suites it takes minutes
/// on a debug build). The peak is the whole test process's, and the suites running beside this
/// one add to it, hence a generous bound (400 MiB of growth), which only the 1 GiB value makes
/// telling; run that one alone for the figure:
/// `TROVE_S3_LARGE=1 TROVE_SERVERS=s3 scripts/test --filter S3LargeValueTests`.
/// Timings are printed, never asserted.
@Suite("S3Store: large values streamed on SeaweedFS", .enabled(if: TestServer.s3.isAvailable, TestServer.s3.absence), .freshBucket,
       .serialized)
struct S3LargeValueTests {
    static var largeRun: Bool { ProcessInfo.processInfo.environment["TROVE_S3_LARGE"] == "1" }

    @Test(.timeLimit(.minutes(5)))
    func sixtyFourMebibytesRoundTrip() async throws {
        try await roundTrip(mebibytes: 64, maximumGrowth: 400 << 20)
    }

    @Test(.enabled(if: largeRun, "the 1 GiB round trip runs with TROVE_S3_LARGE=1"), .timeLimit(.minutes(30)))
    func oneGibibyteRoundTrip() async throws {
        try await roundTrip(mebibytes: 1024, maximumGrowth: 400 << 20)
    }

    private func roundTrip(mebibytes: Int, maximumGrowth: Int64) async throws {
        let store = S3Store(bucket: try S3TestBucket.name(), prefix: UUID().uuidString.lowercased() + "/",
                            client: try S3TestServer.client())
        // What this test measures is what the capability promises.
        #expect(store.capabilities.contains(.streaming))
        let key: StoreKey = "large"
        let sent = DigestRecorder()
        let source = PatternChunks(count: mebibytes, beforeChunk: nil).recording(into: sent)
        let size = Int64(mebibytes) << 20

        let baseline = try PeakMemory.reset()
        let writeStart = ContinuousClock.now
        let written = try await store.write(contentsOf: source, for: key, options: WriteOptions(expectedSize: size))
        let writeTime = ContinuousClock.now - writeStart
        let peakAfterWrite = try PeakMemory.peak()
        #expect(written.size == size)

        let readStart = ContinuousClock.now
        let entry = try #require(try await store.readStream(key, chunkSize: 1 << 20))
        #expect(entry.metadata.size == size)
        let (readSize, readDigest) = try await sizeAndDigest(of: entry)
        let readTime = ContinuousClock.now - readStart
        let peakAfterRead = try PeakMemory.peak()

        #expect(readSize == size)
        #expect(readDigest == sent.digest, "the SHA-256 of the bytes read differs from that of the bytes written")
        #expect(sent.byteCount == size)
        try await store.discard(key)

        let growth = max(peakAfterWrite, peakAfterRead) - baseline.resident
        func mib(_ bytes: Int64) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }
        func rate(_ time: Duration) -> String {
            let seconds = Double(time.components.seconds) + Double(time.components.attoseconds) / 1e18
            return String(format: "%.1f s, %.1f MiB/s", seconds, Double(size) / 1_048_576 / seconds)
        }
        print("""
            S3Store \(mib(size)) round trip on SeaweedFS: write \(rate(writeTime)), read \(rate(readTime)); \
            resident \(mib(baseline.resident)) before, peak \(mib(peakAfterWrite)) after the write, \(mib(peakAfterRead)) after \
            the read: growth \(mib(growth)) (peak measured by \(baseline.method))
            """)
        #expect(growth < maximumGrowth, "peak resident memory grew by \(mib(growth)) for a \(mib(size)) value streamed")
    }
}

/// The SHA-256 and byte count of the chunks a stream handed over.
final class DigestRecorder: Sendable {
    private let state = Mutex<(SHA256, Int64)>((SHA256(), 0))
    func add(_ chunk: Data) { state.withLock { $0.0.update(data: chunk); $0.1 += Int64(chunk.count) } }
    var digest: SHA256.Digest { state.withLock { $0.0.finalize() } }
    var byteCount: Int64 { state.withLock { $0.1 } }
}

extension PatternChunks {
    /// These chunks, each added to `recorder` as it is handed over.
    func recording(into recorder: DigestRecorder) -> ValueChunks {
        let source = self
        return ValueChunks {
            var iterator = source.makeAsyncIterator()
            return ValueChunks.ChunkSource {
                let chunk = try await iterator.next()
                if let chunk { recorder.add(chunk) }
                return chunk
            }
        }
    }
}

/// This process's peak resident memory (`VmHWM` of /proc/self/status).
enum PeakMemory {
    /// Resets the peak to the current resident size (writing 5 to /proc/self/clear_refs)
    /// and returns that size; when the kernel refuses, the peak so far stands and `method` says so.
    static func reset() throws -> (resident: Int64, method: String) {
        let cleared = (try? Data("5".utf8).write(to: URL(fileURLWithPath: "/proc/self/clear_refs"))) != nil
        let resident = try field("VmRSS")
        return (resident, cleared ? "VmHWM after a reset through /proc/self/clear_refs" : "VmHWM since the process started")
    }

    /// The peak resident size since the last reset.
    static func peak() throws -> Int64 { try field("VmHWM") }

    private static func field(_ name: String) throws -> Int64 {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }),
              let kilobytes = line.split(whereSeparator: \.isWhitespace).dropFirst().first.flatMap({ Int64($0) }) else {
            throw TestFailure("/proc/self/status has no \(name)")
        }
        return kilobytes * 1024
    }
}
