import ArgumentParser
import Foundation
import Trove

/// `trove check SOURCE DESTINATION`: tells whether two stores hold the same keys and values
/// under a prefix.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Compare the keys and values under a prefix in two stores.",
        discussion: """
            Walks both stores in key order and prints one line per key on which they \
            disagree: '+ KEY' only in the source, '- KEY' only in the destination, '* KEY' in \
            both with values of different sizes (with --checksum, also of different bytes). \
            ETags are never compared, since each store makes its own. With --checksum, \
            --checkers pairs of values are read and compared at once. Exits with 0 when the \
            stores agree and with 3 when they do not.

            A one-line summary goes to standard error; --json prints, instead of the lines, \
            one object on standard output: {"command", "source", "destination", "prefix", \
            "identical", "sourceKeys", "destinationKeys", "matching", "bytes", "onlyInSource", \
            "onlyInDestination", "differing", "seconds"}, the last three arrays of keys.
            """)

    @OptionGroup var stores: StorePairOptions
    @OptionGroup var checking: CheckerOptions

    @Flag(help: "Also compare the bytes of values of equal size (reads both values).")
    var checksum = false

    func run() async throws {
        let clock = Stopwatch()
        let comparison = try await stores.withStores { source, destination in
            try await source.compare(with: destination, withPrefix: stores.prefix, byContent: checksum,
                                     concurrency: checking.checkers)
        }
        let seconds = clock.seconds
        var output = StandardOutput()
        if stores.json {
            var object = try stores.jsonHeader(command: "check")
            object.add("identical", json: comparison.isIdentical ? "true" : "false")
            object.add("sourceKeys", Int64(comparison.sourceCount))
            object.add("destinationKeys", Int64(comparison.destinationCount))
            object.add("matching", Int64(comparison.matchingCount))
            object.add("bytes", comparison.sourceBytes)
            object.add("onlyInSource", json: SyncCommand.jsonArray(comparison.onlyInSource))
            object.add("onlyInDestination", json: SyncCommand.jsonArray(comparison.onlyInDestination))
            object.add("differing", json: SyncCommand.jsonArray(comparison.differing))
            object.add("seconds", seconds)
            try output.line(object.rendered)
        } else {
            for difference in comparison.differences {
                let mark = difference.kind == .onlyInSource ? "+" : difference.kind == .onlyInDestination ? "-" : "*"
                try output.line("\(mark) \(difference.key.rawValue)")
            }
        }
        try output.flush()
        let counts = "\(Show.keys(comparison.sourceCount)) (\(Show.bytes(comparison.sourceBytes))) in the source, "
            + "\(comparison.destinationCount) in the destination"
        let summary: String
        if comparison.isIdentical {
            summary = "identical: \(counts); \(Show.seconds(seconds))"
        } else {
            summary = "\(comparison.differences.count) differ: \(comparison.onlyInSource.count) only in the source, "
                + "\(comparison.onlyInDestination.count) only in the destination, \(comparison.differing.count) changed; "
                + "\(counts); \(Show.seconds(seconds))"
        }
        guard comparison.isIdentical else { throw CommandFailure(.conditionFailed, summary) }
        Terminal.note(summary)
    }
}
