import Foundation
import Testing
import Trove
import TroveSQLite
import TroveTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `trove copy` and `trove sync` killed at random moments: the destination never holds a torn
/// value, and running the same command again finishes the job without copying what was done.
@Suite("trove copy and sync, killed and run again")
struct CopyInterruptionTests {
    /// 4,000 small values and sixteen of 1 MiB: enough that a copy takes a good part of a
    /// second, so that the kills land in the middle of it.
    static func fill(_ store: some KeyValueStore) async throws {
        var writes: [BatchWrite] = []
        for index in 0..<4_000 {
            writes.append(BatchWrite(try StoreKey(validating: "small/\(index)"), patternedBytes(1_024, seed: UInt64(index))))
        }
        for batch in stride(from: 0, to: writes.count, by: 500) {
            for result in try await store.writeBatch(Array(writes[batch..<min(batch + 500, writes.count)])) { _ = try result.get() }
        }
        for index in 0..<16 {
            try await store.set(patternedBytes(1 << 20, seed: 10_000 + UInt64(index)), for: try StoreKey(validating: "large/\(index)"))
        }
    }

    /// Runs `trove arguments`, killing it with SIGKILL after `delay` if it is still running;
    /// returns whether it was killed.
    static func run(_ arguments: [String], killingAfter delay: Duration) async throws -> Bool {
        let process = SpawnedProcess()
        process.executableURL = try BuiltExecutable.trove()
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let killer = Task {
            try await Task.sleep(for: delay)
            guard process.isRunning else { return false }
            kill(process.processIdentifier, SIGKILL)
            return true
        }
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                process.waitUntilExit()
                continuation.resume()
            }
        }
        killer.cancel()
        let killed = (try? await killer.value) ?? false
        if !killed {
            #expect(process.terminationStatus == 0, "trove \(arguments.joined(separator: " ")) ended with \(process.terminationStatus)")
        }
        return killed
    }

    /// Expects every key of `destination` to hold the source's value whole: some may be
    /// missing, none torn or foreign.
    static func expectOnlyWholeValues(_ source: some KeyValueStore, _ destination: some KeyValueStore,
                                      sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let comparison = try await source.compare(with: destination, byContent: true)
        let wrong = comparison.differences.filter { $0.kind != .onlyInSource }
        #expect(wrong.isEmpty, "the destination holds values the source does not: \(wrong.prefix(5))", sourceLocation: sourceLocation)
    }

    @Test("copy --no-replace or sync killed five times, then run again: the destination equals the source, and one more run copies nothing",
          arguments: ["copy", "sync"])
    func killedAndRunAgain(_ command: String) async throws {
        try await withScratchDirectory { directory in
            let sourceURL = directory.appendingPathComponent("source", isDirectory: true)
            let source = try FileSystemStore(root: sourceURL)
            try await Self.fill(source)
            let databaseURL = directory.appendingPathComponent("destination.db")
            let arguments = [command, sourceURL.absoluteString, "sqlite://" + databaseURL.path, "--transfers", "4"]
                + (command == "copy" ? ["--no-replace"] : [])
            var generator = SystemRandomNumberGenerator()
            var interrupted = 0
            for _ in 0..<5 {
                let delay = Duration.milliseconds(Int.random(in: 50...250, using: &generator))
                if try await Self.run(arguments, killingAfter: delay) { interrupted += 1 }
                let destination = try await SQLiteStore(path: databaseURL)
                try await Self.expectOnlyWholeValues(source, destination)
            }
            print("trove \(command): \(interrupted) of 5 runs killed before they ended")
            #expect(interrupted > 0, "no run was killed before it ended: the fixture copies too fast to test interruption")
            #expect(try await Self.run(arguments, killingAfter: .seconds(600)) == false)

            let destination = try await SQLiteStore(path: databaseURL)
            let comparison = try await source.compare(with: destination, byContent: true)
            #expect(comparison.isIdentical, "\(comparison.differences.prefix(5))")
            #expect(comparison.matchingCount == 4_016)

            // A run after a complete one writes nothing.
            let again = try await ChildProcess.run(try BuiltExecutable.trove(), arguments + ["--json"], scratch: directory)
            #expect(again.status == 0, "\(again.errors)")
            let summary = try JSONSerialization.jsonObject(with: again.output) as? [String: Any]
            #expect(summary?["copied"] as? Int == 0, "\(again.outputText)")
        }
    }
}
