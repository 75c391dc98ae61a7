/// How long a compare-and-swap loop waits after losing a race before it tries again.
///
/// Exponential with full jitter: after the `n`th conflict the loop sleeps a random time
/// between zero and `min(maximum, initial × 2ⁿ⁻¹)`, so writers that collided spread out instead
/// of colliding again, and a hot key does not turn into a busy loop against a server.
///
///     try await store.update("counters/visits", maxAttempts: 50, backoff: .exponential(initial: .milliseconds(2))) { … }
public struct Backoff: Hashable, Sendable, CustomStringConvertible {
    /// The ceiling of the first wait.
    public let initial: Duration
    /// The largest ceiling a wait can have.
    public let maximum: Duration

    /// Exponential backoff with full jitter.
    ///
    /// - Parameters:
    ///   - initial: The ceiling of the first wait. Defaults to 1 ms.
    ///   - maximum: The largest ceiling. Defaults to 100 ms.
    public static func exponential(initial: Duration = .milliseconds(1), maximum: Duration = .milliseconds(100)) -> Backoff {
        Backoff(initial: max(initial, .zero), maximum: max(maximum, initial, .zero))
    }

    /// 1 ms, doubling up to 100 ms.
    public static let `default` = Backoff.exponential()

    /// No waiting: retry at once, yielding to other tasks only.
    public static let none = Backoff(initial: .zero, maximum: .zero)

    /// The ceiling of the wait after conflict number `attempt` (from 1).
    public func ceiling(afterConflict attempt: Int) -> Duration {
        guard initial > .zero else { return .zero }
        let doublings = min(max(attempt - 1, 0), 30)
        let grown = initial * (1 << doublings)
        return min(grown, maximum)
    }

    /// Sleeps a random time up to ``ceiling(afterConflict:)``.
    ///
    /// - Throws: `CancellationError` if the task is cancelled while it waits.
    public func pause(afterConflict attempt: Int) async throws {
        let ceiling = ceiling(afterConflict: attempt)
        guard ceiling > .zero else {
            await Task.yield()
            return
        }
        let nanoseconds = ceiling.components.seconds * 1_000_000_000 + ceiling.components.attoseconds / 1_000_000_000
        try await Task.sleep(for: .nanoseconds(Int64.random(in: 0...max(0, nanoseconds))))
    }

    /// A random wait from zero to ``ceiling(afterConflict:)``: the full jitter that
    /// ``pause(afterConflict:)`` sleeps.
    public func jitteredWait(afterConflict attempt: Int) -> Duration {
        let ceiling = ceiling(afterConflict: attempt)
        guard ceiling > .zero else { return .zero }
        let nanoseconds = ceiling.components.seconds * 1_000_000_000 + ceiling.components.attoseconds / 1_000_000_000
        return .nanoseconds(Int64.random(in: 0...max(0, nanoseconds)))
    }

    /// `exponential(initial, maximum)` or `none`.
    public var description: String {
        initial == .zero ? "none" : "exponential(\(initial), up to \(maximum))"
    }
}
