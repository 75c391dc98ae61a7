#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// When ``RetryingStore`` tries an operation again: how many attempts in all, within how much
/// time, and how long it waits between them.
///
///     let store = s3.retrying(RetryPolicy(attempts: 5, within: .seconds(20)))
public struct RetryPolicy: Hashable, Sendable, CustomStringConvertible {
    /// The most attempts of one operation, the first included (at least 1).
    public var attempts: Int
    /// The most time from the start of the first attempt to the start of the last one: no
    /// retry begins later, and no wait runs past it.
    public var timeLimit: Duration
    /// How long to wait before each retry: a random time up to a ceiling that doubles per
    /// attempt (full jitter). A server's ``StoreError/retryAfter`` lengthens a wait, never
    /// shortens it.
    public var backoff: Backoff

    /// Creates a policy.
    ///
    /// - Parameters:
    ///   - attempts: The most attempts in all, the first included. Defaults to 4; values
    ///     below 1 count as 1.
    ///   - timeLimit: The most time from the first attempt to the start of the last. Defaults
    ///     to 10 seconds.
    ///   - backoff: The waits between attempts. Defaults to full jitter from 50 ms, doubling
    ///     up to 2 s.
    public init(attempts: Int = 4, within timeLimit: Duration = .seconds(10),
                backoff: Backoff = .exponential(initial: .milliseconds(50), maximum: .seconds(2))) {
        self.attempts = max(1, attempts)
        self.timeLimit = max(.zero, timeLimit)
        self.backoff = backoff
    }

    /// Four attempts within 10 seconds, waits from 50 ms doubling up to 2 s.
    public static let `default` = RetryPolicy()

    /// One attempt: nothing is retried.
    public static let never = RetryPolicy(attempts: 1)

    /// `4 attempts within 10.0 seconds, exponential(...)`.
    public var description: String {
        "\(attempts) attempt\(attempts == 1 ? "" : "s") within \(timeLimit), \(backoff)"
    }
}

/// The clock a ``RetryingStore`` measures and waits with, type-erased.
struct RetryClock: Sendable {
    /// The time since the clock was wrapped: a reading, without allocating per call.
    let reading: @Sendable () -> Duration
    /// Sleeps for a duration.
    let sleep: @Sendable (Duration) async throws -> Void

    /// A started stopwatch: calling it tells the time since it started.
    struct Stopwatch: Sendable {
        let started: Duration
        let reading: @Sendable () -> Duration

        func callAsFunction() -> Duration { reading() - started }
    }

    init<C: Clock>(_ clock: C) where C.Duration == Duration {
        sleep = { duration in try await clock.sleep(for: duration) }
        if clock is ContinuousClock {
            // The system's coarse monotonic clock: a few milliseconds' resolution, plenty for
            // limits of a tenth of a second and more, at a fraction of the cost of a precise
            // reading on every call.
            reading = RetryClock.coarseMonotonic
            return
        }
        let epoch = clock.now
        reading = { epoch.duration(to: clock.now) }
    }

    /// The system's coarse monotonic clock, as a duration since an arbitrary start.
    static let coarseMonotonic: @Sendable () -> Duration = {
        var time = timespec()
        #if canImport(Darwin)
        clock_gettime(CLOCK_MONOTONIC_RAW_APPROX, &time)
        #else
        clock_gettime(CLOCK_MONOTONIC_COARSE, &time)
        #endif
        return .seconds(time.tv_sec) + .nanoseconds(time.tv_nsec)
    }

    /// Starts a stopwatch.
    func start() -> Stopwatch { Stopwatch(started: reading(), reading: reading) }
}
