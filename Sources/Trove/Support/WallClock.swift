public import Foundation
import Synchronization

/// The source of the current wall-clock time for expiry decisions, and of the waits that
/// polling code (a queue waiting for work) makes.
///
/// Expiry dates are stored as wall-clock dates, so stores take a `WallClock` rather than a
/// monotonic `Clock`. Tests inject a ``ManualWallClock`` so that expiry and waiting need no
/// real sleeping.
public struct WallClock: Sendable {
    private let read: @Sendable () -> Date
    private let pause: @Sendable (Duration) async throws -> Void

    /// A clock that reads `now` from the given closure and waits with `sleep`.
    ///
    /// - Parameters:
    ///   - now: Returns the current time.
    ///   - sleep: Waits for a duration, throwing `CancellationError` if the task is cancelled.
    ///     Defaults to `Task.sleep(for:)`.
    public init(
        _ now: @escaping @Sendable () -> Date,
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    ) {
        self.read = now
        self.pause = sleep
    }

    /// The system's clock.
    public static let system = WallClock { Date() }

    /// The current time.
    public var now: Date { read() }

    /// Waits for `duration` by this clock.
    ///
    /// - Throws: `CancellationError` if the task is cancelled while it waits.
    public func sleep(for duration: Duration) async throws {
        try await pause(duration)
    }
}

/// A clock that stands still until told to move, for tests.
///
///     let clock = ManualWallClock()
///     let store = MemoryStore(clock: clock.wallClock)
///     try await store.set(data, for: "k", expiry: .after(.seconds(10)))
///     clock.advance(by: .seconds(11))   // "k" is now expired
///
/// Waiting on its ``wallClock`` takes no real time: a wait moves the clock forward by its
/// duration and yields to other tasks, and is counted in ``sleepCount``.
public final class ManualWallClock: Sendable {
    private let current: Mutex<Date>
    private let sleeps = Atomic<Int>(0)

    /// Creates a clock showing `start`. Defaults to the present moment.
    public init(start: Date = Date()) { self.current = Mutex(start) }

    /// How many waits have been made on this clock's ``wallClock``.
    public var sleepCount: Int { sleeps.load(ordering: .acquiring) }

    /// The current time.
    public var now: Date { current.withLock { $0 } }

    /// Moves the clock forward by `duration`.
    public func advance(by duration: Duration) {
        current.withLock { $0 = $0.addingTimeInterval(duration.timeInterval) }
    }

    /// A ``WallClock`` that reads this clock, and whose waits move it forward instead of
    /// sleeping.
    public var wallClock: WallClock {
        WallClock({ [self] in self.now }, sleep: { [self] duration in
            try Task.checkCancellation()
            self.advance(by: duration)
            self.sleeps.add(1, ordering: .releasing)
            await Task.yield()
        })
    }
}
