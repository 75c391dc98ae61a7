import Foundation
import Testing
import Trove
import TroveSQLite
import TroveTestSupport

/// SQLite stores and file stores wait on pools of their own: SQLite writers waiting out another
/// connection's write lock hold every thread of the SQLite stores' pool, and a file store's
/// blocking work (fsync writes, large values, listing) goes on meanwhile.
@Suite("SQLiteStore: its own blocking pool")
struct SQLitePoolTests {
    @Test func sqliteStoresAndFileStoresHaveSeparatePoolsByDefault() {
        #expect(SQLiteStore.Options().blockingPool === BlockingPool.sqliteStores)
        #expect(BlockingPool.sqliteStores !== BlockingPool.fileStores)
        #expect(BlockingPool.sqliteStores.threadCount == 4)
        #expect(BlockingPool.sqliteStores.queueLimit == 256)
    }

    @Test(.timeLimit(.minutes(2)))
    func writersWaitingForALockDoNotStallAFileStore() async throws {
        try await withScratchDirectory { directory in
            let file = directory.appendingPathComponent("store.db")
            let pool = BlockingPool.sqliteStores
            let options = SQLiteStore.Options(busyTimeout: .seconds(60))
            // A store for each writer: a store's writes share one connection. More writers than
            // the pool has threads, so that every thread waits and one more writer is queued.
            var writers: [SQLiteStore] = []
            for _ in 0..<(pool.threadCount + 2) { writers.append(try await SQLiteStore(path: file, options: options)) }
            let stores = writers
            let holder = try RawDatabase(file)
            try holder.execute("BEGIN IMMEDIATE")
            let files = try FileSystemStore(root: directory.appendingPathComponent("files"),
                                            configuration: .init(durability: .fsync))

            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, store) in stores.enumerated() {
                    group.addTask { try await store.set(Data("\(index)".utf8), for: try key("w/\(index)")) }
                }
                // Every thread of the SQLite stores' pool waits in SQLite's busy handler (or for
                // a connection), and jobs wait behind them.
                while !(pool.load.running == pool.threadCount && pool.load.queued > 0) {
                    try await Task.sleep(for: .milliseconds(1))
                }
                // The file store's pool is free: an fsync write, a large value, a listing.
                try await files.set(Data("small".utf8), for: "small")
                let large = patternedBytes((1 << 20) + 1, seed: 3)
                try await files.set(large, for: "large")
                #expect(try await files["large"] == large)
                #expect(try await files.count() == 2)
                #expect(try await stores[0].count(withPrefix: "w/") == 0, "a write went through a held lock")
                try holder.execute("COMMIT")
                try await group.waitForAll()
            }
            #expect(try await stores[0].count(withPrefix: "w/") == stores.count)
        }
    }

    @Test func aStoreGivenAPoolOfItsOwnOpensAndWritesOnIt() async throws {
        try await withScratchDirectory { directory in
            let pool = BlockingPool(name: "own", threadCount: 1, queueLimit: 2)
            let store = try await SQLiteStore(path: directory.appendingPathComponent("own.db"),
                                              options: .init(synchronization: .full, blockingPool: pool))
            // Opening and every synchronous=full write ran on that pool: it started its thread.
            #expect(pool.load.threads == 1)
            try await store.set(Data("v".utf8), for: "k")
            #expect(try await store["k"] == Data("v".utf8))
        }
    }
}
