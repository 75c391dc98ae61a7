import Foundation
import Testing
import TroveTestSupport

/// The `trove` command line, run as a separate process: exit codes, output, and round trips
/// through a fresh file store.
@Suite("trove command line")
struct CLITests {
    // MARK: Usage and input errors (memory:, one process each)

    @Test("--help documents the default store, TROVE_STORE and the exit codes")
    func helpDocumentsStoreAndExitCodes() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let result = try await scratch.trove(["--help"])
        #expect(result.status == 0)
        #expect(result.stderr.isEmpty)
        let help = result.stdoutText
        #expect(help.contains(scratch.directory.appendingPathComponent("xdg/trove").path))
        #expect(help.contains("TROVE_STORE"))
        for line in ["0  success", "1  key not found", "2  invalid input or usage", "3  condition failed", "4  storage failure"] {
            #expect(help.contains(line), "help lacks '\(line)'")
        }
        for subcommand in ["put", "get", "delete", "list", "stat", "bench"] {
            #expect(help.contains("  \(subcommand) "), "help lacks the \(subcommand) command")
        }
    }

    @Test("without XDG_DATA_HOME the default store is under ~/.local/share")
    func helpShowsHomeDefault() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let home = scratch.directory.appendingPathComponent("home")
        let result = try await scratch.trove(["--help"], environment: ["XDG_DATA_HOME": nil, "HOME": home.path])
        #expect(result.status == 0)
        #expect(result.stdoutText.contains(home.appendingPathComponent(".local/share/trove").path))
    }

    static let usageErrors: [[String]] = [
        ["get"],
        ["frobnicate"],
        ["list", "--bogus"],
        ["put", "k", "--if-absent", "--if-match", "e1"],
        ["put", "k", "--expires-in", "5x"],
        ["put", "k", "--expires-in", "0s"],
        ["list", "--long", "--json"],
        ["list", "--delimiter", "ab"],
        ["bench", "--keys", "0"],
        ["bench", "--keys", "many"],
        ["stat", "k", "extra"],
    ]

    @Test("usage errors exit with 2 and one line on standard error", arguments: usageErrors)
    func usageError(_ arguments: [String]) async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let result = try await scratch.trove(["--store", "memory:"] + arguments)
        #expect(result.status == 2)
        result.expectOneErrorLine()
        #expect(result.stdout.isEmpty)
    }

    static let invalidKeys: [[String]] = [
        ["put", "a//b"], ["get", "a//b"], ["stat", "/a"], ["delete", "a/../b"], ["put", "a/"], ["get", "a/./b"],
    ]

    @Test("an invalid key exits with 2 and one line naming the key", arguments: invalidKeys)
    func invalidKey(_ arguments: [String]) async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let result = try await scratch.trove(["--store", "memory:"] + arguments)
        #expect(result.status == 2)
        result.expectOneErrorLine()
        #expect(result.stderr.contains("'\(arguments[1])' is not a valid key"))
    }

    static let badStoreURLs: [String] = [
        "bogus:", "/var/data", "data", "file:", "file://host/data", "file:///data#x", "file:///data%zz",
        "file:///data?durabilty=fsync", "file:///data?durability=sometimes", "memory:cache", "memory:?x=1",
    ]

    @Test("a bad store URL exits with 2 and one line naming the URL", arguments: badStoreURLs)
    func badStoreURL(_ url: String) async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let result = try await scratch.trove(["--store", url, "get", "k"])
        #expect(result.status == 2)
        result.expectOneErrorLine()
        #expect(result.stderr.contains("store URL '\(url)'"))
    }

    @Test("a missing key exits with 1", arguments: [["get", "nothing"], ["stat", "nothing"], ["delete", "nothing"]])
    func missingKeyInMemory(_ arguments: [String]) async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let result = try await scratch.trove(["--store", "memory:"] + arguments)
        #expect(result.status == 1)
        result.expectOneErrorLine()
        #expect(result.stderr.contains("'nothing' not found"))
        #expect(result.stdout.isEmpty)
    }

    @Test("TROVE_STORE chooses the store, and --store wins over it")
    func storeFromEnvironment() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let fromEnvironment = try await scratch.trove(["get", "k"], environment: ["TROVE_STORE": "memory:"])
        #expect(fromEnvironment.status == 1)
        #expect(fromEnvironment.stderr.contains("in memory"))

        let badEnvironment = try await scratch.trove(["get", "k"], environment: ["TROVE_STORE": "bogus:"])
        #expect(badEnvironment.status == 2)
        #expect(badEnvironment.stderr.contains("bogus"))

        let flagWins = try await scratch.trove(["--store", "memory:", "get", "k"], environment: ["TROVE_STORE": "bogus:"])
        #expect(flagWins.status == 1)
    }

    @Test("bench on memory: prints a phase table, and --json parses")
    func benchInMemory() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let table = try await scratch.trove(["--store", "memory:", "bench", "--keys", "50", "--value-size", "10"])
        #expect(table.status == 0)
        #expect(table.stderr.isEmpty)
        let rows = table.stdoutLines.map { $0.split(separator: " ").map(String.init) }
        #expect(rows.compactMap(\.first).suffix(4) == ["put", "get", "list", "delete"])
        #expect(rows.suffix(4).allSatisfy { $0.count > 1 && $0[1] == "50" })

        let json = try await scratch.trove(["--store", "memory:", "bench", "--keys", "50", "--json"])
        #expect(json.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: json.stdout) as? [String: Any])
        #expect(object["keys"] as? Int == 50)
        #expect(object["valueSize"] as? Int == 100)
        let phases = try #require(object["phases"] as? [[String: Any]])
        #expect(phases.compactMap { $0["phase"] as? String } == ["put", "get", "list", "delete"])
        #expect(phases.allSatisfy { $0["operations"] as? Int == 50 && ($0["operationsPerSecond"] as? Double ?? 0) > 0 })
    }

    // MARK: Round trips through a fresh file store

    @Test("put from a file, get the identical bytes to stdout and to a file")
    func putFileGetBytes() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let payload = Self.binaryPayload(count: 300_001)
        let input = try scratch.file("in.bin", payload)

        let put = try await scratch.trove(["--store", scratch.storeURL, "put", "bin/value", input.path])
        #expect(put.status == 0)
        #expect(put.stderr.isEmpty)
        #expect(put.stdoutLines.count == 1 && !(put.stdoutLines.first ?? "").isEmpty)

        let get = try await scratch.trove(["--store", scratch.storeURL, "get", "bin/value"])
        #expect(get.status == 0)
        #expect(get.stdout == payload)

        let output = scratch.directory.appendingPathComponent("out.bin")
        let getToFile = try await scratch.trove(["--store", scratch.storeURL, "get", "bin/value", "--output", output.path])
        #expect(getToFile.status == 0)
        #expect(getToFile.stdout.isEmpty)
        #expect(try Data(contentsOf: output) == payload)
    }

    @Test("put from standard input, with '-' or no file")
    func putFromStandardInput() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let payload = Self.binaryPayload(count: 70_000)
        let input = try scratch.file("stdin.bin", payload)
        for arguments in [["put", "dash", "-"], ["put", "implicit"]] {
            let put = try await scratch.trove(["--store", scratch.storeURL] + arguments, standardInput: input)
            #expect(put.status == 0, "\(arguments): \(put.stderr)")
            let get = try await scratch.trove(["--store", scratch.storeURL, "get", arguments[1]])
            #expect(get.status == 0)
            #expect(get.stdout == payload, "\(arguments) stored other bytes")
        }
    }

    @Test("stat shows size and ETag, as a table and as JSON")
    func statOutput() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let input = try scratch.file("hello.txt", Data("hello".utf8))
        let put = try await scratch.trove(["--store", scratch.storeURL, "put", "docs/hello", input.path])
        let etag = try #require(put.stdoutLines.first)

        let table = try await scratch.trove(["--store", scratch.storeURL, "stat", "docs/hello"])
        #expect(table.status == 0)
        #expect(table.stdoutLines.contains { $0.hasPrefix("key:") && $0.hasSuffix(" docs/hello") })
        #expect(table.stdoutLines.contains { $0.hasPrefix("size:") && $0.hasSuffix(" 5 bytes") })
        #expect(table.stdoutLines.contains { $0.hasPrefix("etag:") && $0.hasSuffix(" \(etag)") })
        #expect(table.stdoutLines.contains { $0.hasPrefix("expires:") && $0.hasSuffix(" never") })

        let json = try await scratch.trove(["--store", scratch.storeURL, "stat", "docs/hello", "--json"])
        #expect(json.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: json.stdout) as? [String: Any])
        #expect(object["key"] as? String == "docs/hello")
        #expect(object["size"] as? Int == 5)
        #expect(object["etag"] as? String == etag)
        #expect(object["expires"] is NSNull)
        let modified = try #require(object["modified"] as? String)
        _ = try Date(modified, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    @Test("list prints keys in order, levels with --delimiter, columns with --long, JSON Lines with --json")
    func listOutput() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let store = scratch.storeURL
        for (key, text) in [("b/d", "three"), ("a", "one"), ("b/c", "two!")] {
            let input = try scratch.file("value-\(text)", Data(text.utf8))
            #expect(try await scratch.trove(["--store", store, "put", key, input.path]).status == 0)
        }

        #expect(try await scratch.trove(["--store", store, "list"]).stdoutLines == ["a", "b/c", "b/d"])
        #expect(try await scratch.trove(["--store", store, "list", "b/"]).stdoutLines == ["b/c", "b/d"])
        #expect(try await scratch.trove(["--store", store, "list", "--delimiter", "/"]).stdoutLines == ["a", "b/"])

        let long = try await scratch.trove(["--store", store, "list", "--long", "--bytes", "--iso"])
        #expect(long.status == 0)
        let rows = long.stdoutLines
        #expect(rows.count == 3)
        let keys = ["a", "b/c", "b/d"], sizes = ["3", "4", "5"]
        for (row, (key, size)) in zip(rows, zip(keys, sizes)) {
            let fields = row.split(separator: " ").map(String.init)
            #expect(fields.count == 4, "\(row)")
            #expect(fields.first == size && fields.last == key, "\(row)")
        }
        // Aligned: every key starts in the same column.
        #expect(Set(zip(rows, keys).map { $0.count - $1.count }).count == 1, "\(rows)")

        let json = try await scratch.trove(["--store", store, "list", "--json"])
        let objects = try json.stdoutLines.map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
        #expect(objects.compactMap { $0["key"] as? String } == keys)
        #expect(objects.compactMap { $0["size"] as? Int } == [3, 4, 5])
        #expect(objects.allSatisfy { ($0["etag"] as? String)?.isEmpty == false })

        let levels = try await scratch.trove(["--store", store, "list", "--json", "--delimiter", "/"])
        let levelObjects = try levels.stdoutLines.map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
        #expect(levelObjects.count == 2)
        #expect(levelObjects.first?["key"] as? String == "a")
        #expect(levelObjects.last?["prefix"] as? String == "b/")
    }

    @Test("--if-absent a second time exits with 3 and leaves the first value")
    func ifAbsentTwice() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let first = try scratch.file("first", Data("first".utf8))
        let second = try scratch.file("second", Data("second".utf8))
        let put = try await scratch.trove(["--store", scratch.storeURL, "put", "once", first.path, "--if-absent"])
        #expect(put.status == 0)
        let again = try await scratch.trove(["--store", scratch.storeURL, "put", "once", second.path, "--if-absent"])
        #expect(again.status == 3)
        again.expectOneErrorLine()
        #expect(again.stdout.isEmpty)
        #expect(try await scratch.trove(["--store", scratch.storeURL, "get", "once"]).stdout == Data("first".utf8))
    }

    @Test("--if-match with the current ETag writes; with a stale one it exits with 3")
    func ifMatchStale() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let store = scratch.storeURL
        let one = try scratch.file("one", Data("one".utf8))
        let two = try scratch.file("two", Data("two".utf8))
        let three = try scratch.file("three", Data("three".utf8))
        let firstETag = try #require(try await scratch.trove(["--store", store, "put", "cas", one.path]).stdoutLines.first)

        let swap = try await scratch.trove(["--store", store, "put", "cas", two.path, "--if-match", firstETag])
        #expect(swap.status == 0)
        #expect(swap.stdoutLines.first != firstETag)

        let stale = try await scratch.trove(["--store", store, "put", "cas", three.path, "--if-match", firstETag])
        #expect(stale.status == 3)
        stale.expectOneErrorLine()
        #expect(try await scratch.trove(["--store", store, "get", "cas"]).stdout == Data("two".utf8))
    }

    @Test("get, stat and delete of a missing key in a file store exit with 1")
    func missingKeyInFileStore() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        for command in ["get", "stat", "delete"] {
            let result = try await scratch.trove(["--store", scratch.storeURL, command, "missing/key"])
            #expect(result.status == 1, "\(command): \(result.stderr)")
            result.expectOneErrorLine()
        }
    }

    @Test("delete removes the key")
    func deleteKey() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let input = try scratch.file("v", Data("v".utf8))
        #expect(try await scratch.trove(["--store", scratch.storeURL, "put", "gone", input.path]).status == 0)
        #expect(try await scratch.trove(["--store", scratch.storeURL, "delete", "gone"]).status == 0)
        #expect(try await scratch.trove(["--store", scratch.storeURL, "get", "gone"]).status == 1)
    }

    @Test("--expires-in sets an expiry date")
    func expiresIn() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let input = try scratch.file("v", Data("v".utf8))
        let put = try await scratch.trove(["--store", scratch.storeURL, "put", "soon", input.path, "--expires-in", "1d"])
        #expect(put.status == 0)
        let stat = try await scratch.trove(["--store", scratch.storeURL, "stat", "soon", "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: stat.stdout) as? [String: Any])
        #expect(object["expires"] is String)
    }

    @Test("bench --keys 50 runs on a file store and leaves it empty")
    func benchLeavesStoreEmpty() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let bench = try await scratch.trove(["--store", scratch.storeURL, "bench", "--keys", "50"])
        #expect(bench.status == 0, "\(bench.stderr)")
        #expect(bench.stdoutText.contains("put"))
        let list = try await scratch.trove(["--store", scratch.storeURL, "list"])
        #expect(list.status == 0)
        #expect(list.stdout.isEmpty)
    }

    @Test("bench refuses a prefix that holds keys, and leaves them alone")
    func benchRefusesUsedPrefix() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let input = try scratch.file("v", Data("mine".utf8))
        #expect(try await scratch.trove(["--store", scratch.storeURL, "put", "taken/x", input.path]).status == 0)
        let bench = try await scratch.trove(["--store", scratch.storeURL, "bench", "--keys", "5", "--prefix", "taken"])
        #expect(bench.status == 3)
        bench.expectOneErrorLine()
        #expect(try await scratch.trove(["--store", scratch.storeURL, "list"]).stdoutLines == ["taken/x"])
    }

    @Test("without --store or TROVE_STORE, the store is created under XDG_DATA_HOME")
    func defaultStore() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let input = try scratch.file("v", Data("default".utf8))
        let put = try await scratch.trove(["put", "k", input.path])
        #expect(put.status == 0, "\(put.stderr)")
        #expect(try await scratch.trove(["get", "k"]).stdout == Data("default".utf8))
        var isDirectory: ObjCBool = false
        let root = scratch.directory.appendingPathComponent("xdg/trove").path
        #expect(FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory) && isDirectory.boolValue)
    }

    // MARK: Helpers

    /// Bytes of every value 0...255, in an order that is not sorted.
    static func binaryPayload(count: Int) -> Data {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        return Data((0..<count).map { index in
            if index < 256 { return UInt8(index) }
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        })
    }
}

/// The outcome of one run of `trove`.
struct TroveResult {
    var status: Int32
    var stdout: Data
    var stderr: String

    var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    var stdoutLines: [String] { stdoutText.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) }

    /// Expects exactly one line on standard error, starting with `trove: `.
    func expectOneErrorLine(sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(stderr.hasPrefix("trove: "), "stderr: \(stderr)", sourceLocation: sourceLocation)
        #expect(stderr.hasSuffix("\n") && stderr.filter { $0 == "\n" }.count == 1,
                "not one line: \(stderr)", sourceLocation: sourceLocation)
    }
}

/// A fresh temporary directory for one test: a file store in `store/`, a default store under
/// `xdg/`, and the files `trove` reads and writes.
struct Scratch {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("trove-cli-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// A `file:` URL of a store that does not exist yet.
    var storeURL: String { directory.appendingPathComponent("store", isDirectory: true).absoluteString }

    /// Writes `contents` to a file named `name` in the directory.
    func file(_ name: String, _ contents: Data) throws -> URL {
        let url = directory.appendingPathComponent(name)
        try contents.write(to: url)
        return url
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)   // best-effort cleanup of a temporary directory
    }

    /// Runs `trove` with `arguments`, standard input from `standardInput` (or nothing), and
    /// the environment of this process without `TROVE_STORE`, with `XDG_DATA_HOME` inside the
    /// scratch directory, and with `environment` applied (`nil` removes a variable).
    func trove(
        _ arguments: [String], standardInput: URL? = nil, environment: [String: String?] = [:]
    ) async throws -> TroveResult {
        var variables: [String: String?] = ["XDG_DATA_HOME": directory.appendingPathComponent("xdg", isDirectory: true).path]
        for (name, value) in environment { variables[name] = value }
        let outcome = try await ChildProcess.run(
            try BuiltExecutable.trove(), arguments, environment: variables, standardInput: standardInput, scratch: directory)
        return TroveResult(status: outcome.status, stdout: outcome.output, stderr: outcome.errors)
    }
}
