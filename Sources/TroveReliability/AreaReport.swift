import Foundation

/// What an area of the reliability suite writes for `scripts/lib/reliability_report.py`: the
/// schema in that script's docstring.
struct AreaReport: Encodable {
    struct Row: Encodable {
        var `case`: String
        var ran: Int
        var unit: String
        var seed: UInt64?
        var found: Int
        var ok: Bool
        var details: String
    }

    var area: String
    var title: String
    var summary: String
    var mode: String
    var command: String
    var started: String
    var seconds: Double
    var rows: [Row]
    var notes: [String]
    var ok: Bool

    /// Writes the report as JSON to `file`.
    func write(to file: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(self).write(to: file, options: .atomic)
    }

    /// `date` as the report writes times: ISO 8601, UTC, to the second.
    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }
}

/// The mode of a run: the short one CI runs, or the long one for release checks.
enum RunMode: String {
    case short
    case long
}

/// The seed of a run: `TROVE_RELIABILITY_SEED` when set (to repeat a run), else a fresh one.
func runSeed() throws -> UInt64 {
    if let text = ProcessInfo.processInfo.environment["TROVE_RELIABILITY_SEED"] {
        guard let seed = UInt64(text) else {
            throw ChildProcess.Failure(description: "TROVE_RELIABILITY_SEED must be a whole number from 0 to 2^64-1, not '\(text)'")
        }
        return seed
    }
    var generator = SystemRandomNumberGenerator()
    // Kept below 2^53 so that the JSON number reads back exactly in any language.
    return generator.next() & ((1 << 53) - 1)
}
