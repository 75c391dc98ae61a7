import Foundation
import PostgresNIO
import Synchronization
import Testing
import Trove
@testable import TrovePostgres
import TroveTestSupport

/// Values streamed in and out a part at a time: a streamed write's parts reach the server
/// while its chunks still come, and a stream reads its value a piece at a time, of the
/// version it opened.
@Suite("PostgresStore: streaming", .enabled(if: TestServer.postgres.isAvailable, TestServer.postgres.absence))
struct PostgresStreamingTests {
    /// Chunks of `value`, 256 KiB each, that run `pause` once, after `pauseAfter` bytes.
    struct PausingChunks: AsyncSequence, Sendable {
        let value: Data
        let pauseAfter: Int
        let pause: @Sendable () async throws -> Void

        struct AsyncIterator: AsyncIteratorProtocol {
            let chunks: PausingChunks
            var offset = 0
            var paused = false

            mutating func next() async throws -> Data? {
                if !paused && offset >= chunks.pauseAfter {
                    paused = true
                    try await chunks.pause()
                }
                guard offset < chunks.value.count else { return nil }
                let end = Swift.min(offset + (256 << 10), chunks.value.count)
                defer { offset = end }
                return chunks.value.subdata(in: offset..<end)
            }
        }

        func makeAsyncIterator() -> AsyncIterator { AsyncIterator(chunks: self) }
    }

    /// What the pause in a streamed write saw.
    final class Observed: Sendable {
        let state = Mutex<(inTransaction: Bool, lastStatement: String, readerSaw: Data?)>((false, "", nil))
    }

    /// While a 6 MiB write's chunks are half way, the store's connection is in a transaction
    /// that has written, sending parts, and readers still see the previous value.
    @Test func aStreamedWriteSendsItsPartsAsTheyCome() async throws {
        try await withOwnClient(connections: 1) { client in
            let table = freshName("t_")
            let store = try await PostgresStore(client: client, table: table, location: "test")
            let old = Data("old".utf8), new = patternedBytes(6 << 20, seed: 11)
            try await store.set(old, for: "big")
            // The backend of the store's one connection.
            let backend = try #require(try await client.query("SELECT pg_backend_pid()").collect().first?.decode(Int32.self))
            let seen = Observed()
            let chunks = PausingChunks(value: new, pauseAfter: 3 << 20) {
                // The store's backend: in a transaction that has written, its last statement a
                // part's insert (a temporary table's rows stay in its backend's own buffers,
                // out of other sessions' sight).
                let activity = try await execute("""
                    SELECT backend_xid IS NOT NULL AND state = 'idle in transaction', query FROM pg_stat_activity WHERE pid = \(backend)
                    """)
                // Read through another store instance: the store's own client has its one
                // connection in the write's transaction.
                let reader = try await PostgresStore(client: PostgresClients.shared, table: table, location: "test")
                let readerSaw = try await reader.value(for: "big")
                let (inTransaction, query) = try activity.first?.decode((Bool, String).self) ?? (false, "")
                seen.state.withLock { $0 = (inTransaction, query, readerSaw) }
            }
            let written = try await store.set(contentsOf: chunks, for: "big")
            let observed = seen.state.withLock { $0 }
            #expect(observed.inTransaction, "the store's connection was not in a transaction that had written")
            #expect(observed.lastStatement.hasPrefix(PostgresStatements.insertPart), "its last statement: \(observed.lastStatement)")
            #expect(observed.readerSaw == old)
            #expect(written.size == Int64(new.count))
            #expect(try await store.value(for: "big") == new)
            try await execute("DROP TABLE \(store.sql.table)")
        }
    }

    /// A stream reads its value a piece at a time: a value replaced after the first chunk
    /// fails the rest of the stream with conditionFailed, and a new stream reads the new one.
    @Test func aStreamReadsAPieceAtATime() async throws {
        try await withFreshTable { store in
            let first = patternedBytes(5 << 20, seed: 21), second = patternedBytes(5 << 20, seed: 22)
            try await store.set(contentsOf: ValueChunks(chunksOf: first, chunkSize: 1 << 20), for: "v")
            let stream = try #require(try await store.readStream("v", chunkSize: 256 << 10))
            var iterator = stream.chunks.makeAsyncIterator()
            let head = try #require(try await iterator.next())
            #expect(head == first.prefix(head.count))
            try await store.set(second, for: "v")
            let error = try await expectStoreError(.conditionFailed) {
                while try await iterator.next() != nil {}
            }
            #expect(error.message.contains("changed after its stream was opened"), "\(error.message)")
            let again = try #require(try await store.readStream("v", chunkSize: 300_000))
            var chunks = 0
            var read = Data()
            for try await chunk in again.chunks {
                #expect(chunk.count <= 300_000)
                chunks += 1
                read.append(chunk)
            }
            #expect(read == second && chunks >= 18, "\(chunks) chunks")
        }
    }

    /// Ranges and suffixes of a streamed read span pieces and match a ranged read.
    @Test func streamedRangesMatchRangedReads() async throws {
        try await withFreshTable { store in
            let value = patternedBytes(4 << 20, seed: 31)
            try await store.set(value, for: "v")
            for range: ByteRange in [.bytes(1_500_000..<3_700_001), .suffix(2_500_000), .from(3_000_000), .bytes(10..<20)] {
                let streamed = try #require(try await store.readStream("v", chunkSize: 100_000, options: ReadOptions(range: range))?.body)
                let whole = try #require(try await store.read("v", options: ReadOptions(range: range))?.body)
                #expect(try await streamed.chunks.collect() == whole.value, "\(range)")
                #expect(streamed.metadata == whole.metadata)
            }
            let etag = try #require(try await store.metadata(for: "v")?.etag)
            let unchanged = try await store.readStream("v", chunkSize: 1 << 20, options: ReadOptions(ifNoneMatch: etag))
            guard case .unchanged(let metadata)? = unchanged else {
                Issue.record("not unchanged: \(String(describing: unchanged))")
                return
            }
            #expect(metadata.etag == etag)
        }
    }

    /// A streamed write's condition holds as a written one's does: refused without a trace
    /// when it fails, the previous value untouched.
    @Test func streamedWritesHonourTheirConditions() async throws {
        try await withFreshTable { store in
            let old = try await store.set(Data("old".utf8), for: "k")
            let big = patternedBytes(3 << 20, seed: 41)
            _ = try await expectStoreError(.conditionFailed) {
                try await store.set(contentsOf: ValueChunks(chunksOf: big, chunkSize: 1 << 18), for: "k", condition: .ifAbsent)
            }
            _ = try await expectStoreError(.conditionFailed) {
                try await store.set(contentsOf: ValueChunks(chunksOf: big, chunkSize: 1 << 18), for: "k",
                                    condition: .ifMatches(ETag("not-the-etag")))
            }
            #expect(try await store.read("k")?.metadata.etag == old.etag)
            let replaced = try await store.set(contentsOf: ValueChunks(chunksOf: big, chunkSize: 1 << 18), for: "k",
                                               condition: .ifMatches(old.etag))
            #expect(replaced.etag != old.etag && replaced.size == Int64(big.count))
            #expect(try await store.value(for: "k") == big)
            let fresh = try await store.set(contentsOf: ValueChunks(chunksOf: big, chunkSize: 1 << 18), for: "new", condition: .ifAbsent)
            #expect(try await store.read("new")?.metadata == fresh)
        }
    }
}
