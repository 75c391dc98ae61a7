// The TroveVapor example of README.md, word for word from `// TroveVapor example` to the end
// of the function (ReadmeExampleTests checks it); the tests below run it.
import Foundation
import Trove
import TroveVapor
import Vapor

// TroveVapor example
func configure(_ app: Application, dataDirectory: URL) throws {
    // The cache and the sessions live in files under dataDirectory/vapor/.
    let store = try FileSystemStore(root: dataDirectory).prefixed("vapor")
    try app.caches.use(.trove(store.prefixed("cache")))
    try app.sessions.use(.trove(store.prefixed("sessions"), lifetime: .seconds(7 * 86_400)))
    app.middleware.use(app.sessions.middleware)

    app.post("login") { req -> HTTPStatus in
        req.session.data["name"] = req.query["name"] ?? "guest"
        return .ok
    }
    app.get("greeting") { req async throws -> String in
        guard let name = req.session.data["name"] else { throw Abort(.unauthorized) }
        if let greeting = try await req.cache.get("greeting/\(name)", as: String.self) {
            return greeting + " (cached)"
        }
        let greeting = "Hello, \(name)!"
        try await req.cache.set("greeting/\(name)", to: greeting, expiresIn: .minutes(5))
        return greeting
    }
}
