import Foundation
import Synchronization

/// A fixed number of dedicated threads for calls that block: waiting for another process's lock,
/// `fsync`, large reads and writes, directory walks. They run there so that they never hold up
/// one of the few threads of Swift's cooperative pool, where every task of the process runs.
///
///     let pool = BlockingPool(name: "archive-store", threadCount: 2, queueLimit: 64)
///     let store = try FileSystemStore(root: archive, configuration: .init(blockingPool: pool))
///
/// Each kind of store has a pool of its own by default, shared by every store of that kind in the
/// process (``fileStores`` for ``FileSystemStore``; TroveSQLite adds one for its stores), so that
/// SQLite writers waiting out a busy timeout do not delay the file stores' work. Give a store a
/// pool of its own through its configuration when its waits must not delay the other stores of
/// its kind either.
///
/// **Threads.** None starts until a job needs one; then one more starts for each job that finds
/// every started thread busy, up to ``threadCount``. They live as long as the pool and end, once
/// idle, after it is released.
///
/// **The queue.** At most ``queueLimit`` jobs wait for a thread. A caller that finds the queue full
/// waits, suspended (no thread is held), for room, in order of arrival. It does not fail: a
/// store call must not fail because the process itself is busy (a task group of thousands of
/// `fsync`ed writes, say), and a caller that would rather give up cancels its task, which ends
/// the wait at once.
///
/// **Cancellation.** A job whose task is cancelled before a thread takes it never runs: its
/// caller resumes at once with `CancellationError`, whether it waited in the queue or for room
/// in it. A job that has started runs to its end and its caller gets its result: it may own
/// resources (file descriptors, a transaction) that it must release.
///
/// Implementation details: the threads are `Thread`s waiting on a semaphore. The pool is not a
/// `TaskExecutor`: an executor must run every job enqueued on it, so a cancelled job could not
/// be dropped, nor a full queue make its caller wait, and code after an `await` inside a task
/// preferring the executor would run on these threads too, where the stores want only the
/// blocking call itself.
public final class BlockingPool: Sendable, Hashable, CustomStringConvertible {
    /// The pool of every ``FileSystemStore`` that is not given another: 4 threads, a queue of
    /// 256 jobs.
    ///
    /// A file store sends it only what can block for long (values over 1 MiB, `fsync`, directory
    /// walks, waits for another process's lock); the threads spend their time waiting in the
    /// kernel, not computing, so 4 lets a few such calls overlap on a machine of two cores
    /// without holding many stacks.
    public static let fileStores = BlockingPool(name: "trove-file", threadCount: 4, queueLimit: 256)

    /// The name of the pool's threads, followed by a number.
    public let name: String
    /// How many threads the pool runs at most.
    public let threadCount: Int
    /// How many jobs wait for a thread at most; further callers wait for room.
    public let queueLimit: Int

    private let core: Core

    /// Creates a pool; no thread starts until the first job.
    ///
    /// - Parameters:
    ///   - name: The name of its threads, followed by a number. Defaults to `trove-blocking`.
    ///   - threadCount: How many threads run jobs at most; at least 1.
    ///   - queueLimit: How many jobs wait for a thread at most; at least 1.
    /// - Precondition: `threadCount` and `queueLimit` are at least 1.
    public init(name: String = "trove-blocking", threadCount: Int, queueLimit: Int) {
        precondition(threadCount >= 1, "a blocking pool needs at least one thread, not \(threadCount)")
        precondition(queueLimit >= 1, "a blocking pool needs a queue of at least one job, not \(queueLimit)")
        self.name = name
        self.threadCount = threadCount
        self.queueLimit = queueLimit
        self.core = Core(name: name, threadCount: threadCount, queueLimit: queueLimit)
    }

    deinit {
        // No caller waits any more (each holds the pool while it waits): let the threads end.
        core.shutDown()
    }

    /// Runs `body` on one of the pool's threads and returns its result or throws its error.
    ///
    /// The calling task is suspended, not blocked, while `body` waits for a thread (or for room
    /// in the queue) and while it runs. The pool releases `body`, and what it captured, before
    /// the caller resumes.
    ///
    /// - Throws: What `body` throws; `CancellationError` when the task is cancelled before a
    ///   thread took `body`, which then never runs. Once started, `body` runs to its end even if
    ///   the task is cancelled meanwhile, and its outcome is what the caller gets.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await run(body, ifCancelledBeforeStart: nil)
    }

    /// Runs `body` on one of the pool's threads, as ``run(_:)`` does, and `cleanup` instead when
    /// the task is cancelled before a thread took `body`: for a body that owns a resource it
    /// must release (a file descriptor opened before, which the body closes when done).
    ///
    /// `cleanup` runs once at most, on the thread that saw the cancellation, before the caller
    /// resumes; it must not block for long.
    ///
    /// - Throws: What `body` throws; `CancellationError` after `cleanup` ran.
    public func run<T: Sendable>(
        _ body: @escaping @Sendable () throws -> T, ifCancelledBeforeStart cleanup: (@Sendable () -> Void)?
    ) async throws -> T {
        let ticket = Ticket()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                let job = Job(body)
                core.submit(ticket,
                            work: { continuation.resume(with: job.run()) },
                            cancellation: {
                                cleanup?()
                                continuation.resume(throwing: CancellationError())
                            })
            }
        } onCancel: {
            core.cancel(ticket)
        }
    }

    /// What the pool holds now: jobs running, jobs waiting for a thread, and callers waiting for
    /// room in the queue; how many threads started, and how many of them wait for a job.
    package var load: Load { core.load }

    /// A reading of the pool's work (``load``).
    package struct Load: Sendable, Equatable {
        package var running: Int
        package var queued: Int
        package var waitingForRoom: Int
        package var threads: Int
        package var idle: Int

        package init(running: Int, queued: Int, waitingForRoom: Int, threads: Int, idle: Int) {
            (self.running, self.queued, self.waitingForRoom, self.threads, self.idle) = (running, queued, waitingForRoom, threads, idle)
        }
    }

    /// `name`, with its thread count and queue limit.
    public var description: String { "\(name) (\(threadCount) threads, a queue of \(queueLimit))" }

    /// Pools are equal when they are the same pool.
    public static func == (lhs: BlockingPool, rhs: BlockingPool) -> Bool { lhs === rhs }

    /// Hashes the pool's identity.
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}

extension BlockingPool {
    /// A body that runs once and is released as soon as it returns: the closure that the queue
    /// held lives on in the worker thread for a moment after the caller resumed, and must not
    /// keep what the body captured (a store, a connection, a buffer) alive meanwhile.
    private final class Job<T: Sendable>: Sendable {
        private let body: Mutex<(@Sendable () throws -> T)?>

        init(_ body: @escaping @Sendable () throws -> T) {
            self.body = Mutex(body)
        }

        func run() -> Result<T, any Error> {
            let taken = body.withLock { body in
                defer { body = nil }
                return body
            }
            guard let taken else { return .failure(CancellationError()) }  // never: a job runs once
            return Result { try taken() }
        }
    }

    /// One call of ``run(_:)``: where it is, and how to run it or turn it away.
    private final class Ticket: @unchecked Sendable {
        // Unchecked: every property is read and written under the lock of the pool's state.
        enum Phase { case new, waitingForRoom, queued, running, cancelled }

        var phase = Phase.new
        /// Runs the body and resumes the caller with its outcome.
        var work: (@Sendable () -> Void)?
        /// Resumes the caller with `CancellationError`.
        var cancellation: (@Sendable () -> Void)?

        /// Takes the closure that ends the call, dropping the other (and what it captured).
        func takeCancellation() -> (@Sendable () -> Void)? {
            defer { (work, cancellation) = (nil, nil) }
            return cancellation
        }
    }

    /// Tickets in order of arrival; removing one from the middle (a cancelled call) costs a scan.
    private struct TicketQueue {
        private var tickets: [Ticket] = []
        private var head = 0

        var count: Int { tickets.count - head }

        mutating func append(_ ticket: Ticket) { tickets.append(ticket) }

        mutating func popFirst() -> Ticket? {
            guard head < tickets.count else { return nil }
            let first = tickets[head]
            head += 1
            if head == tickets.count {
                tickets.removeAll(keepingCapacity: true)
                head = 0
            } else if head > 64, head * 2 > tickets.count {
                tickets.removeFirst(head)
                head = 0
            }
            return first
        }

        mutating func remove(_ ticket: Ticket) {
            guard let index = tickets[head...].firstIndex(where: { $0 === ticket }) else { return }
            tickets.remove(at: index)
        }
    }

    private struct State: ~Copyable {
        var queue = TicketQueue()
        var waiting = TicketQueue()
        var running = 0
        /// Threads started and not ended.
        var threads = 0
        /// Threads waiting for a job, or about to.
        var idle = 0
        var isShutDown = false

        /// Moves the first caller waiting for room into the queue, if there is room; whether it did.
        mutating func admitWaiting(limit: Int) -> Bool {
            guard queue.count < limit, let next = waiting.popFirst() else { return false }
            next.phase = .queued
            queue.append(next)
            return true
        }

        /// Whether a new thread should start for the jobs queued: more of them than idle threads.
        mutating func shouldStartThread(limit: Int) -> Bool {
            guard queue.count > idle, threads < limit else { return false }
            threads += 1
            return true
        }
    }

    /// The threads and the queue, apart from the pool so that the threads do not keep it alive.
    private final class Core: Sendable {
        let name: String
        let threadCount: Int
        let queueLimit: Int
        private let state = Mutex(State())
        /// Signalled once per job queued (and per thread to end); a thread takes one signal per job.
        private let wakeUp = DispatchSemaphore(value: 0)
        /// How many threads ever started, to number their names.
        private let threadsStarted = Atomic<Int>(0)

        init(name: String, threadCount: Int, queueLimit: Int) {
            self.name = name
            self.threadCount = threadCount
            self.queueLimit = queueLimit
        }

        var load: Load {
            state.withLock { Load(running: $0.running, queued: $0.queue.count, waitingForRoom: $0.waiting.count,
                                  threads: $0.threads, idle: $0.idle) }
        }

        func submit(_ ticket: Ticket, work: @escaping @Sendable () -> Void, cancellation: @escaping @Sendable () -> Void) {
            let outcome = state.withLock { state -> (queued: Bool, startsThread: Bool)? in
                // Cancelled before it got here: the cancellation handler ran first.
                guard ticket.phase == .new else { return nil }
                ticket.work = work
                ticket.cancellation = cancellation
                guard state.queue.count < queueLimit else {
                    ticket.phase = .waitingForRoom
                    state.waiting.append(ticket)
                    return (false, false)
                }
                ticket.phase = .queued
                state.queue.append(ticket)
                return (true, state.shouldStartThread(limit: threadCount))
            }
            guard let outcome else {
                cancellation()
                return
            }
            if outcome.startsThread { startThread() }
            if outcome.queued { wakeUp.signal() }
        }

        func cancel(_ ticket: Ticket) {
            let (resume, admitted, startsThread) = state.withLock { state -> ((@Sendable () -> Void)?, Bool, Bool) in
                switch ticket.phase {
                case .new:
                    ticket.phase = .cancelled
                    return (nil, false, false)
                case .waitingForRoom:
                    state.waiting.remove(ticket)
                    ticket.phase = .cancelled
                    return (ticket.takeCancellation(), false, false)
                case .queued:
                    state.queue.remove(ticket)
                    ticket.phase = .cancelled
                    let admitted = state.admitWaiting(limit: queueLimit)
                    return (ticket.takeCancellation(), admitted, admitted && state.shouldStartThread(limit: threadCount))
                case .running, .cancelled:
                    return (nil, false, false)
                }
            }
            if startsThread { startThread() }
            if admitted { wakeUp.signal() }
            resume?()
        }

        func shutDown() {
            let threads = state.withLock { state in
                state.isShutDown = true
                return state.threads
            }
            for _ in 0..<threads { wakeUp.signal() }
        }

        private func startThread() {
            let index = threadsStarted.add(1, ordering: .relaxed).oldValue
            let thread = Thread { [self] in workLoop() }
            thread.name = "\(name)-\(index)"
            thread.start()
        }

        /// The next job, or `nil` when this thread is to end; a spurious wake-up (the signal of a
        /// job cancelled since) finds no job and waits again.
        private func nextWork() -> (@Sendable () -> Void)? {
            while true {
                state.withLock { $0.idle += 1 }
                wakeUp.wait()
                let (taken, admitted, startsThread, ends) = state.withLock { state -> ((@Sendable () -> Void)?, Bool, Bool, Bool) in
                    state.idle -= 1
                    guard let ticket = state.queue.popFirst() else {
                        if state.isShutDown { state.threads -= 1 }
                        return (nil, false, false, state.isShutDown)
                    }
                    ticket.phase = .running
                    state.running += 1
                    let work = ticket.work
                    (ticket.work, ticket.cancellation) = (nil, nil)
                    let admitted = state.admitWaiting(limit: queueLimit)
                    return (work, admitted, admitted && state.shouldStartThread(limit: threadCount), false)
                }
                if ends { return nil }
                if startsThread { startThread() }
                if admitted { wakeUp.signal() }
                if let taken { return taken }
            }
        }

        private func workLoop() {
            while let work = nextWork() {
                work()
                state.withLock { $0.running -= 1 }
            }
        }
    }
}
