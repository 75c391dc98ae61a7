import Foundation
import Testing
import Trove

@Suite("Namespaces for prefixed stores")
struct KeyNamespaceTests {
    @Test func aTrailingSlashNamesTheSameNamespace() async throws {
        let memory = MemoryStore()
        try await memory.prefixed("app/").set(Data("1".utf8), for: "alice")
        #expect(try await memory["app/alice"] == Data("1".utf8))
        #expect(try await memory.prefixed("app")["alice"] == Data("1".utf8))
        #expect(KeyNamespace("app/") == KeyNamespace("app"))
        #expect(KeyNamespace("a/b/").description == "a/b/")
    }

    @Test(arguments: ["", "/", "app//", "//", "a//b/", "../x"])
    func invalidNamespacesAreRejected(_ text: String) {
        let error = #expect(throws: StoreError.self) { try KeyNamespace(validating: text) }
        #expect(error?.code == .invalidKey)
    }
}
