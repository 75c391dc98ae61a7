import Foundation
import Hummingbird
import HummingbirdAuth
import HummingbirdTesting
import Testing
import Trove
import TroveHummingbird
import TroveIntegrationTestSupport

/// Hummingbird applications whose sessions live in a ``FileSystemStore`` through the driver,
/// driven over real HTTP on a loopback port.
@Suite("Hummingbird applications")
struct SessionApplicationTests {
    struct LoginSession: Codable, Sendable {
        var name: String
    }

    /// The value of the cookie `name` in a `Set-Cookie` header (`SESSION_ID=…; Expires=…`).
    static func cookieValue(_ name: String, in setCookie: String?) -> String? {
        guard let first = setCookie?.split(separator: ";").first else { return nil }
        let parts = first.split(separator: "=", maxSplits: 1)
        guard parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == name else { return nil }
        return String(parts[1])
    }

    @Test func aLoginCreatesASessionFileThatLaterRequestsSeeAndLogoutRemoves() async throws {
        try await withScratchDirectory { directory in
            let root = directory.appendingPathComponent("data")
            let store = try FileSystemStore(root: root).prefixed("sessions")
            let persist = try TrovePersistDriver(store: store)

            let router = Router(context: BasicSessionRequestContext<LoginSession, String>.self)
            router.add(middleware: SessionMiddleware(storage: persist))
            router.post("login") { request, context -> HTTPResponse.Status in
                let name = try request.uri.queryParameters.require("name")
                context.sessions.createSession(LoginSession(name: name), expiresIn: .seconds(600))
                return .ok
            }
            router.get("me") { _, context -> String in
                guard let session = context.sessions.session else { throw HTTPError(.unauthorized) }
                return session.name
            }
            router.post("logout") { _, context -> HTTPResponse.Status in
                context.sessions.clearSession()
                return .ok
            }
            let app = Application(router: router, services: [persist])
            let sessionsDirectory = root.appendingPathComponent("sessions.d")

            try await app.test(.live) { client in
                let setCookie = try await client.execute(uri: "/login?name=alice", method: .post) { response in
                    #expect(response.status == .ok)
                    return response.headers[.setCookie]
                }
                let sessionID = try #require(Self.cookieValue("SESSION_ID", in: setCookie))
                let cookie: HTTPFields = [.cookie: "SESSION_ID=\(sessionID)"]

                // The session is one file of the store, under the key SessionStorage gives it.
                let key = try persist.storeKey(for: "hbs.\(sessionID)")
                #expect(try await store.metadata(for: key) != nil)
                let files = try visibleFiles(in: sessionsDirectory)
                #expect(files.count == 1)
                // FileSystemStore writes the key's `%` as `%25` in file names.
                #expect(files.first?.replacingOccurrences(of: "%25", with: "%") == key.rawValue)
                let contents = try Data(contentsOf: sessionsDirectory.appendingPathComponent(try #require(files.first)))
                #expect(String(decoding: contents, as: UTF8.self).contains(#"{"name":"alice"}"#))

                try await client.execute(uri: "/me", method: .get, headers: cookie) { response in
                    #expect(response.status == .ok)
                    #expect(String(buffer: response.body) == "alice")
                }
                try await client.execute(uri: "/me", method: .get) { response in
                    #expect(response.status == .unauthorized)
                }
                try await client.execute(uri: "/logout", method: .post, headers: cookie) { response in
                    #expect(response.status == .ok)
                }
                #expect(try visibleFiles(in: sessionsDirectory).isEmpty)
                #expect(try await store.metadata(for: key) == nil)
                try await client.execute(uri: "/me", method: .get, headers: cookie) { response in
                    #expect(response.status == .unauthorized)
                }
            }
        }
    }

    /// A rate limiter keyed by client address and route, characters a store key cannot hold
    /// included, with a fixed window kept by the entry's expiry.
    @Test func aRateLimitKeyWithOddCharactersCountsPerWindow() async throws {
        let clock = ManualWallClock()
        let store = MemoryStore(clock: clock.wallClock)
        let persist = try TrovePersistDriver(store: store, clock: clock.wallClock)

        let router = Router()
        router.get("items/{id}") { request, _ -> Response in
            let client = request.headers[.init("X-Client")!] ?? "unknown"
            let key = "ratelimit:\(client):GET \(request.uri.path)"
            let count = (try await persist.get(key: key, as: Int.self) ?? 0) + 1
            if count == 1 {
                try await persist.set(key: key, value: count, expires: .seconds(60))
            } else {
                try await persist.set(key: key, value: count)  // keeps the window's expiry
            }
            return Response(status: count > 2 ? .tooManyRequests : .ok)
        }
        let app = Application(router: router)
        try await app.test(.live) { client in
            let odd: HTTPFields = [.init("X-Client")!: "203.0.113.7/24 %2F .."]
            let other: HTTPFields = [.init("X-Client")!: "203.0.113.7/25"]
            for expected in [HTTPResponse.Status.ok, .ok, .tooManyRequests] {
                try await client.execute(uri: "/items/1", method: .get, headers: odd) { response in
                    #expect(response.status == expected)
                }
            }
            try await client.execute(uri: "/items/1", method: .get, headers: other) { response in
                #expect(response.status == .ok)
            }
            clock.advance(by: .seconds(61))
            try await client.execute(uri: "/items/1", method: .get, headers: odd) { response in
                #expect(response.status == .ok)
            }
        }
        // The other client's window has expired; the first client's started again.
        let stored = try await store.keys(withPrefix: "").reduce(into: [String]()) { $0.append($1.rawValue) }
        #expect(stored == ["ratelimit:203.0.113.7%2F24 %252F ..:GET %2Fitems%2F1"])
        #expect(try await persist.get(key: "ratelimit:203.0.113.7/24 %2F ..:GET /items/1", as: Int.self) == 1)
    }
}
