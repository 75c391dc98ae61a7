import ArgumentParser
import Foundation
import Trove

/// `trove copy SOURCE DESTINATION`: copies every key under a prefix from one store to another.
struct CopyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy every key under a prefix from one store to another.",
        discussion: """
            Each value streams from the source to the destination under the same key, keeping \
            its expiry; --transfers keys are copied at once. On a terminal a line on standard \
            error shows the keys and bytes copied so far. Keys the destination holds are \
            overwritten, unless --no-replace skips them: a copy run again with --no-replace \
            resumes where an interrupted one stopped. Keys only the destination holds are left \
            alone (see 'trove sync').

            --dry-run writes nothing and prints the keys that would be copied, one per line. \
            A one-line summary (keys, bytes, time) goes to standard error; --json also prints \
            it on standard output as {"command", "source", "destination", "prefix", "dryRun", \
            "copied", "skipped", "bytes", "seconds"}.
            """)

    @OptionGroup var stores: StorePairOptions
    @OptionGroup var transfer: TransferOptions

    @Flag(name: .customLong("no-replace"), help: "Skip keys the destination already holds.")
    var noReplace = false

    @Flag(name: .customLong("dry-run"), help: "Write nothing; print the keys that would be copied.")
    var dryRun = false

    func run() async throws {
        let clock = Stopwatch()
        var output = StandardOutput()
        var progress = ProgressLine()
        defer { progress.clear() }   // before an error line, too
        let report = try await stores.withStores { source, destination in
            if dryRun {
                return try await plan(from: source, to: destination, output: &output)
            }
            return try await source.copy(to: destination, withPrefix: stores.prefix, replacing: !noReplace,
                                         concurrency: transfer.transfers) { soFar in
                progress.show("copied \(Show.keys(soFar.copied)), \(Show.bytes(soFar.bytes)); skipped \(soFar.skipped)…")
            }
        }
        progress.clear()
        let seconds = clock.seconds
        let verb = dryRun ? "would copy" : "copied"
        if stores.json {
            var object = try stores.jsonHeader(command: "copy")
            object.add("dryRun", json: dryRun ? "true" : "false")
            object.add("copied", Int64(report.copied))
            object.add("skipped", Int64(report.skipped))
            object.add("bytes", report.bytes)
            object.add("seconds", seconds)
            try output.line(object.rendered)
        }
        try output.flush()
        Terminal.note("\(verb) \(Show.keys(report.copied)), \(Show.bytes(report.bytes)); skipped \(report.skipped); \(Show.seconds(seconds))")
    }

    /// What a copy would do, without writing: every key of the source, or with --no-replace
    /// the keys the destination lacks. Prints each key unless the output is JSON.
    private func plan(
        from source: any KeyValueStore, to destination: any KeyValueStore, output: inout StandardOutput
    ) async throws -> CopyReport {
        var report = CopyReport()
        if noReplace {
            let comparison = try await source.compare(with: destination, withPrefix: stores.prefix)
            for difference in comparison.differences {
                guard difference.kind != .onlyInDestination, let size = difference.sourceSize else { continue }
                if difference.kind == .onlyInSource {
                    report.copied += 1
                    report.bytes += size
                    if !stores.json { try output.line(difference.key.rawValue) }
                } else {
                    report.skipped += 1
                }
            }
            report.skipped += comparison.matchingCount
        } else {
            for try await element in source.list(try ListQuery(prefix: stores.prefix, includesMetadata: true)) {
                guard let metadata = element.metadata else { continue }
                report.copied += 1
                report.bytes += metadata.size
                if !stores.json { try output.line(metadata.key.rawValue) }
            }
        }
        return report
    }
}
