import ArgumentParser
import Foundation
import Trove

/// `trove stat KEY [--json]`: shows a key's metadata.
struct StatCommand: StoreCommand {
    static let configuration = CommandConfiguration(
        commandName: "stat",
        abstract: "Show the size, ETag and times of the value stored under a key.",
        discussion: """
            --json prints one object: {"key", "size", "etag", "modified", "created", "expires"}, \
            dates in ISO 8601 (UTC, milliseconds), null where the store keeps no such date. \
            Without --json, sizes show exact bytes and KiB, MiB or GiB (--bytes: bytes \
            alone) and dates the local time zone, as TZ sets it, with its offset (--iso: ISO \
            8601 in UTC). Exits with 1 if the key holds no value.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The key to describe.")
    var key: String

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @OptionGroup(title: "Display of the table") var display: DisplayOptions

    func validate() throws {
        if json && (display.bytes || display.iso) {
            throw ValidationError("\(display.bytes ? "--bytes" : "--iso") changes only the table; --json always shows bytes and ISO 8601 dates")
        }
    }

    func run(on store: any KeyValueStore) async throws {
        let key = try StoreKey(validating: self.key)
        guard let metadata = try await store.metadata(for: key) else {
            throw CommandFailure.notFound(key, in: store)
        }
        var output = StandardOutput()
        if json {
            try output.line(Show.json(metadata, keepsModification: store.capabilities.contains(.modificationDate)).rendered)
        } else {
            let rows = [
                ("key", metadata.key.rawValue),
                ("size", Self.size(metadata.size, display: display)),
                ("etag", metadata.etag.rawValue),
                ("modified", store.capabilities.contains(.modificationDate) ? display.preciseDate(metadata.modificationDate)
                    : "not kept by this store"),
                ("created", metadata.creationDate.map(display.preciseDate) ?? "not kept by this store"),
                ("expires", metadata.expirationDate.map(display.preciseDate) ?? "never"),
            ]
            for (name, value) in rows {
                try output.line(Show.leftAligned(name + ":", 10) + value)
            }
        }
        try output.flush()
    }

    /// `48213 bytes (47.1 KiB)`, `13 bytes`, or with `--bytes` just `48213`.
    static func size(_ size: Int64, display: DisplayOptions) -> String {
        if display.bytes { return String(size) }
        let exact = size == 1 ? "1 byte" : "\(size) bytes"
        return size < 1024 ? exact : "\(exact) (\(Show.bytes(size)))"
    }
}
