public import Foundation
import Synchronization

/// The source of the current wall-clock time for expiry decisions.
///
/// Expiry dates are stored as wall-clock dates, so stores take a `WallClock` rather than a
/// monotonic `Clock`. Tests inject a ``ManualWallClock`` so that expiry needs no sleeping.
public struct WallClock: Sendable {
    private let read: @Sendable () -> Date

    /// A clock that reads `now` from the given closure.
    public init(_ now: @escaping @Sendable () -> Date) { self.read = now }

    /// The system's clock.
    public static let system = WallClock { Date() }

    /// The current time.
    public var now: Date { read() }
}

/// A clock that stands still until told to move, for tests.
///
///     let clock = ManualWallClock()
///     let store = MemoryStore(clock: clock.wallClock)
///     try await store.set(data, for: "k", expiry: .after(.seconds(10)))
///     clock.advance(by: .seconds(11))   // "k" is now expired
public final class ManualWallClock: Sendable {
    private let current: Mutex<Date>

    /// Creates a clock showing `start`. Defaults to the present moment.
    public init(start: Date = Date()) { self.current = Mutex(start) }

    /// The current time.
    public var now: Date { current.withLock { $0 } }

    /// Moves the clock forward by `duration`.
    public func advance(by duration: Duration) {
        current.withLock { $0 = $0.addingTimeInterval(duration.timeInterval) }
    }

    /// A ``WallClock`` that reads this clock.
    public var wallClock: WallClock { WallClock { [self] in self.now } }
}
