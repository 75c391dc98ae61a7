import Synchronization

/// Runs one piece of work per key at a time, however many tasks ask for it: the first caller
/// starts it, the callers that come while it runs wait for the same result.
///
/// A caller that is cancelled stops waiting at once; when every caller has stopped waiting,
/// the work is cancelled too.
final class SingleFlight<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private typealias Waiter = CheckedContinuation<Value, any Error>

    private struct Flight {
        let id: Int
        var task: Task<Void, Never>?
        var waiters: [Int: Waiter] = [:]
    }

    private struct State {
        var flights: [Key: Flight] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())

    /// Whether work for `key` is running now.
    func isRunning(_ key: Key) -> Bool {
        state.withLock { $0.flights[key] != nil }
    }

    /// The result of `work` for `key`: started by this call, or by a call still running.
    ///
    /// - Throws: What `work` threw, or `CancellationError` when the calling task is cancelled.
    func run(_ key: Key, _ work: @escaping @Sendable () async throws -> Value) async throws -> Value {
        let waiterID = state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (waiter: Waiter) in
                let startedFlight = state.withLock { state -> Int? in
                    if state.flights[key] != nil {
                        state.flights[key]!.waiters[waiterID] = waiter
                        return nil
                    }
                    state.nextID += 1
                    state.flights[key] = Flight(id: state.nextID, waiters: [waiterID: waiter])
                    return state.nextID
                }
                if let flightID = startedFlight {
                    let task = Task {
                        let result: Result<Value, any Error>
                        do {
                            result = .success(try await work())
                        } catch {
                            result = .failure(error)
                        }
                        self.finish(key, flightID, with: result)
                    }
                    let abandoned = state.withLock { state -> Bool in
                        guard state.flights[key]?.id == flightID else { return true }
                        state.flights[key]!.task = task
                        return false
                    }
                    // Every waiter left before the task was recorded: nobody wants the result.
                    if abandoned { task.cancel() }
                }
                // Cancelled before the waiter was registered: the handler found nothing to end.
                if Task.isCancelled { stopWaiting(key, waiterID) }
            }
        } onCancel: {
            stopWaiting(key, waiterID)
        }
    }

    /// Hands `result` to the flight's waiters, if the flight is still the current one.
    private func finish(_ key: Key, _ flightID: Int, with result: Result<Value, any Error>) {
        let waiters = state.withLock { state -> [Waiter] in
            guard state.flights[key]?.id == flightID else { return [] }
            return Array(state.flights.removeValue(forKey: key)!.waiters.values)
        }
        for waiter in waiters { waiter.resume(with: result) }
    }

    /// Ends one caller's wait with `CancellationError`; cancels the work when no caller is left.
    private func stopWaiting(_ key: Key, _ waiterID: Int) {
        let (waiter, orphan) = state.withLock { state -> (Waiter?, Task<Void, Never>?) in
            guard let waiter = state.flights[key]?.waiters.removeValue(forKey: waiterID) else { return (nil, nil) }
            guard state.flights[key]!.waiters.isEmpty else { return (waiter, nil) }
            return (waiter, state.flights.removeValue(forKey: key)!.task)
        }
        waiter?.resume(throwing: CancellationError())
        orphan?.cancel()
    }
}
