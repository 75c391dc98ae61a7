import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import Trove
import TroveIntegrationTestSupport

/// README.md's TroveHummingbird example is ReadmeExample.swift, word for word, and it works.
@Suite("README: TroveHummingbird")
struct HummingbirdReadmeExampleTests {
    static let marker = "// TroveHummingbird example"

    @Test func theReadmeExampleIsTheCompiledOneWordForWord() throws {
        let readme = try #require(try ReadmeBlocks.readmeExample(startingWith: Self.marker), "README.md has no block starting with \(Self.marker)")
        let source = try ReadmeBlocks.sourceExample(at: "Tests/TroveHummingbirdTests/ReadmeExample.swift", from: Self.marker)
        #expect(readme == source, "README.md and Tests/TroveHummingbirdTests/ReadmeExample.swift differ")
        #expect(readme.count > 10)
    }

    @Test func theExampleCountsVisitsInItsSessionAndKeepsThemInFiles() async throws {
        try await withScratchDirectory { directory in
            let app = try makeApplication(dataDirectory: directory)
            try await app.test(.live) { client in
                let setCookie = try await client.execute(uri: "/login?name=alice", method: .post) { response in
                    #expect(response.status == .ok)
                    return response.headers[.setCookie]
                }
                let cookie = try #require(setCookie?.split(separator: ";").first.map(String.init))
                for count in 1...2 {
                    try await client.execute(uri: "/visits", method: .get, headers: [.cookie: cookie]) { response in
                        #expect(String(buffer: response.body) == "alice has visited \(count) times")
                    }
                }
                try await client.execute(uri: "/visits", method: .get) { response in
                    #expect(response.status == .unauthorized)
                }
            }
            let files = try visibleFiles(in: directory.appendingPathComponent("hummingbird.d"))
            #expect(files.count == 2)
            #expect(files.contains("visits%252Falice"))
            #expect(files.contains { $0.hasPrefix("hbs.") })
        }
    }
}
