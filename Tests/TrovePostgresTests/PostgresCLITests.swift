import Foundation
import Testing
import Trove
@testable import TrovePostgres
import TroveTestSupport

/// The `trove` command line on `postgres:` and `postgresql:` URLs, run as a separate process.
@Suite("trove command line on PostgreSQL stores", .enabled(if: TestServer.postgres.isAvailable, TestServer.postgres.absence))
struct PostgresCLITests {
    /// Runs the `trove` built beside the tests with `arguments`, `input` on its standard input.
    func trove(_ arguments: [String], input: Data = Data()) async throws -> (status: Int32, output: String, errors: String) {
        let executable = try locateTrove()
        return try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result {
                    let process = SpawnedProcess()
                    process.executableURL = executable
                    process.arguments = arguments
                    var environment = ProcessInfo.processInfo.environment
                    environment["TROVE_STORE"] = nil
                    process.environment = environment
                    let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
                    process.standardInput = stdin
                    process.standardOutput = stdout
                    process.standardError = stderr
                    try process.run()
                    stdin.fileHandleForWriting.write(input)
                    try stdin.fileHandleForWriting.close()
                    let output = stdout.fileHandleForReading.readDataToEndOfFile()
                    let errors = stderr.fileHandleForReading.readDataToEndOfFile()
                    process.waitUntilExit()
                    return (process.terminationStatus, String(decoding: output, as: UTF8.self), String(decoding: errors, as: UTF8.self))
                })
            }
        }
    }

    func locateTrove() throws -> URL {
        var directories: [URL] = []
        for bundle in Bundle.allBundles where bundle.bundleURL.pathExtension == "xctest" {
            directories.append(bundle.bundleURL.deletingLastPathComponent())
        }
        if let first = CommandLine.arguments.first {
            directories.append(URL(fileURLWithPath: first).resolvingSymlinksInPath().deletingLastPathComponent())
        }
        for directory in directories where FileManager.default.isExecutableFile(atPath: directory.appendingPathComponent("trove").path) {
            return directory.appendingPathComponent("trove")
        }
        throw StoreError(.io, operation: .open, message: "trove was not found beside the tests in \(directories.map(\.path))")
    }

    @Test func putGetListAndDeleteThroughBothSchemes() async throws {
        let table = freshName("cli_")
        let base = try TestServer.postgres.require()
        let store = base + "?table=\(table)"
        let other = base.replacingOccurrences(of: "postgres://", with: "postgresql://") + "?table=\(table)"
        defer { Task { _ = try? await execute("DROP TABLE IF EXISTS public.\(table)") } }

        let put = try await trove(["--store", store, "put", "docs/é", "-"], input: Data("hello".utf8))
        #expect(put.status == 0, "\(put.errors)")
        let get = try await trove(["--store", other, "get", "docs/é"])
        #expect(get.status == 0 && get.output == "hello", "\(get.errors)")
        let list = try await trove(["--store", store, "list", "docs/"])
        #expect(list.output.split(separator: "\n") == ["docs/é"])
        let delete = try await trove(["--store", other, "delete", "docs/é"])
        #expect(delete.status == 0, "\(delete.errors)")
        #expect(try await trove(["--store", store, "get", "docs/é"]).status == 1)

        let password = try postgresSettings().password ?? "?"
        let refused = try await trove(["--store", base.replacingOccurrences(of: password, with: "not-it"), "get", "x"])
        #expect(refused.status != 0)
        #expect(refused.errors.contains("password authentication failed"), "\(refused.errors)")
        #expect(!refused.errors.contains("not-it") && !refused.errors.contains(password), "\(refused.errors)")
    }
}
