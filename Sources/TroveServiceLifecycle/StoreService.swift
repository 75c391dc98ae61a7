public import ServiceLifecycle
public import Trove

/// An opened store as a service of swift-service-lifecycle: a `ServiceGroup` runs the store's
/// background work beside the rest of the program and, on graceful shutdown, stops it and
/// shuts the store down.
///
///     let opened = try await StoreOpener.standard.addingPostgres().open("postgres://app@db/app")
///     let group = ServiceGroup(services: [opened.service, app], gracefulShutdownSignals: [.sigterm], logger: logger)
///     try await group.run()
///
/// Put the store before the services that use it: a group shuts its services down in reverse
/// order, so the store closes after the program's last use of it. ``run()`` lasts until the
/// group shuts down gracefully or is cancelled, also for stores without background work (a
/// service that returned early would end the group).
public struct StoreService: Service, CustomStringConvertible {
    /// The store with its background work and shutdown.
    public let opened: OpenedStore

    /// Makes a service of an opened store.
    public init(_ opened: OpenedStore) {
        self.opened = opened
    }

    /// The store.
    public var store: any KeyValueStore { opened.store }

    /// `service of <the store's description>`.
    public var description: String { "service of \(opened.store)" }

    /// Runs the store's background work until graceful shutdown or cancellation, then shuts the
    /// store down.
    ///
    /// - Throws: An error of the background work other than being stopped, or of shutting
    ///   down.
    public func run() async throws {
        let outcome: Result<Void, any Error>
        do {
            if opened.needsRunning {
                try await cancelWhenGracefulShutdown { try await opened.run() }
            } else {
                try await gracefulShutdown()
            }
            outcome = .success(())
        } catch is CancellationError {
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        do {
            try await opened.shutdown()
        } catch {
            // The background work's own failure says more than a failure to shut down after it.
            try outcome.get()
            throw error
        }
        try outcome.get()
    }
}

extension OpenedStore {
    /// This store as a service for a `ServiceGroup` (see ``StoreService``).
    public var service: StoreService { StoreService(self) }
}
