import ArgumentParser
import Foundation
import Trove

/// The arguments of `copy`, `sync` and `check`: a source and a destination store URL, a key
/// prefix, and `--json`.
struct StorePairOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("The store to read from, such as file:///var/data.", valueName: "source-url"))
    var source: String

    @Argument(help: ArgumentHelp("The other store, such as sqlite:///var/backup.db.", valueName: "destination-url"))
    var destination: String

    @Option(help: ArgumentHelp("Work only on keys that start with these bytes (default: every key).",
                               valueName: "prefix"))
    var prefix = ""

    @Flag(help: "Also print the summary as one JSON object on standard output.")
    var json = false

    /// Schemes whose every URL opens a new, separate store, so equal URLs are two stores.
    private static let schemesOfSeparateStores: Set<String> = ["memory", "null"]

    func validate() throws {
        let parsed: (StoreURL, StoreURL)
        do throws(StoreError) {
            parsed = (try StoreOpener.commandLine.parse(source), try StoreOpener.commandLine.parse(destination))
            _ = try ListQuery(prefix: prefix)
        } catch {
            throw ValidationError(error.message)
        }
        if parsed.0 == parsed.1, !Self.schemesOfSeparateStores.contains(parsed.0.scheme.lowercased()) {
            throw ValidationError("the source and the destination are the same store ('\(parsed.0)')")
        }
    }

    /// Opens both stores, runs `body` with them, and closes them.
    ///
    /// - Throws: A usage failure when two different URLs open the same store (`file:data` and
    ///   `file:./data`), as the stores' descriptions tell; what opening a store or `body` throws.
    func withStores<Value>(
        _ body: (_ source: any KeyValueStore, _ destination: any KeyValueStore) async throws -> Value
    ) async throws -> Value {
        let scheme = try StoreOpener.commandLine.parse(source).scheme.lowercased()
        return try await StoreOpener.commandLine.withStore(source) { sourceStore in
            try await StoreOpener.commandLine.withStore(destination) { destinationStore in
                if sourceStore.description == destinationStore.description, !Self.schemesOfSeparateStores.contains(scheme) {
                    throw CommandFailure(.invalidInput,
                                         "the source and the destination are the same store (\(sourceStore))")
                }
                return try await body(sourceStore, destinationStore)
            }
        }
    }

    /// The part of a JSON summary every command shares: command, source, destination, prefix.
    /// URLs are shown with their passwords replaced by `***`.
    func jsonHeader(command: String) throws -> JSONObject {
        var object = JSONObject()
        object.add("command", command)
        object.add("source", try StoreOpener.commandLine.parse(source).redacted)
        object.add("destination", try StoreOpener.commandLine.parse(destination).redacted)
        object.add("prefix", prefix)
        return object
    }
}

/// Options of the commands that read or write many keys at once.
struct TransferOptions: ParsableArguments {
    @Option(help: ArgumentHelp("How many values or batches of small values are copied at once.", valueName: "n"))
    var transfers = 8

    func validate() throws {
        guard (1...1024).contains(transfers) else {
            throw ValidationError("--transfers must be from 1 to 1024, not \(transfers)")
        }
    }
}

/// `--checkers` of `sync` and `check`.
struct CheckerOptions: ParsableArguments {
    @Option(help: ArgumentHelp("How many pairs of values are read and compared at once with --checksum.", valueName: "n"))
    var checkers = 8

    func validate() throws {
        guard (1...1024).contains(checkers) else {
            throw ValidationError("--checkers must be from 1 to 1024, not \(checkers)")
        }
    }
}

/// `--drop-expiry` of `copy` and `sync`.
struct ExpiryOptions: ParsableArguments {
    @Flag(name: .customLong("drop-expiry"),
          help: "Copy entries that expire into a store that cannot keep an expiry (such as S3) as entries that never expire.")
    var dropExpiry = false

    /// What the library does with such entries.
    var expiries: ExpiryCopying { dropExpiry ? .droppedWhereUnsupported : .required }

    /// Runs `body`, adding to a refusal to copy an expiring entry how to copy it anyway.
    func explainingRefusals<Value>(_ body: () async throws -> Value) async throws -> Value {
        do {
            return try await body()
        } catch let error as StoreError where error.code == .notSupported && error.operation == .copy && error.key != nil {
            guard let report = StoreErrorReport(error) else { throw error }
            throw CommandFailure(report.status, report.message + " (--drop-expiry copies such entries to never expire)")
        }
    }

    /// `; 3 keys copied without their expiry`, or nothing when every expiry was kept.
    static func note(_ dropped: Int) -> String {
        dropped == 0 ? "" : "; \(Show.keys(dropped)) copied without their expiry"
    }
}

/// Time spent, for summaries.
struct Stopwatch {
    private let start = ContinuousClock.now

    /// The seconds since the stopwatch was made.
    var seconds: Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}

extension Show {
    /// A byte count for people: `512 bytes`, `1 byte`, `3.2 KiB`, `4.0 MiB`, `1.5 GiB`.
    static func bytes(_ count: Int64) -> String {
        if count < 1024 { return count == 1 ? "1 byte" : "\(count) bytes" }
        let units = ["KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = Double(count) / 1024
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return String(format: "%.1f", value) + " " + units[unit]
    }

    /// A count of keys: `1 key`, `5 keys`.
    static func keys(_ count: Int) -> String {
        count == 1 ? "1 key" : "\(count) keys"
    }

    /// Elapsed seconds for people: `0.04 s`, `12.3 s`.
    static func seconds(_ seconds: Double) -> String {
        String(format: seconds < 10 ? "%.2f s" : "%.1f s", seconds)
    }
}
