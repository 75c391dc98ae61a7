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

    /// An entry's metadata as a JSON object: key, size, etag, modified, created, expires
    /// (dates in ISO 8601, UTC, to the millisecond; `null` when the store does not keep one).
    static func json(_ metadata: EntryMetadata) -> JSONObject {
        var object = JSONObject()
        object.add("key", metadata.key.rawValue)
        object.add("size", metadata.size)
        object.add("etag", metadata.etag.rawValue)
        object.add("modified", preciseDate(metadata.modificationDate))
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
