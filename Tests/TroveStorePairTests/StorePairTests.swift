import Foundation
import PostgresNIO
import Testing
import Trove
import TrovePostgres
import TroveRedis
import TroveS3
import TroveS3Client
import TroveSQLite
import TroveTestSupport

/// `trove copy`, `trove check` and `trove sync` between every two kinds of store, each pair
/// in namespaces of its own, checked key by key and value by value through the library.
@Suite(
    "trove copy, check and sync between every two kinds of store",
    .enabled(if: TestServer.redis.isAvailable && TestServer.s3.isAvailable && TestServer.postgres.isAvailable,
             "needs the redis, s3 and postgres servers that scripts/test starts"),
    .timeLimit(.minutes(15))
)
struct StorePairTests {
    static let pairs: [StorePair] = StoreKind.allCases.flatMap { source in
        StoreKind.allCases.map { StorePair(source: source, destination: $0) }
    }

    @Test("copy, check, sync and a second copy", arguments: pairs)
    func copyCheckSync(_ pair: StorePair) async throws {
        try await withScratchDirectory("trove-pairs") { scratch in
            try await StoreNamespace.with(pair.source, label: "source", scratch: scratch) { source in
                try await StoreNamespace.with(pair.destination, label: "destination", scratch: scratch) { destination in
                    try await Self.check(pair, from: source, to: destination, scratch: scratch)
                }
            }
        }
    }

    /// The fixture: a key that is also a prefix of others, nested levels, an empty value, a
    /// value of 8 MiB, and (when the source keeps expiries) an entry that expires in an hour.
    static func fixture() -> [(key: StoreKey, value: Data)] {
        [
            ("a", Data("one".utf8)),
            ("a/b", Data("two".utf8)),
            ("a/b/c", Data("three".utf8)),
            ("deep/x/y/z/leaf", patternedBytes(1_000, seed: 3)),
            ("empty", Data()),
            ("big", patternedBytes(8 << 20, seed: 8)),
            ("nested/dir/file.txt", Data("text".utf8)),
        ]
    }

    static func check(_ pair: StorePair, from source: StoreNamespace, to destination: StoreNamespace, scratch: URL) async throws {
        let environment = source.environment.merging(destination.environment) { first, _ in first }
        let expiry = Date(timeIntervalSince1970: ((Date().timeIntervalSince1970 + 3600) * 1000).rounded(.down) / 1000)
        var expected = Dictionary(uniqueKeysWithValues: fixture().map { ($0.key, $0.value) })
        try await source.withStore { store in
            for (key, value) in expected { try await store.set(value, for: key) }
            if pair.source.keepsExpiry {
                try await store.set(Data("expires".utf8), for: "soon", expiry: .at(expiry))
            }
        }
        if pair.destination == .s3 {
            // S3 keeps modification times to the second: a value copied within the second its
            // original was written would look older than it, and the sync below would copy it
            // again (a wasted copy, never a missed one). Start the copy in the next second.
            let now = Date().timeIntervalSince1970
            try await Task.sleep(for: .milliseconds(Int((now.rounded(.down) + 1 - now) * 1000) + 50))
        }
        let hasExpiring = pair.source.keepsExpiry
        if hasExpiring { expected["soon"] = Data("expires".utf8) }
        let dropsExpiry = hasExpiring && !pair.destination.keepsExpiry

        // An entry that expires cannot go where no expiry is kept, unless --drop-expiry says so.
        if dropsExpiry {
            let refused = try await run(["copy", source.url, destination.url], environment: environment)
            #expect(refused.status == 2, "\(refused.errors)")
            #expect(refused.errors.contains("'soon'") && refused.errors.contains("--drop-expiry"), "\(refused.errors)")
            // A dry run predicts the refusal.
            for command in ["copy", "sync"] {
                let planned = try await run([command, source.url, destination.url, "--dry-run"], environment: environment)
                #expect(planned.status == 2, "\(command) --dry-run: \(planned.errors)")
                #expect(planned.errors.contains("'soon'") && planned.errors.contains("--drop-expiry"), "\(planned.errors)")
            }
            try await destination.withStore { store in
                let held = try await store.contains("soon")
                #expect(held == false)
            }
        }
        let copy = try await run(["copy", source.url, destination.url, "--json", "--transfers", "4"]
                                     + (dropsExpiry ? ["--drop-expiry"] : []),
                                 environment: environment)
        try #require(copy.status == 0, "copy failed: \(copy.errors)")
        let summary = try jsonObject(copy.output)
        #expect(summary["copied"] as? Int == expected.count)
        #expect(summary["bytes"] as? Int == expected.values.reduce(0) { $0 + $1.count })
        #expect(summary["expiriesDropped"] as? Int == (dropsExpiry ? 1 : 0))
        // Two S3 stores of one endpoint copy on the server.
        #expect(summary["serverSide"] as? Bool == (pair.source == .s3 && pair.destination == .s3))

        try await expectSame(expected, in: destination)
        try await destination.withStore { store in
            let soon = try await store.metadata(for: "soon")
            if hasExpiring && !dropsExpiry {
                let kept = try #require(soon?.expirationDate, "the expiry of 'soon' was not kept in \(store)")
                #expect(abs(kept.timeIntervalSince(expiry)) < 0.002, "\(kept) is not \(expiry)")
            } else if dropsExpiry {
                #expect(soon != nil && soon?.expirationDate == nil)
            }
        }

        let identical = try await run(["check", source.url, destination.url, "--checksum", "--json"],
                                      environment: environment)
        #expect(identical.status == 0, "\(identical.errors)")
        #expect(try jsonObject(identical.output)["identical"] as? Bool == true)

        // Change both sides: the source rewrites a/b and loses a/b/c; the destination gains a key.
        try await source.withStore { store in
            try await store.set(Data("two, rewritten".utf8), for: "a/b")
            try await store.delete("a/b/c")
        }
        expected["a/b"] = Data("two, rewritten".utf8)
        expected["a/b/c"] = nil
        try await destination.withStore { store in try await store.set(Data("extra".utf8), for: "only/here") }

        let differ = try await run(["check", source.url, destination.url], environment: environment)
        #expect(differ.status == 3, "\(differ.errors)")
        #expect(Set(differ.outputLines) == ["* a/b", "- a/b/c", "- only/here"], "\(differ.outputLines)")

        let sync = try await run(["sync", source.url, destination.url, "--json"] + (dropsExpiry ? ["--drop-expiry"] : []),
                                 environment: environment)
        try #require(sync.status == 0, "sync failed: \(sync.errors)")
        let synced = try jsonObject(sync.output)
        #expect(synced["copied"] as? Int == 1)
        #expect(synced["deleted"] as? Int == 2)
        #expect(synced["serverSide"] as? Bool == (pair.source == .s3 && pair.destination == .s3))
        try await expectSame(expected, in: destination)

        let again = try await run(["copy", source.url, destination.url, "--no-replace", "--json"] + (dropsExpiry ? ["--drop-expiry"] : []),
                                  environment: environment)
        #expect(again.status == 0, "\(again.errors)")
        let second = try jsonObject(again.output)
        #expect(second["copied"] as? Int == 0)
        #expect(second["skipped"] as? Int == expected.count)

        let finally = try await run(["check", source.url, destination.url, "--checksum"], environment: environment)
        #expect(finally.status == 0, "\(finally.errors)")
    }

    /// Expects `namespace` to hold exactly `expected`, read through the library.
    static func expectSame(_ expected: [StoreKey: Data], in namespace: StoreNamespace) async throws {
        try await namespace.withStore { store in
            var keys: [StoreKey] = []
            for try await key in try store.keys() { keys.append(key) }
            #expect(keys == expected.keys.sorted(), "\(store) holds \(keys)")
            for (key, value) in expected {
                let entry = try #require(try await store.read(key), "\(key) is missing in \(store)")
                #expect(entry.value == value, "\(key) holds \(entry.value.count) other bytes in \(store)")
            }
        }
    }

    static func run(_ arguments: [String], environment: [String: String?]) async throws -> TroveOutcome {
        let outcome = try await ChildProcess.run(try BuiltExecutable.trove(), arguments, environment: environment)
        return TroveOutcome(status: outcome.status, output: outcome.output, errors: outcome.errors)
    }

    static func jsonObject(_ data: Data) throws -> [String: Any] {
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        let last = try #require(lines.last, "no JSON on standard output")
        return try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
    }
}

/// What one `trove` run printed and how it ended.
struct TroveOutcome {
    var status: Int32
    var output: Data
    var errors: String
    var outputLines: [String] { String(decoding: output, as: UTF8.self).split(separator: "\n").map(String.init) }
}

/// The kinds of store the command line copies between.
enum StoreKind: String, CaseIterable, Sendable {
    case file, sqlite, redis, s3, postgres

    /// Whether the kind keeps expiry dates (S3 does not).
    var keepsExpiry: Bool { self != .s3 }
}

/// A source kind and a destination kind.
struct StorePair: Sendable, CustomTestStringConvertible {
    var source: StoreKind
    var destination: StoreKind
    var testDescription: String { "\(source.rawValue) → \(destination.rawValue)" }
}

/// A store of one kind in a namespace of its own (a directory, a database file, a Redis key
/// prefix, an S3 bucket, a PostgreSQL table), removed afterwards.
struct StoreNamespace: Sendable {
    /// The store's URL.
    var url: String
    /// The environment `trove` needs for it (S3's credentials).
    var environment: [String: String?] = [:]

    private static let opener = StoreOpener.withSQLite.adding(.redis).adding(.s3).addingPostgres()

    /// Opens the store in this process.
    func withStore<T>(_ body: (any KeyValueStore) async throws -> T) async throws -> T {
        var variables = ProcessInfo.processInfo.environment
        for (name, value) in environment { variables[name] = value }
        let context = StoreOpeningContext(currentDirectory: URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
                                          environment: variables)
        return try await Self.opener.withStore(url, in: context, body)
    }

    /// Runs `body` with a fresh namespace of `kind`, and removes it however `body` ends.
    static func with<T>(_ kind: StoreKind, label: String, scratch: URL, _ body: (StoreNamespace) async throws -> T) async throws -> T {
        let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        var cleanup: () async throws -> Void = {}
        let namespace: StoreNamespace
        switch kind {
        case .file:
            namespace = StoreNamespace(url: scratch.appendingPathComponent(label, isDirectory: true).absoluteString)
        case .sqlite:
            namespace = StoreNamespace(url: "sqlite://" + scratch.appendingPathComponent(label + ".db").path)
        case .redis:
            let base = try TestServer.redis.require()
            namespace = StoreNamespace(url: base + "/0?prefix=pairs-\(suffix):")
            cleanup = {
                try await namespace.withStore { store in
                    var keys: [StoreKey] = []
                    for try await key in try store.keys() { keys.append(key) }
                    for key in keys { try await store.delete(key) }
                }
            }
        case .s3:
            let endpoint = try TestServer.s3.require()
            let access = try TestServer(name: "s3", variable: "TROVE_TEST_S3_ACCESS_KEY").require()
            let secret = try TestServer(name: "s3", variable: "TROVE_TEST_S3_SECRET_KEY").require()
            let client = S3Client(configuration: try S3ClientConfiguration(
                endpoint: URL(string: endpoint)!, credentials: S3Credentials(accessKeyID: access, secretAccessKey: secret)))
            let bucket = "trove-pairs-\(suffix)"
            try await client.createBucket(bucket)
            namespace = StoreNamespace(url: "s3://\(bucket)/\(label)/?endpoint=\(endpoint)",
                                       environment: ["AWS_ACCESS_KEY_ID": access, "AWS_SECRET_ACCESS_KEY": secret])
            cleanup = {
                while true {
                    let page = try await client.listObjectsV2(bucket: bucket)
                    if page.objects.isEmpty { break }
                    _ = try await client.deleteObjects(bucket: bucket, keys: page.objects.map(\.key))
                }
                try await client.deleteBucket(bucket)
            }
        case .postgres:
            let base = try TestServer.postgres.require()
            let table = "pairs_\(suffix)"
            namespace = StoreNamespace(url: base + "?table=\(table)")
            cleanup = { try await dropPostgresTable(table, at: base) }
        }
        do {
            let result = try await body(namespace)
            try await cleanup()
            return result
        } catch {
            try? await cleanup()   // the test's own error is the one to report
            throw error
        }
    }

    /// Drops `table` from the database `url` names.
    private static func dropPostgresTable(_ table: String, at url: String) async throws {
        let parsed = try StoreURL(parsing: url)
        let database = parsed.path.hasPrefix("/") ? String(parsed.path.dropFirst()) : parsed.path
        let configuration = PostgresClient.Configuration(
            host: parsed.host ?? "127.0.0.1", port: parsed.port ?? 5432, username: parsed.user ?? "postgres",
            password: parsed.password, database: database, tls: .disable)
        let client = PostgresClient(configuration: configuration)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await client.query(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS public.\(table)"))
        }
    }
}
