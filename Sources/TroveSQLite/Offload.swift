public import Trove

extension BlockingPool {
    /// The pool of every ``SQLiteStore`` that is not given another: 4 threads, a queue of 256
    /// jobs, apart from `BlockingPool.fileStores` so that SQLite calls waiting out a busy
    /// timeout never delay the file stores' work.
    ///
    /// An SQLite store sends it the calls that can wait: opening, a call that found its
    /// connection in use or the database locked (it waits there up to the busy timeout), values
    /// over 1 MiB, large batches, `synchronous=full` commits and checkpoints. A store has one
    /// writer connection and ``SQLiteStore/Options/readerCount`` readers (2 by default), and a
    /// thread beyond those waits for a connection: 4 threads serve one store's connections and a
    /// checkpoint at once, or a few stores, without holding many stacks.
    public static let sqliteStores = BlockingPool(name: "trove-sqlite", threadCount: 4, queueLimit: 256)
}

extension SQLiteStore {
    /// Runs `body` on a thread of the store's blocking pool and returns its result, suspending
    /// the calling task: every SQLite call that may wait (for another process's lock, for an
    /// fsync, for a large value) goes through here, so that no cooperative thread blocks on it.
    ///
    /// Once started, `body` runs to its end even if the task is cancelled meanwhile; cancelled
    /// before, it never runs and this throws `CancellationError`.
    func offload<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await options.blockingPool.run(body)
    }
}
