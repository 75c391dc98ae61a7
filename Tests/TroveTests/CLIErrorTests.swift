import Foundation
import Testing
import TroveTestSupport

/// The command line's error paths, tried on purpose: local files that are missing, directories
/// or out of reach, bytes that are not UTF-8, negative durations, the help and the version.
/// Each ends with one line that says what and why, the exit status of its kind, and nothing
/// stored changed.
@Suite("trove command line: error paths")
struct CLIErrorTests {
    /// Runs `trove` with `arguments` on the file store of `scratch`.
    func trove(_ scratch: Scratch, _ arguments: [String], input: Data? = nil) async throws -> TroveResult {
        let standardInput = try input.map { try scratch.file("input-\(UUID().uuidString)", $0) }
        return try await scratch.trove(["--store", scratch.storeURL] + arguments, standardInput: standardInput)
    }

    /// Puts `value` under `key` in the file store of `scratch`.
    func put(_ scratch: Scratch, _ key: String, _ value: String) async throws {
        let result = try await trove(scratch, ["put", key, "-"], input: Data(value.utf8))
        try #require(result.status == 0, "\(result.stderr)")
    }

    /// Expects `key` to hold `value` in the file store of `scratch`.
    func expectValue(_ scratch: Scratch, _ key: String, _ value: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let result = try await trove(scratch, ["get", key])
        #expect(result.status == 0 && result.stdoutText == value, "\(key): \(result.stderr)", sourceLocation: sourceLocation)
    }

    // MARK: Files read

    @Test("queue push of a missing file or a directory says so and exits with 2")
    func queuePushOfMissingFile() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let missing = scratch.directory.appendingPathComponent("missing-file").path
        let result = try await trove(scratch, ["queue", "push", "jobs", missing])
        #expect(result.status == 2)
        result.expectOneErrorLine()
        #expect(result.stderr == "trove: cannot read '\(missing)': there is no such file\n")
        let directory = try await trove(scratch, ["queue", "push", "jobs", scratch.directory.path])
        #expect(directory.status == 2)
        #expect(directory.stderr == "trove: cannot read '\(scratch.directory.path)': it is a directory\n")
        #expect(try await trove(scratch, ["queue", "count", "jobs"]).stdoutText == "0\n")
    }

    @Test("put of a directory says so and exits with 2, the key untouched")
    func putOfDirectory() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try await put(scratch, "k", "before")
        let result = try await trove(scratch, ["put", "k", scratch.directory.path])
        #expect(result.status == 2)
        #expect(result.stderr == "trove: cannot read '\(scratch.directory.path)': it is a directory\n")
        try await expectValue(scratch, "k", "before")
    }

    // Root reads and writes whatever the permission bits say.
    @Test("put of an unreadable file says permission denied and exits with 2", .enabled(if: getuid() != 0))
    func putOfUnreadableFile() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try await put(scratch, "k", "before")
        let file = try scratch.file("secret", Data("x".utf8))
        try FileManager.default.setAttributes([.posixPermissions: 0o200], ofItemAtPath: file.path)
        let result = try await trove(scratch, ["put", "k", file.path])
        #expect(result.status == 2)
        #expect(result.stderr == "trove: cannot read '\(file.path)': permission denied\n")
        try await expectValue(scratch, "k", "before")
    }

    // MARK: Files written

    @Test("get --output into a missing directory says which and exits with 2, creating nothing")
    func getIntoMissingDirectory() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try await put(scratch, "k", "value")
        let directory = scratch.directory.appendingPathComponent("no-such-directory").path
        let result = try await trove(scratch, ["get", "k", "--output", directory + "/out"])
        #expect(result.status == 2)
        #expect(result.stderr == "trove: cannot write '\(directory)/out': there is no directory '\(directory)'\n")
        #expect(!FileManager.default.fileExists(atPath: directory))
        try await expectValue(scratch, "k", "value")
    }

    @Test("get --output naming a directory says so and exits with 2, the directory untouched")
    func getIntoDirectory() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try await put(scratch, "k", "value")
        let directory = scratch.directory.appendingPathComponent("target")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
        let result = try await trove(scratch, ["get", "k", "-o", directory.path])
        #expect(result.status == 2)
        #expect(result.stderr == "trove: cannot write '\(directory.path)': it is a directory\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
        let popped = try await trove(scratch, ["queue", "pop", "jobs", "--output", directory.path])
        #expect(popped.status == 2)
        #expect(popped.stderr == "trove: cannot write '\(directory.path)': it is a directory\n")
    }

    @Test("get --output into a directory that may not be written says permission denied, exit 2",
          .enabled(if: getuid() != 0))
    func getIntoUnwritableDirectory() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try await put(scratch, "k", "value")
        let directory = scratch.directory.appendingPathComponent("locked")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
        try FileManager.default.setAttributes([.posixPermissions: 0o500], ofItemAtPath: directory.path)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory.path) }
        let result = try await trove(scratch, ["get", "k", "--output", directory.path + "/out"])
        #expect(result.status == 2)
        #expect(result.stderr == "trove: cannot write '\(directory.path)/out': its directory '\(directory.path)': permission denied\n")
    }

    @Test("get --output of a missing key exits with 1 and leaves no file behind")
    func getMissingKeyIntoFile() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let directory = scratch.directory.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
        let result = try await trove(scratch, ["get", "nothing", "--output", directory.path + "/file"])
        #expect(result.status == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }

    // MARK: Arguments

    /// Runs `trove ARGUMENTS… KEY` where KEY is the bytes `printf` makes of `keyFormat`, through
    /// `/bin/sh`, since a Swift string cannot hold bytes that are not UTF-8.
    func troveWithRawKey(_ scratch: Scratch, _ arguments: [String], keyFormat: String) async throws -> TroveResult {
        let script = "exec \"$0\" --store \"$1\" " + arguments.joined(separator: " ") + " \"$(printf '\(keyFormat)')\""
        let outcome = try await ChildProcess.run(
            URL(fileURLWithPath: "/bin/sh"), ["-c", script, try BuiltExecutable.trove().path, scratch.storeURL],
            environment: ["XDG_DATA_HOME": scratch.directory.appendingPathComponent("xdg").path], scratch: scratch.directory)
        return TroveResult(status: outcome.status, stdout: outcome.output, stderr: outcome.errors)
    }

    @Test("a key of bytes that are not UTF-8 is refused with 2, shown with the bad byte, and nothing is stored")
    func keyThatIsNotUTF8() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let result = try await troveWithRawKey(scratch, ["put"], keyFormat: "caf\\351")
        #expect(result.status == 2)
        result.expectOneErrorLine()
        #expect(result.stderr == "trove: argument 4 is not valid UTF-8: 'caf\\xE9'\n")
        let listing = try await trove(scratch, ["list"])
        #expect(listing.status == 0)
        #expect(listing.stdout.isEmpty, "something was stored: \(listing.stdoutText)")
    }

    @Test("a long bad argument or key is clipped in the error")
    func longBadArgumentsAreClipped() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let notUTF8 = try await troveWithRawKey(scratch, ["get"], keyFormat: String(repeating: "a", count: 1_999) + "\\377")
        #expect(notUTF8.status == 2)
        #expect(notUTF8.stderr == "trove: argument 4 is not valid UTF-8: '\(String(repeating: "a", count: 64))…' (2000 bytes)\n")
        let longKey = String(repeating: "b", count: 2_000)
        let invalid = try await trove(scratch, ["get", longKey])
        #expect(invalid.status == 2)
        #expect(invalid.stderr == "trove: '\(String(repeating: "b", count: 64))…' (2000 bytes) is not a valid key: "
                + "a key must be at most 1024 UTF-8 bytes (this one has 2000)\n")
    }

    @Test("a negative duration says it must be longer than zero", arguments: [
        (["put", "k", "--expires-in", "-5s"], "The value '-5s' is invalid for '--expires-in <duration>': an entry's lifetime must be longer than zero"),
        (["queue", "pop", "jobs", "--wait", "-1s"], "invalid duration '-1s'"),
        (["queue", "pop", "jobs", "--lease", "-30s"], "invalid duration '-30s'"),
    ])
    func negativeDuration(_ arguments: [String], _ message: String) async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let result = try await scratch.trove(["--store", "memory:"] + arguments)
        #expect(result.status == 2)
        result.expectOneErrorLine()
        #expect(result.stderr.contains(message), "\(result.stderr)")
    }

    @Test("an option given where a duration belongs is still a missing value")
    func optionWhereDurationBelongs() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let result = try await scratch.trove(["--store", "memory:", "put", "k", "--expires-in", "--if-absent"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("Missing value for '--expires-in"), "\(result.stderr)")
    }

    // MARK: Servers

    @Test("a server that refuses the connection: one line with the reason, exit 4", arguments: [
        ("redis://127.0.0.1:1/0", "cannot connect to redis://127.0.0.1:1: connection refused"),
        ("postgres://user@127.0.0.1:1/db", "cannot connect to the server: connection refused; the statement was not sent"),
        ("s3://bucket/p?endpoint=http://127.0.0.1:1", "no answer from http://127.0.0.1:1: connection refused"),
    ])
    func refusedConnection(_ url: String, _ reason: String) async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let result = try await scratch.trove(["--store", url, "get", "k"],
                                             environment: ["AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret"])
        #expect(result.status == 4)
        result.expectOneErrorLine()
        #expect(result.stderr.hasSuffix(reason + "\n"), "\(result.stderr)")
        #expect(!result.stderr.contains("cause:"), "the reason is said twice: \(result.stderr)")
    }

    @Test("a host name that does not resolve is named in the error", arguments: [
        "redis://no-such-host.invalid/0", "postgres://user@no-such-host.invalid/db", "s3://bucket/p?endpoint=http://no-such-host.invalid:9",
    ])
    func unknownHost(_ url: String) async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let result = try await scratch.trove(["--store", url, "get", "k"],
                                             environment: ["AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret"])
        #expect(result.status == 4)
        result.expectOneErrorLine()
        #expect(result.stderr.contains("no address for host 'no-such-host.invalid'"), "\(result.stderr)")
    }

    // MARK: Help and version

    @Test("--version prints the version")
    func version() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let result = try await scratch.trove(["--version"])
        #expect(result.status == 0)
        #expect(result.stdoutText.range(of: #"^\d+\.\d+\.\d+\n$"#, options: .regularExpression) != nil, "\(result.stdoutText)")
    }

    @Test("completion scripts for bash, zsh and fish know every command", arguments: ["bash", "zsh", "fish"])
    func completionScripts(_ shell: String) async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let result = try await scratch.trove(["--generate-completion-script", shell])
        #expect(result.status == 0, "\(result.stderr)")
        for command in ["put", "get", "list", "copy", "sync", "check", "queue"] {
            #expect(result.stdoutText.contains(command), "the \(shell) script lacks \(command)")
        }
    }

    /// A URL of each scheme whose options are checked before anything is opened or reached.
    static func sampleURLs(_ scratch: Scratch) -> [String: String] {
        [
            "file": scratch.directory.appendingPathComponent("none").absoluteString,
            "sqlite": "sqlite:none.db",
            "memory": "memory:",
            "null": "null:",
            "redis": "redis://127.0.0.1:1/0",
            "redis+cluster": "redis+cluster://127.0.0.1:1",
            "rediss": "rediss://127.0.0.1:1/0",
            "rediss+cluster": "rediss+cluster://127.0.0.1:1",
            "s3": "s3://bucket/prefix?endpoint=http://127.0.0.1:1",
            "postgres": "postgres://user@127.0.0.1:1/db",
            "postgresql": "postgresql://user@127.0.0.1:1/db",
        ]
    }

    @Test("--help lists every option each store URL takes, in lines that fit 80 columns")
    func helpListsEveryOption() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let help = try await scratch.trove(["--help"]).stdoutText
        let lines = help.split(separator: "\n", omittingEmptySubsequences: false)
        for line in lines { #expect(line.count <= 80, "a help line longer than 80 columns: \(line)") }
        // The block of each scheme: its usage line (indented by two), then lines indented deeper.
        let start = try #require(lines.firstIndex(of: "Store URLs:"), "help has no Store URLs section")
        var blocks: [String: String] = [:]
        var current: String?
        for line in lines[(start + 1)...] {
            if line.isEmpty { break }
            if line.hasPrefix("  "), !line.hasPrefix("   ") {
                current = String(line.dropFirst(2).prefix { $0 != ":" })
                blocks[current!] = ""
            } else if let current {
                blocks[current]! += " " + line.trimmingCharacters(in: .whitespaces)
            }
        }
        let samples = Self.sampleURLs(scratch)
        #expect(Set(blocks.keys) == Set(samples.keys), "the schemes in the help: \(blocks.keys.sorted())")
        for (scheme, url) in samples {
            let block = try #require(blocks[scheme], "help lacks the \(scheme): scheme")
            let listed: [String]
            if let range = block.range(of: "options: ") {
                listed = block[range.upperBound...].split(separator: ", ").map { String($0.prefix { $0 != "=" }) }
            } else {
                #expect(block.contains("no options"), "\(scheme): \(block)")
                listed = []
            }
            // The store's own list, from the error for an option it does not know.
            let separator = url.contains("?") ? "&" : "?"
            let result = try await scratch.trove(["--store", url + separator + "no-such-option=1", "get", "k"])
            #expect(result.status == 2, "\(scheme): \(result.stderr)")
            let accepted: [String]
            if let range = result.stderr.range(of: "\(scheme): accepts ") {
                accepted = result.stderr[range.upperBound...].prefix { $0 != "(" }
                    .trimmingCharacters(in: .whitespaces).split(separator: ", ").map(String.init)
            } else {
                #expect(result.stderr.contains("\(scheme): takes no options"), "\(scheme): \(result.stderr)")
                accepted = []
            }
            #expect(listed == accepted, "\(scheme): the help lists \(listed), the URL accepts \(accepted)")
        }
    }
}
