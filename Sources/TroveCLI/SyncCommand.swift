import ArgumentParser
import Foundation
import Trove

/// `trove sync SOURCE DESTINATION`: makes the destination's keys under a prefix the same as
/// the source's.
struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Make the keys under a prefix in one store the same as in another.",
        discussion: """
            Walks both stores in key order, copies each key the destination lacks or holds \
            with a value of another size or older than the source's (with --checksum: of \
            another size or other bytes, whatever the times), then deletes the keys only the \
            destination holds, but only if every copy succeeded. ETags are never compared, \
            since each store makes its own. --transfers values are copied at once and, with \
            --checksum, --checkers pairs of values compared beside them. Between two S3 stores \
            on one endpoint each value is copied on the server (CopyObject). An entry that \
            expires stops the sync (exit 2) when the destination cannot keep an expiry, unless \
            --drop-expiry.

            --max-delete N refuses (exit 3) to delete more than N keys: nothing is deleted, \
            the copies already made are kept. --dry-run writes nothing and prints the plan, \
            one 'copy KEY' or 'delete KEY' line per key (the --max-delete limit and the \
            refusal of an expiring entry apply to it too). A one-line summary goes to standard error; --json also prints it on standard \
            output as {"command", "source", "destination", "prefix", "dryRun", "copied", \
            "deleted", "unchanged", "bytes", "expiriesDropped", "serverSide", "seconds"}, with "copies" and "deletions" (arrays \
            of keys) in a dry run. On a terminal a line on standard error shows the keys \
            copied and deleted so far, and the rate. --json-progress prints instead, at most \
            five times a second and once at the end, one line {"event": "progress", "copied", \
            "deleted", "bytes", "bytesPerSecond", "seconds", "final"} on standard output, \
            before the --json summary.
            """)

    @OptionGroup var stores: StorePairOptions
    @OptionGroup var transfer: TransferOptions
    @OptionGroup var checking: CheckerOptions
    @OptionGroup var expiry: ExpiryOptions

    @Flag(help: "Compare the bytes of values of equal size (reads both values) instead of their times.")
    var checksum = false

    @Option(name: .customLong("max-delete"),
            help: ArgumentHelp("Delete at most this many keys; more fails with exit 3 and deletes nothing.",
                               valueName: "n"))
    var maxDelete: Int?

    @Flag(name: .customLong("dry-run"), help: "Write and delete nothing; print the plan.")
    var dryRun = false

    @Flag(name: .customLong("json-progress"),
          help: "Print progress as JSON lines on standard output, at most five a second and one at the end.")
    var jsonProgress = false

    func validate() throws {
        if jsonProgress && dryRun {
            throw ValidationError("--json-progress reports a synchronization, and --dry-run changes nothing")
        }
        if let maxDelete, maxDelete < 0 {
            throw ValidationError("--max-delete must not be negative, not \(maxDelete)")
        }
    }

    func run() async throws {
        let clock = Stopwatch()
        var planned: (copies: [StoreKey], deletions: [StoreKey]) = ([], [])
        var output = StandardOutput()
        var outputFailure: (any Error)?
        var progress = CopyProgress(dryRun ? .hidden : CopyProgress.form(jsonProgress: jsonProgress), countingTotals: false)
        defer { progress.clear() }   // before an error line, too
        var done = CopyProgress.Done(deleted: 0)
        var serverSide = false
        let report = try await stores.withStores { source, destination in
            serverSide = source.canCopyOnServer(to: destination)
            let report = try await expiry.explainingRefusals { try await source.synchronize(
                to: destination, withPrefix: stores.prefix, byContent: checksum, maximumDeletes: maxDelete,
                dryRun: dryRun, concurrency: transfer.transfers, comparisonConcurrency: checking.checkers,
                expiries: expiry.expiries
            ) { step in
                guard step.isPlanned else {
                    if step.action == .copy {
                        done.copied += 1
                        done.bytes += step.bytes
                    } else {
                        done.deleted? += 1
                    }
                    guard outputFailure == nil else { return }
                    do { try progress.show(done, output: &output) } catch { outputFailure = error }
                    return
                }
                if stores.json {
                    if step.action == .copy { planned.copies.append(step.key) } else { planned.deletions.append(step.key) }
                } else if outputFailure == nil {
                    do {
                        try output.line("\(step.action) \(step.key.rawValue)")
                    } catch {
                        outputFailure = error
                    }
                }
            } }
            if outputFailure == nil {
                try progress.show(.init(copied: report.copied, deleted: report.deleted, bytes: report.bytes),
                                  final: true, output: &output)
            }
            return report
        }
        progress.clear()
        if let outputFailure { throw outputFailure }
        let seconds = clock.seconds
        let summary = dryRun
            ? "would copy \(Show.keys(report.copied)), \(Show.bytes(report.bytes)); would delete \(report.deleted)"
            : "copied \(Show.keys(report.copied)), \(Show.bytes(report.bytes))\(serverSide ? " on the server" : ""); deleted \(report.deleted)"
        if stores.json {
            var object = try stores.jsonHeader(command: "sync")
            object.add("dryRun", json: dryRun ? "true" : "false")
            object.add("copied", Int64(report.copied))
            object.add("deleted", Int64(report.deleted))
            object.add("unchanged", Int64(report.unchanged))
            object.add("bytes", report.bytes)
            object.add("expiriesDropped", Int64(report.expiriesDropped))
            object.add("serverSide", json: serverSide ? "true" : "false")
            object.add("seconds", seconds)
            if dryRun {
                object.add("copies", json: Self.jsonArray(planned.copies))
                object.add("deletions", json: Self.jsonArray(planned.deletions))
            }
            try output.line(object.rendered)
        }
        try output.flush()
        Terminal.note("\(summary); unchanged \(report.unchanged)" + ExpiryOptions.note(report.expiriesDropped)
                      + "; \(Show.seconds(seconds))")
    }

    /// Keys as a JSON array of strings.
    static func jsonArray(_ keys: [StoreKey]) -> String {
        "[" + keys.map { JSONObject.quoted($0.rawValue) }.joined(separator: ",") + "]"
    }
}
