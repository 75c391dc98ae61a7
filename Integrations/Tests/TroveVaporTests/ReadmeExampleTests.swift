import Foundation
import Testing
import Trove
import TroveIntegrationTestSupport
import Vapor
import VaporTesting

/// README.md's TroveVapor example is ReadmeExample.swift, word for word, and it works.
@Suite("README: TroveVapor")
struct VaporReadmeExampleTests {
    static let marker = "// TroveVapor example"

    @Test func theReadmeExampleIsTheCompiledOneWordForWord() throws {
        let readme = try #require(try ReadmeBlocks.readmeExample(startingWith: Self.marker), "README.md has no block starting with \(Self.marker)")
        let source = try ReadmeBlocks.sourceExample(at: "Tests/TroveVaporTests/ReadmeExample.swift", from: Self.marker)
        #expect(readme == source, "README.md and Tests/TroveVaporTests/ReadmeExample.swift differ")
        #expect(readme.count > 10)
    }

    @Test func theExampleGreetsFromItsSessionAndCachesTheGreetingInFiles() async throws {
        try await withScratchDirectory { directory in
            try await withApp(configure: { try configure($0, dataDirectory: directory) }) { app in
                let tester = try app.testing(method: .running(port: 0))
                var cookie: String?
                try await tester.test(.POST, "login?name=alice") { response in
                    #expect(response.status == .ok)
                    cookie = response.headers.first(name: .setCookie)?.split(separator: ";").first.map(String.init)
                }
                let headers = HTTPHeaders([("Cookie", try #require(cookie))])
                try await tester.test(.GET, "greeting", headers: headers) { response in
                    #expect(response.body.string == "Hello, alice!")
                }
                try await tester.test(.GET, "greeting", headers: headers) { response in
                    #expect(response.body.string == "Hello, alice! (cached)")
                }
                try await tester.test(.GET, "greeting") { response in
                    #expect(response.status == .unauthorized)
                }
            }
            let vapor = directory.appendingPathComponent("vapor.d")
            #expect(try visibleFiles(in: vapor.appendingPathComponent("cache.d")) == ["greeting%252Falice"])
            #expect(try visibleFiles(in: vapor.appendingPathComponent("sessions.d")).count == 1)
        }
    }
}
