import ArgumentParser
import Foundation
import Trove

/// A JSON object whose members keep the order they were added in, for output that reads the
/// same every time.
struct JSONObject {
    private var members: [(String, String)] = []

    /// Adds a string member; `nil` becomes `null`.
    mutating func add(_ name: String, _ value: String?) {
        members.append((name, value.map(JSONObject.quoted) ?? "null"))
    }

    /// Adds an integer member.
    mutating func add(_ name: String, _ value: Int64) {
        members.append((name, String(value)))
    }

    /// Adds a number member, with up to six decimals.
    mutating func add(_ name: String, _ value: Double) {
        members.append((name, value.isFinite ? String(format: "%.6f", value) : "null"))
    }

    /// Adds a member whose value is already JSON (an object or an array).
    mutating func add(_ name: String, json: String) {
        members.append((name, json))
    }

    /// The object on one line.
    var rendered: String {
        "{" + members.map { JSONObject.quoted($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    }

    /// `strings` as a JSON array of string literals.
    static func array(_ strings: [String]) -> String {
        "[" + strings.map(quoted).joined(separator: ",") + "]"
    }

    /// `text` as a JSON string literal.
    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F || (0x80...0x9F).contains(scalar.value) {
                    let hex = String(scalar.value, radix: 16)
                    result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}

/// How dates and entries are shown.
enum Show {
    /// `2025-01-31T12:34:56Z`: to the second, UTC, for tables.
    static func date(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle())
    }

    /// `2025-01-31T12:34:56.789Z`: to the millisecond, UTC, for JSON.
    static func preciseDate(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// `2025-01-31 13:34:56`: to the second, in the local time zone (`TZ`), for tables.
    static func localDate(_ date: Date) -> String {
        localDate(date, fractionalSeconds: false)
    }

    /// `2025-01-31 13:34:56.789 +01:00`: to the millisecond, in the local time zone, with its
    /// offset from UTC, for one entry's description.
    static func preciseLocalDate(_ date: Date) -> String {
        let zone = TimeZone.current
        let offset = zone.secondsFromGMT(for: date)
        let sign = offset < 0 ? "-" : "+"
        let minutes = abs(offset) / 60
        return localDate(date, fractionalSeconds: true) + " " + sign
            + String(format: "%02d:%02d", minutes / 60, minutes % 60)
    }

    private static func localDate(_ date: Date, fractionalSeconds: Bool) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone.current
        // Whole milliseconds, rounded down, so the seconds shown never run ahead of the date.
        let milliseconds = Int((date.timeIntervalSince1970 * 1000).rounded(.down))
        let whole = Date(timeIntervalSince1970: Double(milliseconds.floorDivided(by: 1000)))
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: whole)
        var text = String(format: "%04d-%02d-%02d %02d:%02d:%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0,
                          parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0)
        if fractionalSeconds { text += String(format: ".%03d", milliseconds - milliseconds.floorDivided(by: 1000) * 1000) }
        return text
    }

    /// A size for a table column: `0 B`, `512 B`, `3.2 KiB`, `4.0 MiB`.
    static func size(_ count: Int64) -> String {
        count < 1024 ? "\(count) B" : bytes(count)
    }

    /// An entry's metadata as a JSON object: key, size, etag, modified, created, expires
    /// (dates in ISO 8601, UTC, to the millisecond; `null` when the store does not keep one:
    /// `keepsModification` false for a store without ``StoreCapabilities/modificationDate``,
    /// whose date is only the moment it answered).
    static func json(_ metadata: EntryMetadata, keepsModification: Bool = true) -> JSONObject {
        var object = JSONObject()
        object.add("key", metadata.key.rawValue)
        object.add("size", metadata.size)
        object.add("etag", metadata.etag.rawValue)
        object.add("modified", keepsModification ? preciseDate(metadata.modificationDate) : nil)
        object.add("created", metadata.creationDate.map(preciseDate))
        object.add("expires", metadata.expirationDate.map(preciseDate))
        return object
    }

    /// `text` padded with spaces on the left to `width` characters.
    static func rightAligned(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }

    /// `text` padded with spaces on the right to `width` characters.
    static func leftAligned(_ text: String, _ width: Int) -> String {
        text + String(repeating: " ", count: max(0, width - text.count))
    }
}

extension Int {
    /// The quotient rounded towards minus infinity: `-1.floorDivided(by: 1000)` is `-1`.
    fileprivate func floorDivided(by divisor: Int) -> Int {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}

/// How `list --long`, `stat` and `info` show sizes and dates: for people by default, exact on
/// request.
struct DisplayOptions: ParsableArguments {
    @Flag(help: "Show sizes as exact byte counts instead of KiB, MiB and GiB.")
    var bytes = false

    @Flag(help: "Show dates in ISO 8601, UTC (2025-01-31T12:34:56Z), instead of the local time zone.")
    var iso = false

    /// A size as this display shows it in a table column.
    func size(_ count: Int64) -> String {
        bytes ? String(count) : Show.size(count)
    }

    /// A date as this display shows it in a table column, to the second.
    func date(_ date: Date) -> String {
        iso ? Show.date(date) : Show.localDate(date)
    }

    /// A date as this display shows it for one entry, to the millisecond.
    func preciseDate(_ date: Date) -> String {
        iso ? Show.preciseDate(date) : Show.preciseLocalDate(date)
    }
}
