import Foundation
import Testing
@_spi(Testing) import Trove
import TroveTestSupport
import TroveTestSupport

/// Compare-and-swap across processes: two helper processes and this one increment one counter
/// in one file store at the same time, and no increment is lost.
@Suite("Cross-process compare-and-swap")
struct CrossProcessTests {
    /// Every process with the platform's own system calls, and every process with the portable
    /// ones (record locks, link + unlink), as on platforms other than Linux.
    @Test(.timeLimit(.minutes(5)), arguments: [FileSystemStore.SystemCalls.native, .portable])
    func incrementsFromThreeProcessesAreAllKept(_ calls: FileSystemStore.SystemCalls) async throws {
        let helper = try BuiltExecutable.helper()
        try await withScratchDirectory("trove-cross-process") { directory in
            let root = directory.appendingPathComponent("store", isDirectory: true)
            let store = try FileSystemStore(root: root, systemCalls: calls)
            let key: StoreKey = "counters/shared"
            let environment = ["TROVE_TEST_SYSTEM_CALLS": calls == .portable ? "portable" : nil]

            async let first = ChildProcess.run(helper, ["cas-increment", root.path, key.rawValue, "200"], environment: environment)
            async let second = ChildProcess.run(helper, ["cas-increment", root.path, key.rawValue, "200"], environment: environment)
            var localError: (any Error)?
            do {
                for _ in 0..<200 {
                    let outcome = try await store.update(key) { current in
                        let count = try current.map { try decimal($0) } ?? 0
                        return .set(Data(String(count + 1).utf8))
                    }
                    guard case .stored = outcome else {
                        Issue.record("an in-process increment did not store: \(outcome)")
                        break
                    }
                }
            } catch {
                localError = error
            }
            let results = try await [first, second]

            for (index, result) in results.enumerated() {
                #expect(result.status == 0, "helper process \(index + 1) exited with \(result.status): \(result.errorMessage)")
            }
            if let localError { Issue.record("in-process increments failed: \(localError)") }
            let final = try await store.read(key).map { try decimal($0.value) }
            #expect(final == 600, "2 processes x 200 + 200 in-process compare-and-swap increments must give exactly 600")
        }
    }

    @Test func helperReportsFailuresOnOneLine() async throws {
        let helper = try BuiltExecutable.helper()
        try await withScratchDirectory("trove-cross-process") { directory in
            let notADirectory = directory.appendingPathComponent("file")
            try Data("not a directory".utf8).write(to: notADirectory)

            let cases: [(arguments: [String], status: Int32)] = [
                ([], 2),
                (["cas-increment", directory.path, "a//b", "1"], 2),
                (["cas-increment", directory.path, "k", "many"], 2),
                (["no-such-command"], 2),
                (["cas-increment", notADirectory.path, "k", "1"], 1),
            ]
            for (arguments, status) in cases {
                let result = try await ChildProcess.run(helper, arguments)
                #expect(result.status == status, "TroveTestHelper \(arguments) exited with \(result.status): \(result.errorMessage)")
                #expect(result.errorMessage.hasPrefix("TroveTestHelper: "), "\(arguments)")
                #expect(!result.errorMessage.contains("\n"), "the message for \(arguments) must be one line")
            }
        }
    }

    private func decimal(_ data: Data) throws -> Int {
        guard let value = Int(String(decoding: data, as: UTF8.self)) else {
            throw TestFailure("the counter holds \(data.count) bytes that are not a decimal number")
        }
        return value
    }
}
