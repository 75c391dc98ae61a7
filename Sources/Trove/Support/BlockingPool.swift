import Foundation
import Synchronization

/// A small pool of dedicated threads for blocking system calls that may take long (large
/// reads and writes, fsync, directory walks), so that they do not stall Swift's cooperative
/// thread pool.
///
/// The threads start on first use and live as long as the process: the pool is shared by every
/// store in the process, and its threads sleep while there is no work.
package final class BlockingPool: Sendable {
    /// The pool shared by the file-based stores of this process.
    package static let shared = BlockingPool(threadCount: 4)

    private struct State: ~Copyable {
        var queue: [@Sendable () -> Void] = []
        var head = 0
        var started = false
    }

    private let threadCount: Int
    private let state = Mutex(State())
    private let condition = NSCondition()

    init(threadCount: Int) {
        self.threadCount = max(1, threadCount)
    }

    /// Runs `body` on one of the pool's threads and returns its result.
    ///
    /// The calling task is suspended, not blocked. Once submitted, `body` always runs to its end,
    /// even if the task is cancelled meanwhile, so it may own resources (file descriptors) that
    /// it must release; callers check for cancellation before submitting. The pool releases
    /// `body`, and what it captured, before the caller resumes.
    package func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let job = Job(body)
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            enqueue {
                let result = job.run()
                continuation.resume(with: result)
            }
        }
    }

    /// A body that runs once and is released as soon as it returns: the closure that the queue
    /// holds lives on in the worker thread for a moment after the caller resumed, and must not
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

    private func enqueue(_ work: @escaping @Sendable () -> Void) {
        let mustStart = state.withLock { state -> Bool in
            state.queue.append(work)
            defer { state.started = true }
            return !state.started
        }
        if mustStart { startThreads() }
        condition.lock()
        condition.signal()
        condition.unlock()
    }

    private func startThreads() {
        for index in 0..<threadCount {
            let thread = Thread { [self] in self.workLoop() }
            thread.name = "trove-blocking-\(index)"
            thread.start()
        }
    }

    private func nextWork() -> (@Sendable () -> Void)? {
        state.withLock { state in
            guard state.head < state.queue.count else { return nil }
            let work = state.queue[state.head]
            // The queue keeps its slot until it is compacted: empty it now, or it would keep
            // what the work captured (values, stores, file descriptors) alive until then.
            state.queue[state.head] = {}
            state.head += 1
            if state.head > 1024, state.head * 2 > state.queue.count {
                state.queue.removeFirst(state.head)
                state.head = 0
            }
            return work
        }
    }

    private func workLoop() {
        while true {
            if let work = nextWork() {
                work()
                continue
            }
            condition.lock()
            // Re-check under the condition's lock so a signal between the check and the wait
            // is not lost.
            if state.withLock({ $0.head < $0.queue.count }) {
                condition.unlock()
                continue
            }
            condition.wait()
            condition.unlock()
        }
    }
}
