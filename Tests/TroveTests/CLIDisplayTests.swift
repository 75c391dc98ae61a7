import Foundation
import Testing
import TroveTestSupport

/// What `list --long`, `stat` and `info` show people (sizes in KiB and MiB, local times) and
/// scripts (`--bytes`, `--iso`, `--json`), and the `--json` of `put` and `queue`.
@Suite("trove tables and JSON")
struct CLIDisplayTests {
    /// A store holding 3 bytes, 48,213 bytes and 3,000,000 bytes under three keys.
    private static func filledStore() async throws -> (Scratch, store: String) {
        let scratch = try Scratch()
        let store = scratch.storeURL
        for (key, size) in [("greetings/en", 3), ("photos/cat.jpg", 48_213), ("videos/big", 3_000_000)] {
            let input = try scratch.file("value-\(size)", Data(repeating: 7, count: size))
            let put = try await scratch.trove(["--store", store, "put", key, input.path])
            try #require(put.status == 0, "\(put.stderr)")
        }
        return (scratch, store)
    }

    /// The modification date that `stat --json` reports for `key`.
    private static func modified(_ key: String, in store: String, scratch: Scratch) async throws -> Date {
        let stat = try await scratch.trove(["--store", store, "stat", key, "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: stat.stdout) as? [String: Any])
        let text = try #require(object["modified"] as? String)
        return try Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// `date` formatted with `format` in the time zone `zone`, by Foundation's formatter.
    private static func formatted(_ date: Date, _ format: String, zone: String) throws -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = try #require(TimeZone(identifier: zone))
        formatter.dateFormat = format
        return formatter.string(from: date)
    }

    @Test("list --long: sizes in B, KiB and MiB and times in the zone TZ names, aligned; --bytes and --iso exact")
    func longListing() async throws {
        let (scratch, store) = try await Self.filledStore()
        defer { scratch.remove() }
        let date = try await Self.modified("photos/cat.jpg", in: store, scratch: scratch)

        let human = try await scratch.trove(["--store", store, "list", "--long"], environment: ["TZ": "Asia/Kolkata"])
        #expect(human.status == 0)
        let rows = human.stdoutLines
        try #require(rows.count == 3, "\(rows)")
        #expect(rows[0].hasPrefix("     3 B  "), "\(rows[0])")
        #expect(rows[1].hasPrefix("47.1 KiB  "), "\(rows[1])")
        #expect(rows[2].hasPrefix(" 2.9 MiB  "), "\(rows[2])")
        let local = try Self.formatted(date, "yyyy-MM-dd HH:mm:ss", zone: "Asia/Kolkata")
        #expect(rows[1].contains("  \(local)  "), "\(rows[1]) lacks \(local)")
        for (row, key) in zip(rows, ["greetings/en", "photos/cat.jpg", "videos/big"]) {
            #expect(row.hasSuffix("  " + key))
        }
        #expect(Set(zip(rows, ["greetings/en", "photos/cat.jpg", "videos/big"]).map { $0.count - $1.count }).count == 1,
                "not aligned: \(rows)")

        let exact = try await scratch.trove(["--store", store, "list", "--long", "--bytes", "--iso"],
                                            environment: ["TZ": "Asia/Kolkata"])
        let exactRows = exact.stdoutLines
        try #require(exactRows.count == 3)
        #expect(exactRows[1].hasPrefix("  48213  "), "\(exactRows[1])")
        #expect(exactRows[2].hasPrefix("3000000  "), "\(exactRows[2])")
        let utc = try Self.formatted(date, "yyyy-MM-dd'T'HH:mm:ss'Z'", zone: "UTC")
        #expect(exactRows[1].contains("  \(utc)  "), "\(exactRows[1]) lacks \(utc)")
    }

    @Test("stat: exact bytes beside KiB, local times with their offset; --bytes and --iso for scripts")
    func statTable() async throws {
        let (scratch, store) = try await Self.filledStore()
        defer { scratch.remove() }
        let date = try await Self.modified("photos/cat.jpg", in: store, scratch: scratch)

        let human = try await scratch.trove(["--store", store, "stat", "photos/cat.jpg"],
                                            environment: ["TZ": "America/New_York"])
        #expect(human.status == 0)
        #expect(human.stdoutLines.contains("size:     48213 bytes (47.1 KiB)"), "\(human.stdoutLines)")
        let local = try Self.formatted(date, "yyyy-MM-dd HH:mm:ss.SSS xxx", zone: "America/New_York")
        #expect(human.stdoutLines.contains("modified: \(local)"), "\(human.stdoutLines) lacks \(local)")
        #expect(human.stdoutLines.contains("expires:  never"))

        let small = try await scratch.trove(["--store", store, "stat", "greetings/en"])
        #expect(small.stdoutLines.contains("size:     3 bytes"), "\(small.stdoutLines)")

        let exact = try await scratch.trove(["--store", store, "stat", "photos/cat.jpg", "--bytes", "--iso"])
        #expect(exact.stdoutLines.contains("size:     48213"), "\(exact.stdoutLines)")
        let utc = try Self.formatted(date, "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", zone: "UTC")
        #expect(exact.stdoutLines.contains("modified: \(utc)"), "\(exact.stdoutLines) lacks \(utc)")
    }

    static let displayUsageErrors: [[String]] = [
        ["list", "--bytes"],
        ["list", "--iso"],
        ["stat", "k", "--json", "--iso"],
        ["info", "--json", "--bytes"],
        ["info", "memory:", "--store", "memory:"],
        ["info", "--count-limit", "-1"],
        ["queue", "pop", "jobs", "--json"],
    ]

    @Test("display flags that cannot apply are usage errors", arguments: displayUsageErrors)
    func displayUsageError(_ arguments: [String]) async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let result = try await scratch.trove(["--store", "memory:"] + arguments)
        #expect(result.status == 2, "\(result.stderr)")
        result.expectOneErrorLine()
        #expect(result.stdout.isEmpty)
        // The hint names the command that refused, subcommand and all.
        let command = arguments.prefix { !$0.hasPrefix("-") && $0 != "k" && $0 != "jobs" && $0 != "memory:" }
        #expect(result.stderr.contains("(see 'trove \(command.joined(separator: " ")) --help')"), "\(result.stderr)")
    }

    @Test("info: kind, location, capabilities, and the keys and bytes it counted")
    func info() async throws {
        let (scratch, store) = try await Self.filledStore()
        defer { scratch.remove() }

        let table = try await scratch.trove(["info", store])
        #expect(table.status == 0, "\(table.stderr)")
        let lines = table.stdoutLines
        #expect(lines.contains("kind:     FileSystemStore (scheme file)"), "\(lines)")
        #expect(lines.contains("keys:     3"), "\(lines)")
        #expect(lines.contains("size:     3048216 bytes (2.9 MiB)"), "\(lines)")
        #expect(lines.contains { $0.hasPrefix("can:") && $0.contains("expiration") })
        #expect(lines.contains("cannot:   atomicBatches, expiryRefreshOnRead"), "\(lines)")
        // The capability lists wrap under 80 columns, continuing under their first name.
        let capabilityLines = lines.filter { $0.hasPrefix("can:") || $0.hasPrefix("cannot:") || $0.hasPrefix("          ") }
        #expect(capabilityLines.count >= 3 && capabilityLines.allSatisfy { $0.count <= 80 }, "\(lines)")

        // --store and TROVE_STORE choose the store too.
        let fromEnvironment = try await scratch.trove(["info", "--json"], environment: ["TROVE_STORE": store])
        let object = try #require(try JSONSerialization.jsonObject(with: fromEnvironment.stdout) as? [String: Any])
        #expect(object["url"] as? String == store)
        #expect(object["scheme"] as? String == "file")
        #expect(object["kind"] as? String == "FileSystemStore")
        #expect(object["keys"] as? Int == 3)
        #expect(object["bytes"] as? Int == 3_048_216)
        #expect(object["totalsComplete"] as? Bool == true)
        let capabilities = try #require(object["capabilities"] as? [String])
        let missing = try #require(object["missingCapabilities"] as? [String])
        #expect(capabilities.contains("expiration") && capabilities.contains("streaming"))
        #expect(missing == ["atomicBatches", "expiryRefreshOnRead"])
        #expect(Set(capabilities).isDisjoint(with: missing))

        let limited = try await scratch.trove(["--store", store, "info", "--json", "--count-limit", "2"])
        let partial = try #require(try JSONSerialization.jsonObject(with: limited.stdout) as? [String: Any])
        #expect(partial["keys"] as? Int == 2)
        #expect(partial["bytes"] as? Int == 48_216)
        #expect(partial["totalsComplete"] as? Bool == false)
        let limitedTable = try await scratch.trove(["info", store, "--count-limit", "2"])
        #expect(limitedTable.stdoutLines.contains("keys:     at least 2 (stopped counting; --all counts every key)"),
                "\(limitedTable.stdoutLines)")
        let all = try await scratch.trove(["info", store, "--count-limit", "2", "--all", "--bytes"])
        #expect(all.stdoutLines.contains("keys:     3") && all.stdoutLines.contains("size:     3048216"),
                "\(all.stdoutLines)")

        let prefixed = try await scratch.trove(["info", store, "--prefix", "photos/", "--json"])
        let photos = try #require(try JSONSerialization.jsonObject(with: prefixed.stdout) as? [String: Any])
        #expect(photos["keys"] as? Int == 1 && photos["bytes"] as? Int == 48_213 && photos["prefix"] as? String == "photos/")

        let sqlite = try await scratch.trove(["info", "sqlite:" + scratch.directory.appendingPathComponent("i.db").path, "--json"])
        let sqliteObject = try #require(try JSONSerialization.jsonObject(with: sqlite.stdout) as? [String: Any])
        #expect(sqliteObject["kind"] as? String == "SQLiteStore")
        #expect((sqliteObject["capabilities"] as? [String])?.contains("atomicBatches") == true)
        #expect(sqliteObject["missingCapabilities"] as? [String] == [])
    }

    @Test("info never shows a password, and a store it cannot reach exits with 4")
    func infoHidesPasswords() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        // Port 1 on loopback: nothing listens there.
        let result = try await scratch.trove(["info", "redis://user:hunter2@127.0.0.1:1/0"])
        #expect(result.status == 4)
        result.expectOneErrorLine()
        #expect(!result.stderr.contains("hunter2"), "\(result.stderr)")
        #expect(result.stderr.contains("127.0.0.1:1"))
    }

    @Test("put --json prints the new entry; queue push, pop and count print JSON objects")
    func putAndQueueJSON() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let store = scratch.storeURL
        let input = try scratch.file("value", Data("hello".utf8))

        let put = try await scratch.trove(["--store", store, "put", "docs/hello", input.path, "--json", "--expires-in", "1h"])
        #expect(put.status == 0, "\(put.stderr)")
        let entry = try #require(try JSONSerialization.jsonObject(with: put.stdout) as? [String: Any])
        #expect(entry["key"] as? String == "docs/hello" && entry["size"] as? Int == 5)
        let etag = try #require(entry["etag"] as? String)
        let stat = try await scratch.trove(["--store", store, "stat", "docs/hello", "--json"])
        let stored = try #require(try JSONSerialization.jsonObject(with: stat.stdout) as? [String: Any])
        #expect(stored["etag"] as? String == etag)
        #expect(entry["expires"] as? String == stored["expires"] as? String && entry["expires"] is String)

        let push = try await scratch.trove(["--store", store, "queue", "push", "jobs", input.path, "--json"])
        let pushed = try #require(try JSONSerialization.jsonObject(with: push.stdout) as? [String: Any])
        #expect(pushed["queue"] as? String == "jobs" && pushed["size"] as? Int == 5)
        let key = try #require(pushed["key"] as? String)
        #expect(key.hasPrefix("jobs/"))

        let count = try await scratch.trove(["--store", store, "queue", "count", "jobs", "--json"])
        let counted = try #require(try JSONSerialization.jsonObject(with: count.stdout) as? [String: Any])
        #expect(counted["count"] as? Int == 1)

        let output = scratch.directory.appendingPathComponent("job")
        let pop = try await scratch.trove(["--store", store, "queue", "pop", "jobs", "--output", output.path, "--json"])
        #expect(pop.status == 0, "\(pop.stderr)")
        let popped = try #require(try JSONSerialization.jsonObject(with: pop.stdout) as? [String: Any])
        #expect(popped["key"] as? String == key && popped["size"] as? Int == 5)
        #expect(try Data(contentsOf: output) == Data("hello".utf8))
        let receipt = try #require(popped["receipt"] as? String)
        let ack = try await scratch.trove(["--store", store, "queue", "ack", "jobs", receipt])
        #expect(ack.status == 0, "\(ack.stderr)")
        let after = try await scratch.trove(["--store", store, "queue", "count", "jobs"])
        #expect(after.stdoutLines == ["0"])
    }
}
