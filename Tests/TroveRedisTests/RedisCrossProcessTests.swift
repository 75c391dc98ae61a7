import Foundation
import Testing
import Trove
import TroveRedis
import TroveRedisClient
import TroveTestSupport

/// Compare-and-swap across processes: two helper processes increment one counter 400 times
/// each through `update`, and no increment is lost.
@Suite("RedisStore: cross-process compare-and-swap", .enabled(if: TestServer.redis.isAvailable, TestServer.redis.absence))
struct RedisCrossProcessTests {
    @Test(.timeLimit(.minutes(3)))
    func twoProcessesIncrementingOneKeyLoseNothing() async throws {
        let helper = try helperExecutable()
        let prefix = uniquePrefix("cross-process")
        let url = try TestServer.redis.require() + "/0?prefix=" + prefix
        async let first = runToEnd(helper, ["cas-increment", url, "counters/shared", "400"])
        async let second = runToEnd(helper, ["cas-increment", url, "counters/shared", "400"])
        for (index, outcome) in try await [first, second].enumerated() {
            #expect(outcome.status == 0 && outcome.output == "done\n", "helper \(index + 1) exited with \(outcome.status): \(outcome.errors)")
        }
        try await withTestClient { client in
            let store = RedisStore(client: client, prefix: prefix)
            #expect(try await store.read("counters/shared")?.value == Data("800".utf8))
            try await deleteServerKeys(withPrefix: prefix, client: client)
        }
    }

    /// The same on the cluster: the counter's entry and its bucket's index live on one
    /// primary, and every compare-and-swap is one script there.
    @Test(.timeLimit(.minutes(3)), .enabled(if: TestServer.redisCluster.isAvailable, TestServer.redisCluster.absence))
    func twoProcessesIncrementingOneKeyOnTheClusterLoseNothing() async throws {
        let helper = try helperExecutable()
        let prefix = uniquePrefix("cross-process")
        let url = try TestServer.redisCluster.require() + "/?prefix=" + prefix
        async let first = runToEnd(helper, ["cas-increment", url, "counters/shared", "400"])
        async let second = runToEnd(helper, ["cas-increment", url, "counters/shared", "400"])
        for (index, outcome) in try await [first, second].enumerated() {
            #expect(outcome.status == 0 && outcome.output == "done\n", "helper \(index + 1) exited with \(outcome.status): \(outcome.errors)")
        }
        try await withClusterClient { client in
            let store = RedisStore(client: client, prefix: prefix)
            #expect(try await store.read("counters/shared")?.value == Data("800".utf8))
            try await deleteClusterKeys(withPrefix: prefix, client: client)
        }
    }

    private func helperExecutable() throws -> URL {
        var directories: [URL] = []
        for bundle in Bundle.allBundles where bundle.bundleURL.pathExtension == "xctest" {
            directories.append(bundle.bundleURL.deletingLastPathComponent())
        }
        if let first = CommandLine.arguments.first {
            directories.append(URL(fileURLWithPath: first).resolvingSymlinksInPath().deletingLastPathComponent())
        }
        for directory in directories {
            let candidate = directory.appendingPathComponent("TroveRedisTestHelper")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw HelperMissing(description: "TroveRedisTestHelper was not found next to the test bundle (looked in: "
                            + directories.map(\.path).joined(separator: ", ") + ")")
    }

    struct HelperMissing: Error, CustomStringConvertible { let description: String }

    struct Outcome: Sendable {
        var status: Int32
        var output: String
        var errors: String
    }

    /// Runs `executable` to its end and returns its status and output.
    private func runToEnd(_ executable: URL, _ arguments: [String]) async throws -> Outcome {
        let process = SpawnedProcess()
        process.executableURL = executable
        process.arguments = arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { ended in continuation.resume(returning: ended.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        return Outcome(status: status,
                       output: String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
                       errors: String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }
}
