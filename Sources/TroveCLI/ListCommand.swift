import ArgumentParser
import Foundation
import Trove

/// `trove list [PREFIX]`: lists keys in byte-wise order.
struct ListCommand: StoreCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the keys that start with a prefix, in byte-wise order.",
        discussion: """
            The prefix is plain bytes: 'us' matches users/alice and usage. With --delimiter, \
            keys with the delimiter after the prefix are rolled up into one line ending with \
            it, such as photos/2024/: one level of a hierarchy.

            --long prints size, modification time, ETag and key in aligned columns: sizes \
            in B, KiB, MiB and GiB (exact byte counts with --bytes), times to the second in \
            the local time zone, as TZ sets it (ISO 8601 in UTC with --iso); a rolled-up \
            prefix shows '-' in the first three.

            --json prints JSON Lines: one object per line, {"key", "size", "etag", \
            "modified", "created", "expires"} for a key (dates in ISO 8601, UTC, \
            milliseconds; null where the store keeps no such date) and {"prefix"} for a \
            rolled-up prefix. Lines come out as the listing goes, so a long listing streams.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "List only keys that start with these bytes.")
    var prefix: String = ""

    @Option(help: ArgumentHelp("Show one level of a hierarchy separated by this character, such as /.",
                               valueName: "character"))
    var delimiter: String?

    @Flag(name: [.short, .long], help: "Show size, modification time and ETag in columns.")
    var long = false

    @Flag(help: "Print one JSON object per line (JSON Lines).")
    var json = false

    @OptionGroup(title: "Display of --long") var display: DisplayOptions

    func validate() throws {
        if long && json {
            throw ValidationError("--long and --json cannot be used together")
        }
        if !long && (display.bytes || display.iso) {
            throw ValidationError("\(display.bytes ? "--bytes" : "--iso") changes only what --long shows; add --long")
        }
        if let delimiter, delimiter.count != 1 {
            throw ValidationError("--delimiter takes one character, not '\(delimiter)'")
        }
    }

    func run(on store: any KeyValueStore) async throws {
        let query = try ListQuery(prefix: prefix, delimiter: delimiter?.first, includesMetadata: long || json)
        var output = StandardOutput()
        if long {
            var table = LongListing(display: display, keepsModification: store.capabilities.contains(.modificationDate))
            for try await element in store.list(query) {
                if let rows = table.add(element) { try table.write(rows, to: &output) }
            }
            try table.write(table.finish(), to: &output)
        } else {
            for try await element in store.list(query) {
                try output.line(json ? Self.json(element, keepsModification: store.capabilities.contains(.modificationDate)) : element.name)
            }
        }
        try output.flush()
    }

    private static func json(_ element: ListElement, keepsModification: Bool) -> String {
        if let metadata = element.metadata { return Show.json(metadata, keepsModification: keepsModification).rendered }
        var object = JSONObject()
        object.add(element.key == nil ? "prefix" : "key", element.name)
        return object.rendered
    }
}

/// The rows of `list --long`, aligned in blocks of up to 1,000 rows.
///
/// Widths come from the rows seen so far and never shrink, so a listing of up to 1,000 keys is
/// aligned exactly and a longer one stays aligned unless a later block is wider.
struct LongListing {
    private var pending: [(size: String, date: String, etag: String, name: String)] = []
    private var sizeWidth = 1
    private var dateWidth = 1
    private var etagWidth = 1
    private let blockSize = 1000
    private let display: DisplayOptions
    private let keepsModification: Bool

    /// A listing shown as `display` says; with `keepsModification` false (a store that does
    /// not keep modification dates), `-` in the date column.
    init(display: DisplayOptions, keepsModification: Bool = true) {
        self.display = display
        self.keepsModification = keepsModification
    }

    /// Adds a row; returns a block of rows when one is full.
    mutating func add(_ element: ListElement) -> [String]? {
        if let metadata = element.metadata {
            let date = keepsModification ? display.date(metadata.modificationDate) : "-"
            pending.append((display.size(metadata.size), date, metadata.etag.rawValue, element.name))
        } else {
            pending.append(("-", "-", "-", element.name))
        }
        return pending.count >= blockSize ? finish() : nil
    }

    /// The rows not yet returned, aligned.
    mutating func finish() -> [String] {
        sizeWidth = pending.reduce(sizeWidth) { max($0, $1.size.count) }
        dateWidth = pending.reduce(dateWidth) { max($0, $1.date.count) }
        etagWidth = pending.reduce(etagWidth) { max($0, $1.etag.count) }
        let lines = pending.map { row in
            [Show.rightAligned(row.size, sizeWidth), Show.leftAligned(row.date, dateWidth), Show.leftAligned(row.etag, etagWidth), row.name]
                .joined(separator: "  ")
        }
        pending.removeAll(keepingCapacity: true)
        return lines
    }

    /// Writes `rows` to `output`.
    func write(_ rows: [String], to output: inout StandardOutput) throws {
        for row in rows { try output.line(row) }
    }
}
