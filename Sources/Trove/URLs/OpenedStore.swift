/// A store opened from a URL, with what its owner must do for it: run its background work
/// (a connection pool's upkeep, say) while using it, and shut it down afterwards.
///
/// Stores without background work (files, memory) have neither. The simplest way to get both
/// right is ``withRunning(isolation:_:)``, or ``StoreOpener/withStore(_:in:isolation:_:)``
/// which opens the store too:
///
///     try await StoreOpener.standard.withStore("file:///var/data") { store in
///         try await store.set(Data("hi".utf8), for: "greeting")
///     }
///
/// A service that manages lifetimes itself calls ``run()`` in a task it owns (in a task group
/// beside its other work, say), cancels that task when done, and then calls ``shutdown()``.
public struct OpenedStore: Sendable {
    /// The store.
    public let store: any KeyValueStore
    private let background: (@Sendable () async throws -> Void)?
    private let closing: (@Sendable () async throws -> Void)?

    /// Wraps a store and what its owner must run for it.
    ///
    /// - Parameters:
    ///   - store: The opened store.
    ///   - run: Background work that keeps the store working and returns (or throws
    ///     `CancellationError`) when its task is cancelled. Defaults to none.
    ///   - shutdown: Releases what the store holds (connections, files); called once, after
    ///     the store is no longer used. Defaults to none.
    public init(
        _ store: any KeyValueStore,
        run: (@Sendable () async throws -> Void)? = nil,
        shutdown: (@Sendable () async throws -> Void)? = nil
    ) {
        self.store = store
        self.background = run
        self.closing = shutdown
    }

    /// Whether the store has background work that must run while it is used.
    public var needsRunning: Bool { background != nil }

    /// Runs the store's background work until the calling task is cancelled; returns at once
    /// if the store has none.
    public func run() async throws {
        try await background?()
    }

    /// Releases what the store holds. Call it once, after the last use of ``store``.
    public func shutdown() async throws {
        try await closing?()
    }

    /// Runs `body` with the store while its background work runs beside it, then stops the
    /// background work and shuts the store down, however `body` ends.
    ///
    /// - Returns: What `body` returns.
    /// - Throws: What `body` throws (an error from shutting down after it is dropped, as the
    ///   body's error says what went wrong); otherwise an error from shutting down, or one the
    ///   background work threw other than the `CancellationError` of being stopped.
    public func withRunning<Value>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (any KeyValueStore) async throws -> Value
    ) async throws -> Value {
        let outcome: Result<Value, any Error>
        var backgroundFailure: (any Error)?
        if let background {
            (outcome, backgroundFailure) = await withTaskGroup(
                of: (any Error)?.self, isolation: isolation
            ) { group -> (Result<Value, any Error>, (any Error)?) in
                group.addTask {
                    do {
                        try await background()
                        return nil
                    } catch is CancellationError {
                        return nil
                    } catch {
                        return error
                    }
                }
                let outcome: Result<Value, any Error>
                do {
                    outcome = .success(try await body(store))
                } catch {
                    outcome = .failure(error)
                }
                group.cancelAll()
                var failure: (any Error)?
                for await error in group where error != nil { failure = error }
                return (outcome, failure)
            }
        } else {
            do {
                outcome = .success(try await body(store))
            } catch {
                outcome = .failure(error)
            }
        }
        let value: Value
        do {
            value = try outcome.get()
        } catch {
            // The body's error is the one to report; a failure to shut down after it is not.
            try? await shutdown()
            throw error
        }
        try await shutdown()
        if let backgroundFailure { throw backgroundFailure }
        return value
    }
}
