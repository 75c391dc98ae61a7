// The TroveHummingbird example of README.md, word for word from `// TroveHummingbird example`
// to the end of the function (ReadmeExampleTests checks it); the tests below run it.
import Foundation
import Hummingbird
import HummingbirdAuth
import Trove
import TroveHummingbird

// TroveHummingbird example
struct Visits: Codable, Sendable {
    var count = 0
}

func makeApplication(dataDirectory: URL) throws -> some ApplicationProtocol {
    // Sessions and counters live in files under dataDirectory/hummingbird/.
    let store = try FileSystemStore(root: dataDirectory).prefixed("hummingbird")
    let persist = try TrovePersistDriver(store: store)

    let router = Router(context: BasicSessionRequestContext<String, String>.self)
    router.add(middleware: SessionMiddleware(storage: persist))
    router.post("login") { request, context -> HTTPResponse.Status in
        let name = request.uri.queryParameters.get("name") ?? "guest"
        context.sessions.createSession(name, expiresIn: .seconds(3600))
        return .ok
    }
    router.get("visits") { _, context -> String in
        guard let name = context.sessions.session else { throw HTTPError(.unauthorized) }
        var visits = try await persist.get(key: "visits/\(name)", as: Visits.self) ?? Visits()
        visits.count += 1
        try await persist.set(key: "visits/\(name)", value: visits)
        return "\(name) has visited \(visits.count) times"
    }
    // As a service, the driver sweeps expired entries from the store every ten minutes.
    return Application(router: router, services: [persist])
}
