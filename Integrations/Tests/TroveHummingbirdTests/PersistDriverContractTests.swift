import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import Trove
import TroveHummingbird
import TroveIntegrationTestSupport

/// Every expectation of Hummingbird's own persist tests (`Tests/HummingbirdTests/PersistTests.swift`
/// at 2.28.1), run through the same routes against a `TrovePersistDriver` on each kind of store.
/// Where those tests sleep to let an entry expire, these move a manual clock instead.
@Suite("PersistDriver contract")
struct PersistDriverContractTests {
    /// A driver on a fresh store of `fixture`, the clock both use, and the routes of Hummingbird's
    /// persist tests.
    struct Setup {
        let clock: ManualWallClock
        let store: any KeyValueStore
        let persist: TrovePersistDriver
        let router: Router<BasicRequestContext>
    }

    static func withSetup(_ fixture: StoreFixture, reclaimInterval: Duration? = nil, _ body: (Setup) async throws -> Void) async throws {
        try await withScratchDirectory { directory in
            let clock = ManualWallClock()
            let store = try await fixture.make(directory, clock.wallClock)
            let persist = try TrovePersistDriver(store: store, clock: clock.wallClock, reclaimInterval: reclaimInterval)
            try await body(Setup(clock: clock, store: store, persist: persist, router: makeRouter(persist)))
        }
    }

    static func makeRouter(_ persist: TrovePersistDriver) -> Router<BasicRequestContext> {
        let router = Router()
        router.put("/persist/:tag") { request, context -> HTTPResponse.Status in
            let buffer = try await request.body.collect(upTo: .max)
            let tag = try context.parameters.require("tag")
            try await persist.set(key: tag, value: String(buffer: buffer))
            return .ok
        }
        router.put("/persist/:tag/:time") { request, context -> HTTPResponse.Status in
            guard let time = context.parameters.get("time", as: Int.self) else { throw HTTPError(.badRequest) }
            let buffer = try await request.body.collect(upTo: .max)
            let tag = try context.parameters.require("tag")
            try await persist.set(key: tag, value: String(buffer: buffer), expires: .seconds(time))
            return .ok
        }
        router.get("/persist/:tag") { _, context -> String? in
            guard let tag = context.parameters.get("tag", as: String.self) else { throw HTTPError(.badRequest) }
            return try await persist.get(key: tag, as: String.self)
        }
        router.get("/persist/:tag/ttl") { _, context -> String? in
            guard let tag = context.parameters.get("tag", as: String.self) else { throw HTTPError(.badRequest) }
            return try await persist.getWithTTL(key: tag, as: String.self)?.ttl.map { String($0.components.seconds) }
        }
        router.delete("/persist/:tag") { _, context -> HTTPResponse.Status in
            guard let tag = context.parameters.get("tag", as: String.self) else { throw HTTPError(.badRequest) }
            try await persist.remove(key: tag)
            return .noContent
        }
        return router
    }

    static func body(_ text: String) -> ByteBuffer { ByteBufferAllocator().buffer(string: text) }

    @Test(arguments: StoreFixture.all)
    func setGet(_ fixture: StoreFixture) async throws {
        try await Self.withSetup(fixture) { setup in
            let app = Application(responder: setup.router.buildResponder())
            try await app.test(.router) { client in
                let tag = UUID().uuidString
                try await client.execute(uri: "/persist/\(tag)", method: .put, body: Self.body("Persist")) { _ in }
                try await client.execute(uri: "/persist/\(tag)", method: .get) { response in
                    #expect(String(buffer: response.body) == "Persist")
                }
            }
        }
    }

    @Test(arguments: StoreFixture.all)
    func createGet(_ fixture: StoreFixture) async throws {
        try await Self.withSetup(fixture) { setup in
            let persist = setup.persist
            setup.router.put("/create/:tag") { request, context -> HTTPResponse.Status in
                let buffer = try await request.body.collect(upTo: .max)
                let tag = try context.parameters.require("tag")
                try await persist.create(key: tag, value: String(buffer: buffer))
                return .ok
            }
            let app = Application(responder: setup.router.buildResponder())
            try await app.test(.router) { client in
                let tag = UUID().uuidString
                try await client.execute(uri: "/create/\(tag)", method: .put, body: Self.body("Persist")) { _ in }
                try await client.execute(uri: "/persist/\(tag)", method: .get) { response in
                    #expect(String(buffer: response.body) == "Persist")
                }
            }
        }
    }

    @Test(arguments: StoreFixture.all)
    func doubleCreateFails(_ fixture: StoreFixture) async throws {
        try await Self.withSetup(fixture) { setup in
            let persist = setup.persist
            setup.router.put("/create/:tag") { request, context -> HTTPResponse.Status in
                let buffer = try await request.body.collect(upTo: .max)
                let tag = try context.parameters.require("tag")
                do {
                    try await persist.create(key: tag, value: String(buffer: buffer))
                } catch let error as PersistError where error == .duplicate {
                    throw HTTPError(.conflict)
                }
                return .ok
            }
            let app = Application(responder: setup.router.buildResponder())
            try await app.test(.router) { client in
                let tag = UUID().uuidString
                try await client.execute(uri: "/create/\(tag)", method: .put, body: Self.body("Persist")) { response in
                    #expect(response.status == .ok)
                }
                try await client.execute(uri: "/create/\(tag)", method: .put, body: Self.body("Persist")) { response in
                    #expect(response.status == .conflict)
                }
            }
        }
    }

    @Test(arguments: StoreFixture.all)
    func setTwice(_ fixture: StoreFixture) async throws {
        try await Self.withSetup(fixture) { setup in
            let app = Application(responder: setup.router.buildResponder())
            try await app.test(.router) { client in
                let tag = UUID().uuidString
                try await client.execute(uri: "/persist/\(tag)", method: .put, body: Self.body("test1")) { _ in }
                try await client.execute(uri: "/persist/\(tag)", method: .put, body: Self.body("test2")) { response in
                    #expect(response.status == .ok)
                }
                try await client.execute(uri: "/persist/\(tag)", method: .get) { response in
                    #expect(String(buffer: response.body) == "test2")
                }
            }
        }
    }

    @Test(arguments: StoreFixture.all)
    func expires(_ fixture: StoreFixture) async throws {
        try await Self.withSetup(fixture) { setup in
            let clock = setup.clock
            let app = Application(responder: setup.router.buildResponder())
            try await app.test(.router) { client in
                let tag1 = UUID().uuidString
                let tag2 = UUID().uuidString
                try await client.execute(uri: "/persist/\(tag1)/0", method: .put, body: Self.body("ThisIsTest1")) { _ in }
                try await client.execute(uri: "/persist/\(tag2)/10", method: .put, body: Self.body("ThisIsTest2")) { _ in }
                clock.advance(by: .seconds(1))
                try await client.execute(uri: "/persist/\(tag1)", method: .get) { response in
                    #expect(response.status == .noContent)
                }
                try await client.execute(uri: "/persist/\(tag2)", method: .get) { response in
                    #expect(String(buffer: response.body) == "ThisIsTest2")
                }
            }
        }
    }

    @Test(arguments: StoreFixture.all)
    func timeToLive(_ fixture: StoreFixture) async throws {
        try await Self.withSetup(fixture) { setup in
            let clock = setup.clock
            let app = Application(responder: setup.router.buildResponder())
            try await app.test(.router) { client in
                let tag1 = UUID().uuidString
                try await client.execute(uri: "/persist/\(tag1)/10", method: .put, body: Self.body("ThisIsTest2")) { _ in }
                try await client.execute(uri: "/persist/\(tag1)/ttl", method: .get) { response in
                    let ttl = try #require(Int(String(buffer: response.body)))
                    #expect(ttl <= 10 && ttl > 1)
                }
                // The time left follows the store's clock.
                clock.advance(by: .seconds(4))
                try await client.execute(uri: "/persist/\(tag1)/ttl", method: .get) { response in
                    let ttl = try #require(Int(String(buffer: response.body)))
                    #expect(ttl <= 6 && ttl >= 5)
                }
            }
        }
    }

    @Test(arguments: StoreFixture.all)
    func codable(_ fixture: StoreFixture) async throws {
        struct TestCodable: Codable {
            let buffer: String
        }
        try await Self.withSetup(fixture) { setup in
            let persist = setup.persist
            setup.router.put("/codable/:tag") { request, context -> HTTPResponse.Status in
                guard let tag = context.parameters.get("tag") else { throw HTTPError(.badRequest) }
                let buffer = try await request.body.collect(upTo: .max)
                try await persist.set(key: tag, value: TestCodable(buffer: String(buffer: buffer)))
                return .ok
            }
            setup.router.get("/codable/:tag") { _, context -> String? in
                guard let tag = context.parameters.get("tag") else { throw HTTPError(.badRequest) }
                let value = try await persist.get(key: tag, as: TestCodable.self)
                return value?.buffer
            }
            let app = Application(responder: setup.router.buildResponder())
            try await app.test(.router) { client in
                let tag = UUID().uuidString
                try await client.execute(uri: "/codable/\(tag)", method: .put, body: Self.body("Persist")) { _ in }
                try await client.execute(uri: "/codable/\(tag)", method: .get) { response in
                    #expect(String(buffer: response.body) == "Persist")
                }
            }
        }
    }

    @Test(arguments: StoreFixture.all)
    func invalidGetAs(_ fixture: StoreFixture) async throws {
        struct TestCodable: Codable {
            let buffer: String
        }
        try await Self.withSetup(fixture) { setup in
            let persist = setup.persist
            setup.router.put("/invalid") { _, _ -> HTTPResponse.Status in
                try await persist.set(key: "test", value: TestCodable(buffer: "hello"))
                return .ok
            }
            setup.router.get("/invalid") { _, _ -> String? in
                do {
                    return try await persist.get(key: "test", as: String.self)
                } catch let error as PersistError where error == .invalidConversion {
                    throw HTTPError(.badRequest)
                }
            }
            let app = Application(router: setup.router)
            try await app.test(.router) { client in
                try await client.execute(uri: "/invalid", method: .put)
                try await client.execute(uri: "/invalid", method: .get) { response in
                    #expect(response.status == .badRequest)
                }
            }
        }
    }

    @Test(arguments: StoreFixture.all)
    func remove(_ fixture: StoreFixture) async throws {
        try await Self.withSetup(fixture) { setup in
            let app = Application(responder: setup.router.buildResponder())
            try await app.test(.router) { client in
                let tag = UUID().uuidString
                try await client.execute(uri: "/persist/\(tag)", method: .put, body: Self.body("ThisIsTest1")) { _ in }
                try await client.execute(uri: "/persist/\(tag)", method: .delete) { _ in }
                try await client.execute(uri: "/persist/\(tag)", method: .get) { response in
                    #expect(response.status == .noContent)
                }
            }
        }
    }

    @Test(arguments: StoreFixture.all)
    func expireAndAdd(_ fixture: StoreFixture) async throws {
        try await Self.withSetup(fixture) { setup in
            let clock = setup.clock
            let app = Application(responder: setup.router.buildResponder())
            try await app.test(.router) { client in
                let tag = UUID().uuidString
                try await client.execute(uri: "/persist/\(tag)/0", method: .put, body: Self.body("ThisIsTest1")) { _ in }
                clock.advance(by: .seconds(1))
                try await client.execute(uri: "/persist/\(tag)", method: .get) { response in
                    #expect(response.status == .noContent)
                }
                try await client.execute(uri: "/persist/\(tag)/10", method: .put, body: Self.body("ThisIsTest1")) { response in
                    #expect(response.status == .ok)
                }
                try await client.execute(uri: "/persist/\(tag)", method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(String(buffer: response.body) == "ThisIsTest1")
                }
            }
        }
    }

    /// Hummingbird's `testTidy`: the driver runs as a service that sweeps every millisecond, and
    /// a value that has not expired survives the sweeps.
    @Test(arguments: StoreFixture.all)
    func tidy(_ fixture: StoreFixture) async throws {
        try await Self.withSetup(fixture, reclaimInterval: .milliseconds(1)) { setup in
            let app = Application(responder: setup.router.buildResponder(), services: [setup.persist])
            try await app.test(.router) { client in
                let tag = UUID().uuidString
                try await client.execute(uri: "/persist/\(tag)/10", method: .put, body: Self.body("NotExpired")) { _ in }
                try await Task.sleep(for: .milliseconds(20))
                try await client.execute(uri: "/persist/\(tag)", method: .get) { response in
                    #expect(String(buffer: response.body) == "NotExpired")
                }
            }
        }
    }
}
