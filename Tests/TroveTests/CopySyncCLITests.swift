import Foundation
import Testing
import TroveTestSupport

/// `trove copy`, `trove sync` and `trove check`, run as separate processes between a file
/// store and an SQLite store in a scratch directory.
@Suite("trove copy, sync and check")
struct CopySyncCLITests {
    /// A scratch directory with a file store (`store/`, the source) and an SQLite file (the
    /// destination), the source filled with `a`, `a/b`, an empty value and a 2 MiB value.
    struct Pair {
        let scratch: Scratch
        var source: String { scratch.storeURL }
        var destination: String { "sqlite://" + scratch.directory.appendingPathComponent("copy.db").path }

        init() async throws {
            scratch = try Scratch()
            for (key, value) in [("a", Data("one".utf8)), ("a/b", Data("two".utf8)), ("empty", Data()),
                                 ("big", patternedBytes(2 << 20, seed: 11))] {
                let file = try scratch.file("value-\(key.replacingOccurrences(of: "/", with: "-"))", value)
                let put = try await scratch.trove(["--store", source, "put", key, file.path])
                try #require(put.status == 0, "put \(key): \(put.stderr)")
            }
        }

        func trove(_ arguments: [String]) async throws -> TroveResult { try await scratch.trove(arguments) }

        /// Puts `text` under `key` in the store at `url`.
        func put(_ text: String, _ key: String, in url: String) async throws {
            let file = try scratch.file("put-\(UUID().uuidString)", Data(text.utf8))
            let put = try await scratch.trove(["--store", url, "put", key, file.path])
            try #require(put.status == 0, "put \(key): \(put.stderr)")
        }

        func keys(in url: String) async throws -> [String] {
            try await scratch.trove(["--store", url, "list"]).stdoutLines
        }
    }

    /// Parses one JSON object from standard output.
    static func object(_ result: TroveResult) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any], "stdout: \(result.stdoutText)")
    }

    @Test("copy, then check: exit 0 when identical, 3 with one line per difference")
    func copyThenCheck() async throws {
        let pair = try await Pair()
        defer { pair.scratch.remove() }
        let copy = try await pair.trove(["copy", pair.source, pair.destination, "--transfers", "2"])
        #expect(copy.status == 0, "\(copy.stderr)")
        #expect(copy.stdout.isEmpty)
        #expect(copy.stderr.hasPrefix("trove: copied 4 keys, 2.0 MiB; skipped 0; "), "\(copy.stderr)")
        #expect(copy.stderr.filter { $0 == "\n" }.count == 1)
        #expect(try await pair.keys(in: pair.destination) == ["a", "a/b", "big", "empty"])
        let big = try await pair.trove(["--store", pair.destination, "get", "big"])
        #expect(big.stdout == patternedBytes(2 << 20, seed: 11))

        let same = try await pair.trove(["check", pair.source, pair.destination, "--checksum"])
        #expect(same.status == 0, "\(same.stderr)")
        #expect(same.stdout.isEmpty)
        #expect(same.stderr.hasPrefix("trove: identical: 4 keys"), "\(same.stderr)")

        try await pair.put("ONE", "a", in: pair.destination)      // same size, other bytes
        try await pair.put("twenty", "a/b", in: pair.destination) // other size
        try await pair.put("x", "extra", in: pair.destination)
        #expect(try await pair.trove(["--store", pair.destination, "delete", "empty"]).status == 0)

        let bySize = try await pair.trove(["check", pair.source, pair.destination])
        #expect(bySize.status == 3)
        #expect(bySize.stdoutLines == ["* a/b", "+ empty", "- extra"])
        bySize.expectOneErrorLine()

        let byContent = try await pair.trove(["check", pair.source, pair.destination, "--checksum"])
        #expect(byContent.status == 3)
        #expect(byContent.stdoutLines == ["* a", "* a/b", "+ empty", "- extra"])

        let json = try await pair.trove(["check", pair.source, pair.destination, "--checksum", "--json"])
        #expect(json.status == 3)
        let object = try Self.object(json)
        #expect(object["command"] as? String == "check")
        #expect(object["identical"] as? Bool == false)
        #expect(object["onlyInSource"] as? [String] == ["empty"])
        #expect(object["onlyInDestination"] as? [String] == ["extra"])
        #expect(object["differing"] as? [String] == ["a", "a/b"])
        #expect(object["matching"] as? Int == 1)

        let underPrefix = try await pair.trove(["check", pair.source, pair.destination, "--prefix", "b"])
        #expect(underPrefix.status == 0, "\(underPrefix.stderr)")
    }

    @Test("copy --no-replace (or --resume) keeps what the destination holds; --dry-run writes nothing")
    func copyNoReplaceAndDryRun() async throws {
        let pair = try await Pair()
        defer { pair.scratch.remove() }
        try await pair.put("mine", "a", in: pair.destination)

        let dry = try await pair.trove(["copy", pair.source, pair.destination, "--no-replace", "--dry-run"])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdoutLines == ["a/b", "big", "empty"])
        #expect(dry.stderr.hasPrefix("trove: would copy 3 keys, 2.0 MiB; skipped 1; "), "\(dry.stderr)")
        #expect(try await pair.keys(in: pair.destination) == ["a"])

        let copy = try await pair.trove(["copy", pair.source, pair.destination, "--no-replace", "--json"])
        #expect(copy.status == 0, "\(copy.stderr)")
        let object = try Self.object(copy)
        #expect(object["copied"] as? Int == 3)
        #expect(object["skipped"] as? Int == 1)
        #expect(object["bytes"] as? Int == 2 << 20 + 3)
        #expect(object["dryRun"] as? Bool == false)
        #expect(try await pair.trove(["--store", pair.destination, "get", "a"]).stdout == Data("mine".utf8))
        let resumed = try await pair.trove(["copy", pair.source, pair.destination, "--resume", "--json"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let again = try Self.object(resumed)
        #expect(again["copied"] as? Int == 0 && again["skipped"] as? Int == 4, "--resume is --no-replace: \(again)")

        let replace = try await pair.trove(["copy", pair.source, pair.destination, "--prefix", "a"])
        #expect(replace.status == 0)
        #expect(try await pair.trove(["--store", pair.destination, "get", "a"]).stdout == Data("one".utf8))
    }

    @Test("sync: --max-delete refuses with 3 and deletes nothing; --dry-run plans; then it deletes extras")
    func syncDeletesExtras() async throws {
        let pair = try await Pair()
        defer { pair.scratch.remove() }
        for key in ["x/1", "x/2"] { try await pair.put("extra", key, in: pair.destination) }

        let refused = try await pair.trove(["sync", pair.source, pair.destination, "--max-delete", "1"])
        #expect(refused.status == 3)
        refused.expectOneErrorLine()
        #expect(refused.stderr.contains("limitExceeded"), "\(refused.stderr)")
        #expect(try await pair.keys(in: pair.destination).contains("x/1"))

        try await pair.put("changed", "a", in: pair.destination)
        let plan = try await pair.trove(["sync", pair.source, pair.destination, "--dry-run"])
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stdoutLines == ["copy a", "delete x/1", "delete x/2"])
        #expect(plan.stderr.hasPrefix("trove: would copy 1 key, 3 bytes; would delete 2; unchanged 3; "), "\(plan.stderr)")

        let jsonPlan = try await pair.trove(["sync", pair.source, pair.destination, "--dry-run", "--json"])
        let planObject = try Self.object(jsonPlan)
        #expect(planObject["copies"] as? [String] == ["a"])
        #expect(planObject["deletions"] as? [String] == ["x/1", "x/2"])
        #expect(try await pair.trove(["--store", pair.destination, "get", "a"]).stdout == Data("changed".utf8))

        let sync = try await pair.trove(["sync", pair.source, pair.destination, "--max-delete", "2", "--checksum", "--json"])
        #expect(sync.status == 0, "\(sync.stderr)")
        let object = try Self.object(sync)
        #expect(object["copied"] as? Int == 1)
        #expect(object["deleted"] as? Int == 2)
        #expect(object["unchanged"] as? Int == 3)
        #expect(object["copies"] == nil)
        #expect(try await pair.keys(in: pair.destination) == ["a", "a/b", "big", "empty"])
        #expect(try await pair.trove(["check", pair.source, pair.destination, "--checksum"]).status == 0)
    }

    static let usageErrors: [[String]] = [
        ["copy", "memory:"],
        ["copy", "bogus:", "memory:"],
        ["sync", "memory:", "file:"],
        ["check", "file:data", "file:data"],
        ["copy", "memory:", "memory:", "--transfers", "0"],
        ["sync", "memory:", "memory:", "--max-delete", "-1"],
        ["check", "memory:", "memory:", "--prefix", "a\u{1}"],
        ["check", "memory:", "memory:", "--checkers", "0"],
        ["sync", "memory:", "memory:", "--checkers", "2000"],
    ]

    @Test("copy --checkers is refused with the reason, pointing to sync and check")
    func copyHasNoCheckers() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let result = try await scratch.trove(["copy", "memory:", "memory:", "--checkers", "4"])
        #expect(result.status == 2, "\(result.stderr)")
        result.expectOneErrorLine()
        #expect(result.stderr.contains("copy compares no values") && result.stderr.contains("trove sync --checksum --checkers"),
                "\(result.stderr)")
    }

    @Test("sync --checksum --checkers and check --checksum --checkers: the same answers at any width")
    func checkersWidth() async throws {
        let pair = try await Pair()
        defer { pair.scratch.remove() }
        let copy = try await pair.trove(["copy", pair.source, pair.destination])
        try #require(copy.status == 0, "\(copy.stderr)")
        try await pair.put("uno", "a", in: pair.source)   // same size, other bytes
        for checkers in ["1", "16"] {
            let check = try await pair.trove(["check", pair.source, pair.destination, "--checksum", "--checkers", checkers])
            #expect(check.status == 3, "\(check.stderr)")
            #expect(check.stdoutLines == ["* a"], "\(check.stdoutLines)")
        }
        let sync = try await pair.trove(["sync", pair.source, pair.destination, "--checksum", "--checkers", "3",
                                         "--transfers", "1", "--json"])
        #expect(sync.status == 0, "\(sync.stderr)")
        let summary = try Self.object(sync)
        #expect(summary["copied"] as? Int == 1 && summary["unchanged"] as? Int == 3, "\(summary)")
        #expect(summary["serverSide"] as? Bool == false)
        let same = try await pair.trove(["check", pair.source, pair.destination, "--checksum", "--checkers", "2"])
        #expect(same.status == 0, "\(same.stderr)")
    }

    @Test("usage errors exit with 2 and one line", arguments: usageErrors)
    func usageError(_ arguments: [String]) async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let result = try await scratch.trove(arguments)
        #expect(result.status == 2, "\(result.stderr)")
        result.expectOneErrorLine()
        #expect(result.stdout.isEmpty)
    }

    @Test("two URLs of one directory are refused as the same store")
    func sameStoreByDescription() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let path = scratch.directory.appendingPathComponent("store").path
        let result = try await scratch.trove(["sync", "file://" + path, "file://" + path + "/"])
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains("same store"))
    }

    @Test("a destination that refuses writes exits with 4 and names the key")
    func storageFailure() async throws {
        let pair = try await Pair()
        defer { pair.scratch.remove() }
        try await pair.put("seed", "seed", in: pair.destination)   // creates the database
        let result = try await pair.trove(["copy", pair.source, pair.destination + "?mode=readonly", "--transfers", "1"])
        #expect(result.status == 4, "\(result.stderr)")
        result.expectOneErrorLine()
        // Small values go in batches and large ones alone, so the first refusal may be either.
        #expect(["a", "a/b", "big", "empty"].contains { result.stderr.contains("during write of key '\($0)'") }, "\(result.stderr)")
    }
}
