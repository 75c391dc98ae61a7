import Foundation
import Testing
import Trove
import TroveSQLite
import TroveTestSupport

/// The `trove` command line on `sqlite:` store URLs, run as a separate process.
@Suite("trove command line on SQLite stores")
struct SQLiteCLITests {
    @Test func putGetAndListThroughARelativeDatabase() async throws {
        let trove = try BuiltExecutable.trove()
        try await withScratchDirectory { directory in
            let store = "sqlite:relative.db"
            let value = patternedBytes(70_000, seed: 1)
            let input = directory.appendingPathComponent("value.bin")
            try value.write(to: input)
            let small = directory.appendingPathComponent("small.txt")
            try Data("small".utf8).write(to: small)
            func run(_ arguments: [String]) async throws -> ChildOutcome {
                try await ChildProcess.run(trove, ["--store"] + arguments, in: directory, scratch: directory)
            }

            let put = try await run([store, "put", "docs/large", "value.bin"])
            #expect(put.status == 0, "\(put.errors)")
            #expect(put.outputLines.count == 1 && !(put.outputLines.first ?? "").isEmpty, "put prints the new ETag")
            #expect(try await run([store, "put", "docs/small", small.path]).status == 0)
            #expect(try await run([store, "put", "top", "small.txt"]).status == 0)

            let get = try await run([store, "get", "docs/large"])
            #expect(get.status == 0, "\(get.errors)")
            #expect(get.output == value)
            #expect(try await run([store, "list"]).outputLines == ["docs/large", "docs/small", "top"])
            #expect(try await run([store, "list", "docs/"]).outputLines == ["docs/large", "docs/small"])
            #expect(try await run([store + "?table=other", "list"]).outputLines == [])

            let missing = try await run([store, "get", "nothing"])
            #expect(missing.status == 1)
            #expect(missing.errors.contains("'nothing' not found"))

            // The file is relative to the current directory, and a store of the library reads it.
            let file = directory.appendingPathComponent("relative.db")
            let opened = try await SQLiteStore(path: file)
            #expect(try await opened["docs/large"] == value)
            #expect(try await opened["top"] == Data("small".utf8))
        }
    }

    @Test("an unknown option or a bad value in an sqlite: URL is a usage error naming it",
          arguments: [("sqlite:x.db?bogus=1", "bogus"), ("sqlite:x.db?synchronous=sometimes", "synchronous"),
                      ("sqlite:x.db?table=a-b", "a-b"), ("sqlite://host/x.db", "host")])
    func aBadURLIsAUsageError(_ url: String, _ named: String) async throws {
        let trove = try BuiltExecutable.trove()
        try await withScratchDirectory { directory in
            let result = try await ChildProcess.run(trove, ["--store", url, "get", "k"], in: directory, scratch: directory)
            #expect(result.status == 2, "trove exited with \(result.status): \(result.errors)")
            #expect(result.errors.hasPrefix("trove: ") && result.errors.filter { $0 == "\n" }.count == 1,
                    "not one line: \(result.errors)")
            #expect(result.errors.contains(named), "the message must name '\(named)': \(result.errors)")
            #expect(result.output.isEmpty)
            let left = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { !$0.hasPrefix("std") }
            #expect(left.isEmpty, "a refused URL created \(left)")
        }
    }

    @Test("create=false on a missing file is a usage error that leaves no file behind")
    func createFalseOnAMissingFile() async throws {
        let trove = try BuiltExecutable.trove()
        try await withScratchDirectory { directory in
            let result = try await ChildProcess.run(trove, ["--store", "sqlite:missing.db?create=false", "list"],
                                                    in: directory, scratch: directory)
            #expect(result.status == 2, "trove exited with \(result.status): \(result.errors)")
            let path = directory.appendingPathComponent("missing.db").standardizedFileURL.path
            #expect(result.errors.contains("'\(path)' is not an existing database file, and a store opened with create=false "
                                           + "does not create it"), "\(result.errors)")
            let left = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { !$0.hasPrefix("std") }
            #expect(left.isEmpty, "a refused open left \(left)")
        }
    }

    @Test("a failed condition says what the key holds, as the file store does")
    func aFailedConditionSaysWhatTheKeyHolds() async throws {
        let trove = try BuiltExecutable.trove()
        try await withScratchDirectory { directory in
            func run(_ arguments: [String]) async throws -> ChildOutcome {
                try await ChildProcess.run(trove, ["--store", "sqlite:c.db"] + arguments, in: directory, scratch: directory)
            }
            let value = directory.appendingPathComponent("value")
            try Data("v".utf8).write(to: value)
            let first = try await run(["put", "k", value.path])
            let etag = try #require(first.outputLines.first, "put printed no ETag: \(first.errors)")
            let again = try await run(["put", "k", value.path, "--if-absent"])
            #expect(again.status == 3)
            #expect(again.errors.contains("failed: the key holds version \(etag)"), "\(again.errors)")
            let stale = try await run(["put", "other", value.path, "--if-match", etag])
            #expect(stale.status == 3)
            #expect(stale.errors.contains("failed: the key holds no value"), "\(stale.errors)")
        }
    }
}
