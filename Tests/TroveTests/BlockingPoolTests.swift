import Foundation
import Synchronization
import Testing
import Trove
import TroveTestSupport

/// The blocking pool's bounded queue, its cancellation, and stores with pools of their own.
/// Jobs hold the pool's threads by waiting on a semaphore that the test signals; the test waits
/// for the pool's state (``BlockingPool/load``) or for events that jobs send, never for a time.
@Suite("BlockingPool")
struct BlockingPoolTests {
    @Test func threadsStartOnlyWhenJobsNeedThem() async throws {
        let pool = BlockingPool(threadCount: 3, queueLimit: 8)
        #expect(pool.load.threads == 0)
        #expect(try await pool.run { 6 * 7 } == 42)
        await until(pool) { $0.idle == 1 }
        #expect(try await pool.run { 1 } == 1)
        // One job at a time needs one thread.
        #expect(pool.load.threads == 1)
    }

    @Test func aFullQueueMakesCallersWaitForRoomInOrder() async throws {
        let pool = BlockingPool(threadCount: 1, queueLimit: 1)
        let held = HeldJobs(pool)
        let order = Recorder()
        let first = try await held.start()
        let queued = Task { try await pool.run { order.append("queued") } }
        await until(pool) { $0.queued == 1 }
        let waiting = Task { try await pool.run { order.append("waiting") } }
        await until(pool) { $0.waitingForRoom == 1 }
        // The queue stays at its limit while the thread is held.
        #expect(pool.load == BlockingPool.Load(running: 1, queued: 1, waitingForRoom: 1, threads: 1, idle: 0))
        held.releaseAll()
        try await first.value
        try await queued.value
        try await waiting.value
        #expect(order.names == ["queued", "waiting"])
        await until(pool) { $0.running == 0 && $0.queued == 0 && $0.waitingForRoom == 0 }
    }

    @Test func aJobCancelledInTheQueueNeverRunsAndItsCallerResumesAtOnce() async throws {
        let pool = BlockingPool(threadCount: 1, queueLimit: 4)
        let held = HeldJobs(pool)
        let runs = Counter()
        let blocker = try await held.start()
        let cancelled = Task { try await pool.run { runs.increment() } }
        await until(pool) { $0.queued == 1 }
        cancelled.cancel()
        // The only thread is still held: the caller resumed without its job leaving the queue
        // through a thread.
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        #expect(pool.load.queued == 0)
        #expect(pool.load.running == 1)
        held.releaseAll()
        try await blocker.value
        // A job queued after the cancelled one has run, so the cancelled one would have too.
        try await pool.run { }
        #expect(runs.value == 0)
    }

    @Test func aCallerCancelledWhileWaitingForRoomResumesAtOnceAndItsJobNeverRuns() async throws {
        let pool = BlockingPool(threadCount: 1, queueLimit: 1)
        let held = HeldJobs(pool)
        let runs = Counter()
        let blocker = try await held.start()
        let queued = Task { try await pool.run { 1 } }
        await until(pool) { $0.queued == 1 }
        let waiting = Task { try await pool.run { runs.increment() } }
        await until(pool) { $0.waitingForRoom == 1 }
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }
        #expect(pool.load == BlockingPool.Load(running: 1, queued: 1, waitingForRoom: 0, threads: 1, idle: 0))
        held.releaseAll()
        try await blocker.value
        #expect(try await queued.value == 1)
        try await pool.run { }
        #expect(runs.value == 0)
    }

    @Test func cancellingAQueuedJobMakesRoomForACallerWaiting() async throws {
        let pool = BlockingPool(threadCount: 1, queueLimit: 1)
        let held = HeldJobs(pool)
        let runs = Counter()
        let blocker = try await held.start()
        let queued = Task { try await pool.run { runs.increment() } }
        await until(pool) { $0.queued == 1 }
        let waiting = Task { try await pool.run { "admitted" } }
        await until(pool) { $0.waitingForRoom == 1 }
        queued.cancel()
        await #expect(throws: CancellationError.self) { try await queued.value }
        #expect(pool.load == BlockingPool.Load(running: 1, queued: 1, waitingForRoom: 0, threads: 1, idle: 0))
        held.releaseAll()
        try await blocker.value
        #expect(try await waiting.value == "admitted")
        #expect(runs.value == 0)
    }

    @Test func aJobOfATaskCancelledBeforeItCallsNeverRuns() async throws {
        let pool = BlockingPool(threadCount: 1, queueLimit: 1)
        let runs = Counter()
        let cleanups = Counter()
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await pool.run({ runs.increment() },
                                      ifCancelledBeforeStart: { cleanups.increment() })
        }
        await #expect(throws: CancellationError.self) { try await task.value }
        // Nothing was queued, so no thread started for it.
        #expect(pool.load.threads == 0)
        try await pool.run { }
        #expect(runs.value == 0)
        #expect(cleanups.value == 1)
    }

    @Test func aCleanupRunsForAJobCancelledInTheQueueAndNotForOneThatRan() async throws {
        let pool = BlockingPool(threadCount: 1, queueLimit: 2)
        let held = HeldJobs(pool)
        let cleanups = Counter()
        let blocker = try await held.start()
        let cancelled = Task {
            try await pool.run({ }, ifCancelledBeforeStart: { cleanups.increment() })
        }
        await until(pool) { $0.queued == 1 }
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        #expect(cleanups.value == 1)
        held.releaseAll()
        try await blocker.value
        try await pool.run({ }, ifCancelledBeforeStart: { cleanups.increment() })
        #expect(cleanups.value == 1)
    }

    @Test func aJobCancelledWhileRunningRunsToItsEndAndReturnsItsResult() async throws {
        let pool = BlockingPool(threadCount: 1, queueLimit: 1)
        let held = HeldJobs(pool)
        let running = try await held.start(returning: "finished")
        running.cancel()
        held.releaseAll()
        #expect(try await running.value == "finished")
    }

    @Test func aJobsErrorReachesItsCaller() async throws {
        struct Failure: Error, Equatable {}
        let pool = BlockingPool(threadCount: 1, queueLimit: 1)
        await #expect(throws: Failure()) { try await pool.run { throw Failure() } }
    }

    @Test func eachKindOfStoreHasAPoolOfItsOwnByDefault() {
        #expect(FileSystemStore.Configuration().blockingPool === BlockingPool.fileStores)
        #expect(BlockingPool.fileStores.threadCount == 4)
        #expect(BlockingPool.fileStores.queueLimit == 256)
        let pool = BlockingPool(threadCount: 1, queueLimit: 1)
        #expect(FileSystemStore.Configuration(blockingPool: pool) != FileSystemStore.Configuration())
        #expect(FileSystemStore.Configuration(blockingPool: pool) == FileSystemStore.Configuration(blockingPool: pool))
    }

    /// One file store's pool held entirely (its thread, its queue, a caller waiting for room):
    /// a file store with a pool of its own still writes with fsync (on its pool) and reads a large value.
    @Test func aStoreWithAPoolOfItsOwnWorksWhileAnotherStoresPoolIsHeld() async throws {
        try await withScratchDirectory { directory in
            let stuckPool = BlockingPool(name: "stuck", threadCount: 1, queueLimit: 1)
            let freePool = BlockingPool(name: "free", threadCount: 1, queueLimit: 1)
            let stuck = try FileSystemStore(root: directory.appendingPathComponent("stuck"),
                                            configuration: .init(durability: .fsync, blockingPool: stuckPool))
            let free = try FileSystemStore(root: directory.appendingPathComponent("free"),
                                           configuration: .init(durability: .fsync, blockingPool: freePool))
            let held = HeldJobs(stuckPool)
            let blocker = try await held.start()
            let queuedWrite = Task { try await stuck.set(Data("one".utf8), for: "a") }
            await until(stuckPool) { $0.queued == 1 }
            let waitingWrite = Task { try await stuck.set(Data("two".utf8), for: "b") }
            await until(stuckPool) { $0.waitingForRoom == 1 }

            try await free.set(Data("free".utf8), for: "k")
            #expect(try await free["k"] == Data("free".utf8))
            let large = Data(repeating: 7, count: (1 << 20) + 1)
            try await free.set(large, for: "large")
            #expect(try await free["large"] == large)
            #expect(try await free.count() == 2)
            // The held store's writes are still where they were.
            #expect(stuckPool.load == BlockingPool.Load(running: 1, queued: 1, waitingForRoom: 1, threads: 1, idle: 0))

            held.releaseAll()
            try await blocker.value
            try await queuedWrite.value
            try await waitingWrite.value
            #expect(try await stuck["a"] == Data("one".utf8))
            #expect(try await stuck["b"] == Data("two".utf8))
        }
    }

    /// A large read cancelled while it waits for the pool leaves no descriptor open on its
    /// file: the cleanup closes the file that the read opened before it queued.
    @Test func aLargeReadCancelledBeforeItStartsClosesItsFile() async throws {
        try await withScratchDirectory { directory in
            let pool = BlockingPool(threadCount: 1, queueLimit: 4)
            let store = try FileSystemStore(root: directory, configuration: .init(blockingPool: pool))
            let large = Data(repeating: 1, count: (1 << 20) + 1)
            try await store.set(large, for: "large")
            let file = directory.resolvingSymlinksInPath().appendingPathComponent("large").path
            let held = HeldJobs(pool)
            let blocker = try await held.start()
            let read = Task { try await store["large"] }
            await until(pool) { $0.queued == 1 }
            // Opened before it queued: the pool's job was to read and close it.
            #expect(openDescriptors(to: file) == 1)
            read.cancel()
            await #expect(throws: CancellationError.self) { try await read.value }
            #expect(openDescriptors(to: file) == 0)
            held.releaseAll()
            try await blocker.value
            #expect(try await store["large"] == large)
        }
    }
}

/// Jobs that hold the threads of a pool until the test releases them.
final class HeldJobs: Sendable {
    private let pool: BlockingPool
    private let gate = DispatchSemaphore(value: 0)
    private let started = Mutex(0)

    init(_ pool: BlockingPool) { self.pool = pool }

    /// Starts a job that holds a thread until ``releaseAll()``, once it holds it.
    func start<T: Sendable>(returning value: T) async throws -> Task<T, any Error> {
        let (events, continuation) = AsyncStream.makeStream(of: Void.self)
        let task = Task { [self] in
            try await pool.run {
                continuation.yield()
                continuation.finish()
                self.gate.wait()
                self.started.withLock { $0 -= 1 }
                return value
            }
        }
        started.withLock { $0 += 1 }
        for await _ in events { break }
        return task
    }

    func start() async throws -> Task<Void, any Error> { try await start(returning: ()) }

    /// Lets every job started so far end.
    func releaseAll() {
        let count = started.withLock { $0 }
        for _ in 0..<count { gate.signal() }
    }
}

/// A count that jobs on other threads raise.
final class Counter: Sendable {
    private let count = Atomic<Int>(0)
    func increment() { count.add(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}

/// The names that jobs on other threads record, in order.
final class Recorder: Sendable {
    private let recorded = Mutex<[String]>([])
    func append(_ name: String) { recorded.withLock { $0.append(name) } }
    var names: [String] { recorded.withLock { $0 } }
}

/// Waits until `condition` holds on the pool's load (which jobs on other threads change).
func until(_ pool: BlockingPool, _ condition: (BlockingPool.Load) -> Bool) async {
    while !condition(pool.load) {
        try? await Task.sleep(for: .milliseconds(1))
    }
}

/// How many descriptors of this process are open on the file at `path`.
func openDescriptors(to path: String) -> Int {
    let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    return descriptors.filter { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + $0)) == path }.count
}
