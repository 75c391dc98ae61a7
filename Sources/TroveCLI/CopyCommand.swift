import ArgumentParser
import Foundation
import Trove

/// `trove copy SOURCE DESTINATION`: copies every key under a prefix from one store to another.
struct CopyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy every key under a prefix from one store to another.",
        discussion: """
            Each value goes from the source to the destination under the same key, keeping its \
            expiry: values up to 64 KiB in batches, larger ones streamed; --transfers values \
            or batches are copied at once. On a terminal a line on standard error shows the \
            keys and bytes copied so far, of the totals once a listing of the source beside the \
            copy has counted them, the rate and the time left. Keys the \
            destination holds are overwritten, unless --no-replace skips them: a copy run again \
            with --no-replace (or --resume, the same) resumes where an interrupted one stopped, \
            reading and writing only the keys the destination's listing lacks. Keys only the \
            destination holds are left alone (see 'trove sync'). Between two S3 stores on one \
            endpoint each value is copied on the server (CopyObject), its bytes never passing \
            through trove. An entry that expires stops \
            the copy (exit 2) when the destination cannot keep an expiry, unless --drop-expiry.

            --dry-run writes nothing and prints the keys that would be copied, one per line. \
            A one-line summary (keys, bytes, time) goes to standard error; --json also prints \
            it on standard output as {"command", "source", "destination", "prefix", "dryRun", \
            "copied", "skipped", "bytes", "expiriesDropped", "serverSide", "seconds"}.

            --json-progress prints, at most five times a second and once at the end, one line \
            {"event": "progress", "copied", "skipped", "bytes", "totalKeys", "totalBytes", \
            "totalsComplete", "bytesPerSecond", "secondsLeft", "seconds", "final"} on standard \
            output, before the --json summary; the totals count what a listing of the source \
            has found so far, and are final once "totalsComplete" is true.
            """)

    @OptionGroup var stores: StorePairOptions
    @OptionGroup var transfer: TransferOptions
    @OptionGroup var expiry: ExpiryOptions

    @Flag(name: [.customLong("no-replace"), .customLong("resume")],
          help: "Skip keys the destination already holds (--resume is another name for it).")
    var noReplace = false

    @Flag(name: .customLong("dry-run"), help: "Write nothing; print the keys that would be copied.")
    var dryRun = false

    @Flag(name: .customLong("json-progress"),
          help: "Print progress as JSON lines on standard output, at most five a second and one at the end.")
    var jsonProgress = false

    /// rclone's `--checkers`, refused with the reason: a copy compares no values.
    @Option(help: .hidden)
    var checkers: Int?

    func validate() throws {
        if checkers != nil {
            throw ValidationError("copy compares no values (it overwrites every key, or with --no-replace skips the keys "
                                  + "the destination lists), so it has no --checkers; see 'trove sync --checksum --checkers N'")
        }
        if jsonProgress && dryRun {
            throw ValidationError("--json-progress reports a copy, and --dry-run copies nothing")
        }
    }

    func run() async throws {
        let clock = Stopwatch()
        var output = StandardOutput()
        var progress = CopyProgress(dryRun ? .hidden : CopyProgress.form(jsonProgress: jsonProgress))
        var progressFailure: (any Error)?
        defer { progress.clear() }   // before an error line, too
        var serverSide = false
        let report = try await stores.withStores { source, destination in
            if dryRun {
                return try await plan(from: source, to: destination, output: &output)
            }
            let counting = progress.totals.map { totals in
                Task { [prefix = stores.prefix] in await totals.count(in: source, prefix: prefix) }
            }
            defer { counting?.cancel() }
            let onProgress = { (soFar: CopyReport) in
                guard progressFailure == nil else { return }
                do { try progress.show(.init(soFar), output: &output) } catch { progressFailure = error }
            }
            serverSide = source.canCopyOnServer(to: destination)
            let report = try await expiry.explainingRefusals {
                try await source.copy(to: destination, withPrefix: stores.prefix, replacing: !noReplace,
                                      concurrency: transfer.transfers, expiries: expiry.expiries, onProgress: onProgress)
            }
            await counting?.value
            if progressFailure == nil { try progress.show(.init(report), final: true, output: &output) }
            return report
        }
        progress.clear()
        if let progressFailure { throw progressFailure }
        let seconds = clock.seconds
        let verb = dryRun ? "would copy" : "copied"
        if stores.json {
            var object = try stores.jsonHeader(command: "copy")
            object.add("dryRun", json: dryRun ? "true" : "false")
            object.add("copied", Int64(report.copied))
            object.add("skipped", Int64(report.skipped))
            object.add("bytes", report.bytes)
            object.add("expiriesDropped", Int64(report.expiriesDropped))
            object.add("serverSide", json: serverSide ? "true" : "false")
            object.add("seconds", seconds)
            try output.line(object.rendered)
        }
        try output.flush()
        Terminal.note("\(verb) \(Show.keys(report.copied)), \(Show.bytes(report.bytes))\(serverSide ? " on the server" : ""); "
                      + "skipped \(report.skipped)" + ExpiryOptions.note(report.expiriesDropped) + "; \(Show.seconds(seconds))")
    }

    /// What a copy would do, without writing: every key of the source, or with --no-replace
    /// the keys the destination lacks. Prints each key unless the output is JSON. Refuses an
    /// entry that expires as the copy would.
    private func plan(
        from source: any KeyValueStore, to destination: any KeyValueStore, output: inout StandardOutput
    ) async throws -> CopyReport {
        try await expiry.explainingRefusals {
            try await source.planCopy(to: destination, withPrefix: stores.prefix, replacing: !noReplace,
                                      expiries: expiry.expiries) { entry in
                if !stores.json { try output.line(entry.key.rawValue) }
            }
        }
    }
}
