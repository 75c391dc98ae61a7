import ArgumentParser
import Foundation
import Trove

/// `trove info [URL]`: what a store is, what it can do, and how much it holds.
struct InfoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show a store's kind, where it lives, what it can do, and how many keys and bytes it holds.",
        discussion: """
            The store is URL if given, else the one --store, TROVE_STORE or the default choose. \
            Passwords are never shown. Keys and bytes are counted by listing the keys with their \
            sizes, so info stops counting after --count-limit keys (10,000: ten listing requests \
            on S3) and says the totals are at least what it counted; --all counts every key.

            --json prints one object: {"url", "scheme", "kind", "description", "capabilities", \
            "missingCapabilities", "prefix", "keys", "bytes", "totalsComplete"}, the \
            capabilities as arrays of names; keys and bytes are what was counted, complete when \
            totalsComplete is true.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The store URL (default: --store, else $TROVE_STORE, else the local store).",
                                 valueName: "url"))
    var url: String?

    @Option(help: ArgumentHelp("Count only keys that start with these bytes.", valueName: "prefix"))
    var prefix = ""

    @Option(help: ArgumentHelp("Stop counting after this many keys (default: 10000).", valueName: "count"))
    var countLimit = 10_000

    @Flag(help: "Count every key, however many there are.")
    var all = false

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @OptionGroup(title: "Display of the table") var display: DisplayOptions

    func validate() throws {
        if url != nil && global.store != nil {
            throw ValidationError("give the store either as an argument or with --store, not both")
        }
        if countLimit < 0 {
            throw ValidationError("--count-limit must be 0 or more, not \(countLimit)")
        }
        if json && (display.bytes || display.iso) {
            throw ValidationError("\(display.bytes ? "--bytes" : "--iso") changes only the table; --json always shows bytes")
        }
        do throws(StoreError) {
            _ = try ListQuery(prefix: prefix)
        } catch {
            throw ValidationError(error.message)
        }
    }

    func run() async throws {
        let url = self.url ?? global.url
        let parsed = try StoreOpener.commandLine.parse(url)
        let limit = all ? nil : countLimit
        let report = try await StoreOpener.commandLine.withStore(url) { store in
            try await StoreReport(of: store, prefix: prefix, countingUpTo: limit)
        }
        var output = StandardOutput()
        if json {
            var object = JSONObject()
            object.add("url", parsed.redacted)
            object.add("scheme", parsed.scheme.lowercased())
            object.add("kind", report.kind)
            object.add("description", report.description)
            object.add("capabilities", json: JSONObject.array(report.capabilities.names))
            object.add("missingCapabilities",
                       json: JSONObject.array(StoreCapabilities.all.subtracting(report.capabilities).names))
            object.add("prefix", prefix)
            object.add("keys", Int64(report.keys))
            object.add("bytes", report.bytes)
            object.add("totalsComplete", json: report.complete ? "true" : "false")
            try output.line(object.rendered)
        } else {
            let missing = StoreCapabilities.all.subtracting(report.capabilities).names
            var rows = [
                ("store", parsed.redacted),
                ("kind", "\(report.kind) (scheme \(parsed.scheme.lowercased()))"),
                ("location", report.description),
                ("can", Self.list(report.capabilities.names)),
                ("cannot", missing.isEmpty ? "-" : Self.list(missing)),
            ]
            if !prefix.isEmpty { rows.append(("prefix", prefix)) }
            let atLeast = report.complete ? "" : "at least "
            rows.append(("keys", atLeast + String(report.keys)
                            + (report.complete ? "" : " (stopped counting; --all counts every key)")))
            rows.append(("size", atLeast + StatCommand.size(report.bytes, display: display)))
            for (name, value) in rows {
                try output.line(Show.leftAligned(name + ":", 10) + value)
            }
        }
        try output.flush()
    }

    /// Names separated by commas, in lines under 80 columns after the table's first column.
    private static func list(_ names: [String]) -> String {
        let indent = 10
        let text = wrapped(names.joined(separator: ", "), indent: indent)
        return String(text.dropFirst(indent))
    }
}

/// What `trove info` tells about a store.
struct StoreReport {
    /// The store's type, such as `FileSystemStore`.
    var kind: String
    /// The store's own description: where it lives, without secrets.
    var description: String
    /// What the store can do.
    var capabilities: StoreCapabilities
    /// The keys counted.
    var keys = 0
    /// The bytes of the values counted.
    var bytes: Int64 = 0
    /// Whether every key under the prefix was counted.
    var complete = true

    /// Describes `store`, counting the keys under `prefix` and their sizes, up to `limit` keys
    /// (every key when `limit` is `nil`).
    init(of store: any KeyValueStore, prefix: String, countingUpTo limit: Int?) async throws {
        kind = String(describing: type(of: store))
        description = store.description
        capabilities = store.capabilities
        for try await element in store.list(try ListQuery(prefix: prefix, includesMetadata: true)) {
            if let limit, keys >= limit {
                complete = false
                break
            }
            keys += 1
            bytes += element.metadata?.size ?? 0
        }
    }
}
