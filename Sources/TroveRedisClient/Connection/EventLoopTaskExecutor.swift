import NIOCore

/// Runs a task's jobs on one event loop, so that a task preferring it shares the thread of a
/// connection's channel: see ``RedisClient/nextTaskExecutor()``.
final class EventLoopTaskExecutor: TaskExecutor, Sendable {
    let eventLoop: any EventLoop

    init(eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
