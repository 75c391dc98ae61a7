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
    /// 4,000 small values and sixteen of 1 MiB, for a copy long enough to be killed in the
    /// middle.
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
        // The kill is timed on a thread of its own: Swift's cooperative threads and dispatch's
        // global queue, which the suites running beside this one keep busy (with calls that
        // block, too), let a kill come long after its moment.
        let (seconds, attoseconds) = delay.components
        let killer = Thread {
            Thread.sleep(forTimeInterval: Double(seconds) + Double(attoseconds) / 1e18)
            guard process.isRunning else { return }
            kill(process.processIdentifier, SIGKILL)
        }
        killer.start()
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                process.waitUntilExit()
                continuation.resume()
            }
        }
        // Killed when SIGKILL ended it (the child may have exited just before the kill).
        let killed = process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL
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
            func commandLine(into database: URL) -> [String] {
                [command, sourceURL.absoluteString, "sqlite://" + database.path, "--transfers", "4"]
                    + (command == "copy" ? ["--no-replace"] : [])
            }
            let arguments = commandLine(into: databaseURL)
            // How long a whole run takes on this machine (the shorter of two, into destinations
            // of their own: the first reads the source cold), so that the kills land inside a
            // run on a fast machine as on a slow one: the first run has the whole job to do,
            // and is killed within 10 to 50 % of that time.
            var whole = Duration.seconds(600)
            for probe in 0..<2 {
                let probeURL = directory.appendingPathComponent("probe\(probe).db")
                let started = ContinuousClock.now
                #expect(try await Self.run(commandLine(into: probeURL), killingAfter: .seconds(600)) == false)
                whole = min(whole, ContinuousClock.now - started)
            }
            var generator = SystemRandomNumberGenerator()
            var interrupted = 0
            for _ in 0..<5 {
                let delay = whole * Double.random(in: 0.1...0.5, using: &generator)
                if try await Self.run(arguments, killingAfter: delay) { interrupted += 1 }
                let destination = try await SQLiteStore(path: databaseURL)
                try await Self.expectOnlyWholeValues(source, destination)
            }
            print("trove \(command): \(interrupted) of 5 runs killed before they ended (a whole run: \(whole))")
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
