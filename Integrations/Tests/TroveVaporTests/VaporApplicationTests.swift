import Foundation
import Testing
import Trove
import TroveIntegrationTestSupport
import TroveVapor
import Vapor
import VaporTesting

/// Vapor applications whose cache and sessions live in a ``FileSystemStore``, driven through
/// their routes over HTTP on a loopback port.
@Suite("Vapor applications")
struct VaporApplicationTests {
    /// Routes over the cache and the sessions, configured with `.trove` providers over a store in
    /// `root`, deciding expiry by `clock`.
    static func configure(_ app: Application, root: URL, clock: ManualWallClock) throws {
        let store = try FileSystemStore(root: root, clock: clock.wallClock)
        try app.caches.use(.trove(store.prefixed("cache")))
        try app.sessions.use(.trove(store.prefixed("sessions")))
        app.middleware.use(app.sessions.middleware)

        app.put("cache") { req async throws -> HTTPStatus in
            let key: String = try req.query.get(at: "key")
            let ttl: Int? = req.query["ttl"]
            try await req.cache.set(key, to: req.body.string ?? "", expiresIn: ttl.map { .seconds($0) })
            return .ok
        }
        app.get("cache") { req async throws -> String in
            guard let value = try await req.cache.get(try req.query.get(at: "key"), as: String.self) else {
                throw Abort(.notFound)
            }
            return value
        }
        app.delete("cache") { req async throws -> HTTPStatus in
            try await req.cache.delete(try req.query.get(at: "key"))
            return .noContent
        }
        app.post("login") { req -> HTTPStatus in
            req.session.data["name"] = try req.query.get(at: "name")
            return .ok
        }
        app.get("me") { req -> String in
            guard let name = req.session.data["name"] else { throw Abort(.unauthorized) }
            return name
        }
        app.post("logout") { req -> HTTPStatus in
            req.session.destroy()
            return .ok
        }
    }

    static func withRunningApp(_ body: (any TestingApplicationTester, URL, ManualWallClock) async throws -> Void) async throws {
        try await withScratchDirectory { directory in
            let clock = ManualWallClock()
            let root = directory.appendingPathComponent("data")
            try await withApp(configure: { try configure($0, root: root, clock: clock) }) { app in
                try await body(try app.testing(method: .running(port: 0)), root, clock)
            }
        }
    }

    @Test func theCacheIsSetReadExpiredAndDeletedThroughRoutes() async throws {
        try await Self.withRunningApp { tester, root, clock in
            let key = "user:42/profile?v=1"
            let query = "key=" + (key.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
            try await tester.test(.GET, "cache?\(query)") { #expect($0.status == .notFound) }
            try await tester.test(.PUT, "cache?\(query)&ttl=60", body: ByteBuffer(string: "alice")) { #expect($0.status == .ok) }
            try await tester.test(.GET, "cache?\(query)") { response in
                #expect(response.status == .ok)
                #expect(response.body.string == "alice")
            }
            // One file directly under the cache's directory (the key's `%` is `%25` in file names).
            #expect(try visibleFiles(in: root.appendingPathComponent("cache.d")) == ["user:42%252Fprofile?v=1"])

            clock.advance(by: .seconds(61))
            try await tester.test(.GET, "cache?\(query)") { #expect($0.status == .notFound) }

            try await tester.test(.PUT, "cache?\(query)", body: ByteBuffer(string: "bob")) { #expect($0.status == .ok) }
            try await tester.test(.DELETE, "cache?\(query)") { #expect($0.status == .noContent) }
            try await tester.test(.GET, "cache?\(query)") { #expect($0.status == .notFound) }
            #expect(try visibleFiles(in: root.appendingPathComponent("cache.d")).isEmpty)
        }
    }

    @Test func aLoginCreatesASessionFileThatLaterRequestsSeeAndLogoutRemoves() async throws {
        try await Self.withRunningApp { tester, root, _ in
            let sessions = root.appendingPathComponent("sessions.d")
            var setCookie: String?
            try await tester.test(.POST, "login?name=alice") { response in
                #expect(response.status == .ok)
                setCookie = response.headers.first(name: .setCookie)
            }
            let cookie = try #require(setCookie?.split(separator: ";").first.map(String.init))
            #expect(cookie.hasPrefix("vapor-session="))
            let id = SessionID(string: String(cookie.dropFirst("vapor-session=".count)))

            let files = try visibleFiles(in: sessions)
            #expect(files.count == 1)
            let key = try StoreKey(validating: try #require(files.first).replacingOccurrences(of: "%25", with: "%"))
            #expect(key == (try TroveSessions(store: MemoryStore()).storeKey(for: id)))
            let contents = try Data(contentsOf: sessions.appendingPathComponent(try #require(files.first)))
            #expect(String(decoding: contents, as: UTF8.self).contains(#"{"name":"alice"}"#))

            let headers = HTTPHeaders([("Cookie", cookie)])
            try await tester.test(.GET, "me", headers: headers) { response in
                #expect(response.status == .ok)
                #expect(response.body.string == "alice")
            }
            try await tester.test(.GET, "me") { #expect($0.status == .unauthorized) }
            try await tester.test(.POST, "logout", headers: headers) { #expect($0.status == .ok) }
            #expect(try visibleFiles(in: sessions).isEmpty)
            try await tester.test(.GET, "me", headers: headers) { #expect($0.status == .unauthorized) }
        }
    }

    /// A cookie naming a path finds no session, and neither reads nor writes outside the store.
    @Test func aForgedSessionCookieFindsNoSession() async throws {
        try await Self.withRunningApp { tester, root, _ in
            let headers = HTTPHeaders([("Cookie", "vapor-session=../../etc%2Fpasswd")])
            try await tester.test(.GET, "me", headers: headers) { #expect($0.status == .unauthorized) }
            #expect(try visibleFiles(in: root.appendingPathComponent("sessions.d")).isEmpty)
            #expect(try visibleFiles(in: root.deletingLastPathComponent()) == ["data"])
        }
    }
}
