import Foundation
import Testing
import Trove
import TroveSQLite
import TroveTestSupport

/// Values kept in parts: streamed through a process without being held whole, their parts
/// deleted with them, and read from one snapshot while they are replaced.
@Suite("SQLiteStore: large values")
struct SQLiteLargeValueTests {
    /// The rows of the default table's parts.
    static func partCount(_ file: URL) throws -> Int {
        try RawDatabase(file).integer(#"SELECT count(*) FROM "kv$segments""#)
    }

    /// The chunks of `value`, `size` bytes at a time, as an async sequence.
    static func chunks(of value: Data, size: Int) -> AsyncStream<Data> {
        AsyncStream { continuation in
            var offset = 0
            while offset < value.count {
                continuation.yield(value.subdata(in: offset..<min(offset + size, value.count)))
                offset += size
            }
            continuation.finish()
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func streamingNeverHoldsTheWholeValue() async throws {
        let helper = try BuiltExecutable.helper()
        try await withScratchDirectory { directory in
            let file = directory.appendingPathComponent("store.db")
            let result = try await ChildProcess.run(helper, ["stream-roundtrip", sqliteURL(file), "256"], scratch: directory)
            #expect(result.status == 0, "the helper exited with \(result.status): \(result.errors)")
            let fields = result.outputText.split(separator: " ")
            let growth = try #require(fields.count == 2 ? Int(fields[1].trimmingCharacters(in: .whitespacesAndNewlines)) : nil,
                                      "unexpected helper output: \(result.outputText)")
            #expect(growth < 64 * 1024, "a 256 MiB round trip grew the peak resident set by \(growth) KiB")
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func thePartsOfAStreamThatNeverEndedAreReclaimedAfterAnHour() async throws {
        let helper = try BuiltExecutable.helper()
        try await withScratchDirectory { directory in
            let file = directory.appendingPathComponent("store.db")
            let clock = ManualWallClock()
            let kept = patternedBytes((2 << 20) + 1, seed: 1)
            do {
                let store = try await SQLiteStore(path: file, clock: clock.wallClock)
                try await store.set(kept, for: "kept")
                try await store.set(contentsOf: Self.chunks(of: kept, size: 1 << 20), for: "kept/streamed")
            }
            let settled = try Self.partCount(file)

            // A writer dies in the middle of a 256 MiB stream.
            let midway = try await ChildProcess.killOnce(helper, ["stream-roundtrip", sqliteURL(file), "256"]) {
                try Self.partCount(file) >= settled + 4
            }
            try #require(midway.held, "the helper never wrote 4 parts: \(midway.report)")
            #expect(midway.report.hasPrefix("signal \(SIGKILL)"), "the helper was not killed midway: \(midway.report)")
            #expect(try RawDatabase(file).integrityCheck() == ["ok"])
            let abandoned = try Self.partCount(file) - settled

            let store = try await SQLiteStore(path: file, clock: clock.wallClock)
            #expect(try await store["streamed"] == nil)
            #expect(try await store.reclaimExpired() == 0)
            #expect(try Self.partCount(file) == settled + abandoned, "parts of a write that may still run were deleted")
            clock.advance(by: .seconds(2 * 3600))
            #expect(try await store.reclaimExpired() == 0)
            #expect(try Self.partCount(file) == settled, "the parts of the abandoned stream are left after an hour")
            #expect(try RawDatabase(file).orphanParts() == 0)
            #expect(try await store["kept"] == kept)
            #expect(try await store["kept/streamed"] == kept)
        }
    }

    @Test func replacingOrDeletingALargeValueDeletesItsParts() async throws {
        try await withScratchDirectory { directory in
            let file = directory.appendingPathComponent("store.db")
            let store = try await SQLiteStore(path: file)
            let large = patternedBytes(3 << 20, seed: 1)

            try await store.set(large, for: "big")
            #expect(try Self.partCount(file) == 3)
            let pagesWithLarge = try pagesInUse(file)
            try await store.set(Data("small".utf8), for: "big")
            #expect(try Self.partCount(file) == 0, "the parts of the replaced value are left")
            #expect(try await store["big"] == Data("small".utf8))
            #expect(try pagesInUse(file) < pagesWithLarge - (2 << 20), "the pages of the replaced value are not free")

            try await store.set(large, for: "big")
            try await store.set(patternedBytes((1 << 20) + 1, seed: 2), for: "big")
            #expect(try Self.partCount(file) == 2, "replacing a large value with another keeps the old parts")
            #expect(try await store.delete("big"))
            #expect(try Self.partCount(file) == 0, "the parts of the deleted value are left")

            try await store.set(contentsOf: Self.chunks(of: large, size: 100_000), for: "streamed")
            #expect(try await store["streamed"] == large)
            #expect(try Self.partCount(file) >= 3)
            try await store.set(Data("small".utf8), for: "streamed")
            #expect(try Self.partCount(file) == 0, "the parts of the replaced streamed value are left")
            try await store.set(contentsOf: Self.chunks(of: large, size: 1 << 20), for: "streamed")
            #expect(try await store.delete("streamed"))
            #expect(try Self.partCount(file) == 0, "the parts of the deleted streamed value are left")
            #expect(try RawDatabase(file).integrityCheck() == ["ok"])
        }
    }

    @Test func aStreamKeepsReadingTheValueItOpenedWhileItIsReplaced() async throws {
        try await withScratchDirectory { directory in
            let file = directory.appendingPathComponent("store.db")
            let store = try await SQLiteStore(path: file)
            let old = patternedBytes(3 << 20, seed: 1), new = patternedBytes((3 << 20) + 7, seed: 2)
            let written = try await store.set(old, for: "v")

            let stream = try #require(try await store.readStream("v", chunkSize: 64 << 10))
            #expect(stream.metadata.etag == written.etag)
            #expect(stream.metadata.size == Int64(old.count))
            var iterator = stream.chunks.makeAsyncIterator()
            var received = Data()
            received.append(try #require(try await iterator.next()))

            try await store.set(new, for: "v")
            #expect(try await store["v"] == new, "a new read sees the new value")
            var fresh = Data()
            for try await chunk in try #require(try await store.readStream("v", chunkSize: 1 << 20)).chunks { fresh.append(chunk) }
            #expect(fresh == new, "a new stream reads the new value")

            for _ in 0..<10 { received.append(try #require(try await iterator.next())) }
            try await store.set(Data("small".utf8), for: "v")
            try await store.delete("v")
            while let chunk = try await iterator.next() { received.append(chunk) }
            #expect(received.count == old.count)
            #expect(received == old, "the stream mixed the old value with later writes")

            // Reading the stream again finds that its value is gone.
            try await expectStoreError(.conditionFailed) { for try await _ in stream.chunks {} }
            #expect(try Self.partCount(file) == 0)
        }
    }
}
