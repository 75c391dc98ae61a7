import CTroveTestSpawn
import Foundation
import Testing
import Trove
import TroveTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The progress of `trove copy`: a line rewritten in place when standard error is a terminal
/// (a pseudo-terminal the test allocates), nothing but the summary when it is a pipe, and JSON
/// lines with `--json-progress`.
extension CopySyncCLITests {
    /// 64 values of 4 MiB in a file store: a copy long enough (a quarter of a gigabyte written
    /// and synced) for progress to be shown several times at five times a second.
    static func progressSource() async throws -> Scratch {
        let scratch = try Scratch()
        let store = try FileSystemStore(root: scratch.directory.appendingPathComponent("store", isDirectory: true))
        let value = patternedBytes(4 << 20, seed: 5)
        for index in 0..<64 {
            try await store.set(value, for: StoreKey(validating: String(format: "values/%03d", index)))
        }
        return scratch
    }

    @Test("on a terminal, a line of keys and bytes of the totals, rate and time left, rewritten in place")
    func progressOnATerminal() async throws {
        let scratch = try await Self.progressSource()
        defer { scratch.remove() }
        let destination = "sqlite://" + scratch.directory.appendingPathComponent("copy.db").path
        let (status, stderr) = try await Self.troveWithTerminalStandardError(
            ["copy", scratch.storeURL, destination, "--transfers", "2"], scratch: scratch)
        #expect(status == 0, "\(stderr)")

        // Each rewrite starts with a carriage return and an erase to the end of the line.
        let rewrites = stderr.components(separatedBy: "\r\u{1B}[K").dropFirst()
        let lines = rewrites.filter { !$0.isEmpty }
        try #require(lines.count >= 2, "fewer than two progress lines: \(stderr.debugDescription)")
        let pattern = /^trove: copied (\d+) (?:of 64 keys, [0-9.]+ MiB of 256\.0 MiB \((\d+)%\)|keys?, [0-9.]+ (?:bytes|KiB|MiB)(?: \(\d+ keys? found so far\))?), [0-9.]+ (?:bytes|KiB|MiB|GiB)\/s(?:, \d+ (?:s|min \d+ s) left)?$/
        var previous = 0
        var ofTotals = 0
        for line in lines.dropLast() {
            let match = try #require(try pattern.wholeMatch(in: line), "not a progress line: \(line.debugDescription)")
            let copied = try #require(Int(match.output.1))
            #expect(copied >= previous && copied <= 64, "\(copied) after \(previous)")
            previous = copied
            if let percent = match.output.2 {
                ofTotals += 1
                #expect(Int(percent)! == copied * 100 / 64, "\(line)")
            }
        }
        #expect(ofTotals > 0, "no line showed the totals: \(lines)")
        // The last rewrite is the cleared line, then the summary, alone on its line.
        let summary = try #require(lines.last)
        #expect(summary.hasPrefix("trove: copied 64 keys, 256.0 MiB; skipped 0; "), "\(summary.debugDescription)")
        #expect(summary.hasSuffix("\n") && summary.filter { $0 == "\n" }.count == 1, "\(summary.debugDescription)")
    }

    @Test("not on a terminal, only the summary; --json-progress prints JSON lines that end with the totals")
    func progressForScripts() async throws {
        let scratch = try await Self.progressSource()
        defer { scratch.remove() }
        let quiet = try await scratch.trove(["copy", scratch.storeURL, scratch.directory.appendingPathComponent("quiet").absoluteString])
        #expect(quiet.status == 0)
        #expect(!quiet.stderr.contains("\r"), "\(quiet.stderr.debugDescription)")
        quiet.expectOneErrorLine()
        #expect(quiet.stdout.isEmpty)

        // Into SQLite, which takes long enough (each value written and synced) for several events.
        let copied = "sqlite://" + scratch.directory.appendingPathComponent("json.db").path
        let json = try await scratch.trove(["copy", scratch.storeURL, copied, "--json-progress", "--json", "--transfers", "2"])
        #expect(json.status == 0, "\(json.stderr)")
        let objects = try json.stdoutLines.map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], "not JSON: \($0)")
        }
        let summary = try #require(objects.last)
        #expect(summary["command"] as? String == "copy")
        #expect(summary["copied"] as? Int == 64)
        let events = objects.dropLast()
        try #require(events.count >= 2, "fewer than two progress events: \(json.stdoutText)")
        var previous = (copied: 0, bytes: 0)
        for (index, event) in events.enumerated() {
            #expect(event["event"] as? String == "progress")
            let copied = try #require(event["copied"] as? Int), bytes = try #require(event["bytes"] as? Int)
            #expect(copied >= previous.copied && bytes >= previous.bytes && bytes == copied * (4 << 20), "\(event)")
            previous = (copied, bytes)
            #expect(event["final"] as? Bool == (index == events.count - 1), "\(event)")
            for name in ["skipped", "totalKeys", "totalBytes", "bytesPerSecond", "seconds"] {
                #expect(event[name] is NSNumber, "\(name) in \(event)")
            }
        }
        let last = try #require(events.last)
        #expect(last["final"] as? Bool == true)
        #expect(last["copied"] as? Int == 64 && last["totalKeys"] as? Int == 64)
        #expect(last["bytes"] as? Int == 256 << 20 && last["totalBytes"] as? Int == 256 << 20)
        #expect(last["totalsComplete"] as? Bool == true)
        #expect(last["secondsLeft"] as? Double == 0)

        // Synchronizing the copy after one change: a copy and a deletion, in the final event.
        let extra = try scratch.file("extra", Data("x".utf8))
        #expect(try await scratch.trove(["--store", copied, "put", "extra", extra.path]).status == 0)
        #expect(try await scratch.trove(["--store", copied, "delete", "values/007"]).status == 0)
        let sync = try await scratch.trove(["sync", scratch.storeURL, copied, "--json-progress"])
        #expect(sync.status == 0, "\(sync.stderr)")
        let syncEvents = try sync.stdoutLines.map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], "not JSON: \($0)")
        }
        let end = try #require(syncEvents.last)
        #expect(end["event"] as? String == "progress" && end["final"] as? Bool == true, "\(end)")
        #expect(end["copied"] as? Int == 1 && end["deleted"] as? Int == 1 && end["bytes"] as? Int == 4 << 20, "\(end)")
        #expect(syncEvents.dropLast().allSatisfy { $0["final"] as? Bool == false })

        let refused = try await scratch.trove(["copy", scratch.storeURL, scratch.storeURL + "-x", "--json-progress", "--dry-run"])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("--json-progress reports a copy, and --dry-run copies nothing"), "\(refused.stderr)")
    }

    /// Runs `trove` with standard error on a new pseudo-terminal, and returns its exit status
    /// and everything it wrote there.
    static func troveWithTerminalStandardError(_ arguments: [String], scratch: Scratch) async throws -> (Int32, String) {
        var controller: Int32 = -1, terminal: Int32 = -1
        let opened = trove_test_open_pseudo_terminal(&controller, &terminal)
        try #require(opened == 0, "no pseudo-terminal: \(String(cString: strerror(opened)))")
        let master = controller
        defer { close(master) }

        let process = SpawnedProcess()
        process.executableURL = try BuiltExecutable.trove()
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["TROVE_STORE"] = nil
        environment["XDG_DATA_HOME"] = scratch.directory.appendingPathComponent("xdg", isDirectory: true).path
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(fileDescriptor: terminal, closeOnDealloc: false)
        do {
            try process.run()
        } catch {
            close(terminal)
            throw error
        }
        close(terminal)   // the child holds its own; reads end (EIO) once it has exited
        // Reads block: on a thread of their own, not the tasks' pool.
        let output = await withCheckedContinuation { (continuation: CheckedContinuation<Data, Never>) in
            Thread.detachNewThread {
                var bytes = Data()
                var buffer = [UInt8](repeating: 0, count: 65_536)
                while true {
                    let count = read(master, &buffer, buffer.count)
                    if count > 0 {
                        bytes.append(contentsOf: buffer[..<count])
                    } else if count < 0 && errno == EINTR {
                        continue
                    } else {
                        break
                    }
                }
                process.waitUntilExit()
                continuation.resume(returning: bytes)
            }
        }
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }
}
