import Foundation
import Testing
import Trove

/// Compare-and-swap across processes: two helper processes and this one increment one counter
/// in one file store at the same time, and no increment is lost.
@Suite("Cross-process compare-and-swap")
struct CrossProcessTests {
    @Test(.timeLimit(.minutes(5)))
    func incrementsFromThreeProcessesAreAllKept() async throws {
        let helper = try HelperBinary.locate()
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("trove-cross-process-\(UUID().uuidString)", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let root = directory.appendingPathComponent("store", isDirectory: true)
        let store = try FileSystemStore(root: root)
        let key: StoreKey = "counters/shared"

        async let first = HelperBinary.run(helper, arguments: ["cas-increment", root.path, key.rawValue, "200"])
        async let second = HelperBinary.run(helper, arguments: ["cas-increment", root.path, key.rawValue, "200"])
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
            #expect(result.status == 0, "helper process \(index + 1) exited with \(result.status): \(result.standardError)")
        }
        if let localError { Issue.record("in-process increments failed: \(localError)") }
        let final = try await store.read(key).map { try decimal($0.value) }
        #expect(final == 600, "2 processes x 200 + 200 in-process compare-and-swap increments must give exactly 600")
    }

    @Test func helperReportsFailuresOnOneLine() async throws {
        let helper = try HelperBinary.locate()
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("trove-cross-process-\(UUID().uuidString)", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
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
            let result = try await HelperBinary.run(helper, arguments: arguments)
            #expect(result.status == status, "TroveTestHelper \(arguments) exited with \(result.status): \(result.standardError)")
            #expect(result.standardError.hasPrefix("TroveTestHelper: "), "\(arguments)")
            #expect(!result.standardError.contains("\n"), "the message for \(arguments) must be one line")
        }
    }

    private func decimal(_ data: Data) throws -> Int {
        guard let value = Int(String(decoding: data, as: UTF8.self)) else {
            throw HelperBinary.Failure("the counter holds \(data.count) bytes that are not a decimal number")
        }
        return value
    }
}

/// The `TroveTestHelper` executable, built beside the test bundle.
enum HelperBinary {
    /// A helper that could not be found or run.
    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// How a helper process ended.
    struct Result: Sendable {
        let status: Int32
        let standardError: String
    }

    /// The helper next to the running test bundle, or a failure naming where it looked.
    static func locate() throws -> URL {
        var directories: [URL] = []
        if let executable = Bundle.main.executableURL {
            directories.append(executable.resolvingSymlinksInPath().deletingLastPathComponent())
        }
        if let first = CommandLine.arguments.first {
            directories.append(URL(fileURLWithPath: first).resolvingSymlinksInPath().deletingLastPathComponent())
        }
        for bundle in Bundle.allBundles where bundle.bundleURL.pathExtension == "xctest" {
            directories.append(bundle.bundleURL.deletingLastPathComponent())
        }
        for directory in directories {
            let candidate = directory.appendingPathComponent("TroveTestHelper")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw Failure("TroveTestHelper was not found next to the test bundle (looked in: "
                      + directories.map(\.path).joined(separator: ", ")
                      + "); build it with `swift build --product TroveTestHelper` using the same build directory")
    }

    /// Runs the helper with `arguments` and waits for it to exit; cancelling the task stops it.
    static func run(_ executable: URL, arguments: [String]) async throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        let handle = ProcessHandle(process)
        let status = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int32, any Error>) in
                process.terminationHandler = { ended in continuation.resume(returning: ended.terminationStatus) }
                do {
                    try process.run()
                } catch {
                    process.terminationHandler = nil
                    continuation.resume(throwing: error)
                }
            }
        } onCancel: {
            handle.terminate()
        }
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return Result(status: status, standardError: message.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// A process that a cancellation handler may stop from another thread.
    ///
    /// `@unchecked Sendable`: the only use from another thread is `terminate()`, which Foundation
    /// documents as safe to call at any time, including after the process ended.
    private final class ProcessHandle: @unchecked Sendable {
        let process: Process
        init(_ process: Process) { self.process = process }
        func terminate() { if process.isRunning { process.terminate() } }
    }
}
