import Foundation
import Synchronization
import Trove

/// How many keys and bytes a copy has to move in all, counted by a listing of the source that
/// runs beside the copy (as rclone's checkers do): the totals grow while it walks, and are
/// final once it has reached the end.
final class SourceTotals: Sendable {
    /// The keys and bytes counted so far, and whether the listing has reached its end.
    struct Counts: Sendable {
        var keys = 0
        var bytes: Int64 = 0
        var isComplete = false
    }

    private let state = Mutex(Counts())

    /// The counts so far.
    var current: Counts { state.withLock { $0 } }

    /// Walks the keys under `prefix` in `source`, adding up their sizes. A failed listing leaves
    /// the totals incomplete: the copy, which lists the same keys, reports the error itself.
    func count(in source: any KeyValueStore, prefix: String) async {
        do {
            let query = try ListQuery(prefix: prefix, includesMetadata: true)
            for try await element in source.list(query, pageSize: 1000) {
                guard let metadata = element.metadata else { continue }
                state.withLock {
                    $0.keys += 1
                    $0.bytes += metadata.size
                }
            }
            state.withLock { $0.isComplete = true }
        } catch {
            return   // see above
        }
    }
}

/// Shows how far a copy or a synchronization has got: for a person, one line on standard error
/// rewritten in place when it is a terminal; for a script (`--json-progress`), one JSON object
/// per line on standard output. Both at most five times a second, and once more at the end.
struct CopyProgress {
    /// What has been done so far.
    struct Done {
        var copied = 0
        var skipped = 0
        /// The keys deleted, for a synchronization; `nil` for a copy.
        var deleted: Int?
        var bytes: Int64 = 0

        init(copied: Int = 0, skipped: Int = 0, deleted: Int? = nil, bytes: Int64 = 0) {
            (self.copied, self.skipped, self.deleted, self.bytes) = (copied, skipped, deleted, bytes)
        }

        init(_ report: CopyReport) {
            self.init(copied: report.copied, skipped: report.skipped, bytes: report.bytes)
        }
    }

    /// Where progress goes.
    enum Form {
        /// Nowhere: standard error is not a terminal, and no JSON was asked for.
        case hidden
        /// A line on standard error, which is a terminal.
        case terminalLine
        /// JSON lines on standard output.
        case jsonLines
    }

    let form: Form
    /// The counting listing's totals, when progress is shown at all.
    let totals: SourceTotals?
    private let stopwatch = Stopwatch()
    private var line = ProgressLine()
    private var lastEvent = ContinuousClock.now

    /// Progress in `form`; with `countingTotals`, totals are counted when it is shown.
    init(_ form: Form, countingTotals: Bool = true) {
        self.form = form
        totals = form == .hidden || !countingTotals ? nil : SourceTotals()
    }

    /// The form that the options and standard error call for.
    static func form(jsonProgress: Bool) -> Form {
        jsonProgress ? .jsonLines : (ProgressLine.isTerminal ? .terminalLine : .hidden)
    }

    /// Shows `report`, unless progress was shown less than 200 ms ago and `final` is false.
    mutating func show(_ report: Done, final: Bool = false, output: inout StandardOutput) throws {
        switch form {
        case .hidden:
            return
        case .terminalLine:
            if final {
                line.clear()
            } else {
                let text = text(report)
                line.show(text)
            }
        case .jsonLines:
            guard final || ContinuousClock.now - lastEvent >= .milliseconds(200) else { return }
            lastEvent = .now
            try output.line(event(report, final: final).rendered)
            try output.flush()
        }
    }

    /// Clears the terminal line, so that a summary or an error replaces it.
    mutating func clear() { line.clear() }

    /// What the totals let be said of the time left, at the average rate so far: by bytes, or
    /// by keys when some were skipped (their bytes are not counted as done).
    private func estimate(_ report: Done) -> (counts: SourceTotals.Counts, bytesPerSecond: Double, secondsLeft: Double?) {
        let counts = totals?.current ?? SourceTotals.Counts()
        let seconds = max(stopwatch.seconds, 0.001)
        let bytesPerSecond = Double(report.bytes) / seconds
        guard counts.isComplete else { return (counts, bytesPerSecond, nil) }
        let doneKeys = report.copied + report.skipped
        let left: Double?
        if report.skipped == 0, counts.bytes > 0, report.bytes > 0 {
            left = Double(max(0, counts.bytes - report.bytes)) / bytesPerSecond
        } else if doneKeys > 0 {
            left = Double(max(0, counts.keys - doneKeys)) * seconds / Double(doneKeys)
        } else {
            left = nil
        }
        return (counts, bytesPerSecond, left)
    }

    /// `copied 120 of 1000 keys, 1.2 MiB of 9.8 MiB (12%), 3.1 MiB/s, 3 s left`, with `of`
    /// parts only once the totals are complete; `deleted N` after the bytes of a synchronization.
    private func text(_ report: Done) -> String {
        let (counts, rate, left) = estimate(report)
        var text = "copied \(report.copied)"
        if counts.isComplete {
            text += " of \(Show.keys(counts.keys)), \(Show.bytes(report.bytes)) of \(Show.bytes(counts.bytes))"
            if counts.bytes > 0, report.skipped == 0 {
                text += " (\(min(100, Int(Double(report.bytes) * 100 / Double(counts.bytes))))%)"
            }
        } else {
            text += report.copied == 1 ? " key" : " keys"
            text += ", \(Show.bytes(report.bytes))"
            if counts.keys > 0 { text += " (\(Show.keys(counts.keys)) found so far)" }
        }
        if report.skipped > 0 { text += ", skipped \(report.skipped)" }
        if let deleted = report.deleted { text += ", deleted \(deleted)" }
        text += ", \(Show.bytes(Int64(rate)))/s"
        if let left { text += ", \(Show.duration(left)) left" }
        return text
    }

    /// `{"event": "progress", "copied", "skipped", "bytes", "totalKeys", "totalBytes",
    /// "totalsComplete", "bytesPerSecond", "secondsLeft", "seconds", "final"}`; for a
    /// synchronization `{"event": "progress", "copied", "deleted", "bytes", "bytesPerSecond",
    /// "seconds", "final"}`.
    private func event(_ report: Done, final: Bool) -> JSONObject {
        let (counts, rate, left) = estimate(report)
        var object = JSONObject()
        object.add("event", "progress")
        object.add("copied", Int64(report.copied))
        if let deleted = report.deleted {
            object.add("deleted", Int64(deleted))
            object.add("bytes", report.bytes)
            object.add("bytesPerSecond", Int64(rate))
        } else {
            object.add("skipped", Int64(report.skipped))
            object.add("bytes", report.bytes)
            object.add("totalKeys", Int64(counts.keys))
            object.add("totalBytes", counts.bytes)
            object.add("totalsComplete", json: counts.isComplete ? "true" : "false")
            object.add("bytesPerSecond", Int64(rate))
            if let left { object.add("secondsLeft", left) } else { object.add("secondsLeft", json: "null") }
        }
        object.add("seconds", stopwatch.seconds)
        object.add("final", json: final ? "true" : "false")
        return object
    }
}

extension Show {
    /// A time left for people: `4 s`, `2 min 5 s`, `1 h 3 min`.
    static func duration(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded(.up))
        if whole < 60 { return "\(whole) s" }
        if whole < 3600 { return "\(whole / 60) min \(whole % 60) s" }
        return "\(whole / 3600) h \(whole % 3600 / 60) min"
    }
}
