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
            Exits with 1 if the key holds no value.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The key to describe.")
    var key: String

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func run(on store: any KeyValueStore) async throws {
        let key = try StoreKey(validating: self.key)
        guard let metadata = try await store.metadata(for: key) else {
            throw CommandFailure.notFound(key, in: store)
        }
        var output = StandardOutput()
        if json {
            try output.line(Show.json(metadata).rendered)
        } else {
            let rows = [
                ("key", metadata.key.rawValue),
                ("size", metadata.size == 1 ? "1 byte" : "\(metadata.size) bytes"),
                ("etag", metadata.etag.rawValue),
                ("modified", Show.preciseDate(metadata.modificationDate)),
                ("created", metadata.creationDate.map(Show.preciseDate) ?? "not kept by this store"),
                ("expires", metadata.expirationDate.map(Show.preciseDate) ?? "never"),
            ]
            for (name, value) in rows {
                try output.line(Show.leftAligned(name + ":", 10) + value)
            }
        }
        try output.flush()
    }
}
