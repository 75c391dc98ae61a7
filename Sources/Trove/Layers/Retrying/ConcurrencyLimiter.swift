import Synchronization

/// At most a set number of operations at once, shared by every ``ConcurrencyLimitedStore``
/// that is given the same limiter: callers past the limit wait their turn, first come first
/// served.
///
///     let connections = ConcurrencyLimiter(maximum: 16)
///     let photos = s3Photos.limitingConcurrency(to: connections)
///     let thumbnails = s3Thumbnails.limitingConcurrency(to: connections)   // 16 in all
///
/// A caller cancelled while it waits leaves the queue at once with `CancellationError`.
public final class ConcurrencyLimiter: Sendable, CustomStringConvertible {
    /// The most permits out at once.
    public let maximum: Int

    private struct State {
        var inUse = 0
        var nextTicket = 0
        var waiting: [(ticket: Int, continuation: CheckedContinuation<Void, any Error>)] = []
    }

    private let state = Mutex(State())

    /// Creates a limiter of `maximum` permits (at least 1).
    public init(maximum: Int) {
        self.maximum = max(1, maximum)
    }

    /// How many permits are out now.
    public var permitsInUse: Int { state.withLock { $0.inUse } }

    /// How many callers wait for a permit now.
    public var waitingCount: Int { state.withLock { $0.waiting.count } }

    /// `at most 16 at once`.
    public var description: String { "at most \(maximum) at once" }

    /// Waits for a permit; the caller must ``release()`` it.
    ///
    /// - Throws: `CancellationError` when the task is cancelled before it gets one.
    func acquire() async throws {
        try Task.checkCancellation()
        let ticket: Int? = state.withLock { state in
            if state.inUse < maximum, state.waiting.isEmpty {
                state.inUse += 1
                return nil
            }
            state.nextTicket += 1
            return state.nextTicket
        }
        guard let ticket else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let cancelled = state.withLock { state -> Bool in
                    if Task.isCancelled { return true }
                    state.waiting.append((ticket, continuation))
                    return false
                }
                if cancelled { continuation.resume(throwing: CancellationError()) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                guard let index = state.waiting.firstIndex(where: { $0.ticket == ticket }) else { return nil }
                return state.waiting.remove(at: index).continuation
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// Returns a permit, handing it to the longest waiting caller if there is one.
    func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            if state.waiting.isEmpty {
                state.inUse -= 1
                return nil
            }
            return state.waiting.removeFirst().continuation   // the permit passes on
        }
        next?.resume()
    }

    /// Runs `body` holding a permit.
    func withPermit<T>(_ body: () async throws -> T) async throws -> T {
        try await acquire()
        defer { release() }
        return try await body()
    }
}

/// A permit held by a stream or a listing until it ends or is dropped, returned once.
final class HeldPermit: Sendable {
    private let limiter: ConcurrencyLimiter
    private let held = Mutex(true)

    init(_ limiter: ConcurrencyLimiter) { self.limiter = limiter }

    /// Returns the permit if it was not returned yet.
    func release() {
        let wasHeld = held.withLock { held in
            defer { held = false }
            return held
        }
        if wasHeld { limiter.release() }
    }

    deinit { release() }
}
