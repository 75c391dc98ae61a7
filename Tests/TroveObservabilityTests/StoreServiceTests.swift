import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Testing
import Trove
import TroveServiceLifecycle

/// What happened, in order.
private final class Events: Sendable {
    private let list = Mutex<[String]>([])
    func append(_ event: String) { list.withLock { $0.append(event) } }
    var all: [String] { list.withLock { $0 } }
}

/// A program's own service: uses the store, then asks the group to shut down.
private struct App: Service {
    let store: any KeyValueStore
    let events: Events

    func run() async throws {
        try await store.set(Data("hello".utf8), for: "greeting")
        events.append("app used the store")
    }
}

/// Runs `store` and `app` in a group that shuts down gracefully when `app` returns.
private func runUntilAppIsDone(_ store: StoreService, _ app: App) async throws {
    let group = ServiceGroup(configuration: ServiceGroupConfiguration(
        services: [
            .init(service: store),
            .init(service: app, successTerminationBehavior: .gracefullyShutdownGroup),
        ],
        logger: Logger(label: "test")))
    try await group.run()
}

@Suite("StoreService")
struct StoreServiceTests {
    @Test("a ServiceGroup runs the store beside the app and shuts it down after the app is done")
    func serviceGroup() async throws {
        let events = Events()
        let opened = OpenedStore(MemoryStore(), run: {
            events.append("store running")
            do {
                while true { try await Task.sleep(for: .seconds(3600)) }
            } catch {
                events.append("store stopped")
                throw error
            }
        }, shutdown: {
            events.append("store shut down")
        })
        let app = App(store: opened.store, events: events)
        try await runUntilAppIsDone(opened.service, app)

        let seen = events.all
        #expect(seen.last == "store shut down")
        #expect(seen.contains("app used the store") && seen.contains("store stopped"))
        #expect(seen.firstIndex(of: "app used the store")! < seen.firstIndex(of: "store shut down")!)
        #expect(try await opened.store.read("greeting")?.value == Data("hello".utf8))
    }

    @Test("a store without background work waits for the graceful shutdown, then shuts down")
    func storeWithoutBackgroundWork() async throws {
        let events = Events()
        let opened = try await StoreOpener.standard.open("memory:")
        #expect(!opened.needsRunning)
        let counted = OpenedStore(opened.store, shutdown: { events.append("shut down") })
        let app = App(store: counted.store, events: events)
        try await runUntilAppIsDone(counted.service, app)
        #expect(events.all == ["app used the store", "shut down"])
    }

    @Test("a failure of the store's background work ends the group with that error")
    func backgroundFailure() async throws {
        struct Broken: Error {}
        let opened = OpenedStore(MemoryStore(), run: { throw Broken() })
        let group = ServiceGroup(services: [opened.service], logger: Logger(label: "test"))
        await #expect(throws: (any Error).self) { try await group.run() }
    }
}
