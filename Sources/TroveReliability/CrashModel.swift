import Foundation
import Trove

/// What a key holds, as the model or the store says.
enum KeyState: Equatable, CustomStringConvertible {
    case absent
    case present(serial: Int, size: Int64, etag: String)

    var description: String {
        switch self {
        case .absent: "nothing"
        case .present(let serial, let size, let etag): "write \(serial) (\(size) bytes, ETag \(etag))"
        }
    }
}

/// An operation the writer began, from its `begin` line.
struct BegunOperation {
    let serial: Int
    let operation: CrashOperation
    let keyIndex: Int
    let size: Int64
    /// `always`, `absent` or `etag:<etag>`.
    let condition: String

    var key: StoreKey { CrashKeys.all[keyIndex] }
    var line: String { "begin \(serial) \(operation.rawValue) \(key.rawValue) \(size) \(condition)" }

    /// What the key holds if the operation took effect.
    func after(etag: String?) -> KeyState? {
        switch operation {
        case .delete, .deleteIfMatches: .absent
        case .streamWrongSize: nil
        default: .present(serial: serial, size: size, etag: etag ?? "?")
        }
    }

    /// The outcome the operation must have on a key that holds `state`.
    func expectedOutcome(on state: KeyState) -> String {
        if operation == .streamWrongSize { return "invalid" }
        let holds: Bool
        switch (condition, state) {
        case ("always", _): holds = true
        case ("absent", .absent): holds = true
        case ("absent", .present): holds = false
        case (_, .present(_, _, let etag)): holds = condition == "etag:" + etag
        case (_, .absent): holds = false
        }
        guard holds else { return "refused" }
        if operation.isWrite { return "stored" }
        if case .absent = state { return "deleted false" }
        return "deleted true"
    }
}

/// The writer's account of one run: what every acknowledged operation did to the model, and
/// the one operation it began and did not finish.
struct WriterRun {
    var inFlight: BegunOperation?
    var acknowledged = 0
    var opened = false
    var problems: [String] = []
    var lastLines: [String] = []

    /// Reads the writer's output and applies every acknowledged operation to `model`, checking
    /// that each outcome is the one the model predicts (a refused condition on a value that
    /// matched, say, is a violation).
    static func replay(_ output: String, onto model: inout [KeyState]) -> WriterRun {
        var run = WriterRun()
        // A line cut by the kill has no line break: it never counted.
        var lines = output.split(separator: "\n", omittingEmptySubsequences: false)
        if let last = lines.last, !output.hasSuffix("\n") || last.isEmpty { lines.removeLast() }
        run.lastLines = lines.suffix(6).map(String.init)
        for line in lines {
            let fields = line.split(separator: " ", omittingEmptySubsequences: false)
            switch fields.first {
            case "ready":
                run.opened = true
            case "begin":
                guard fields.count == 6, let serial = Int(fields[1]), let operation = CrashOperation(rawValue: String(fields[2])),
                      let keyIndex = CrashKeys.index(of: fields[3]), let size = Int64(fields[4]) else {
                    run.problems.append("unreadable line from the writer: \(line)")
                    continue
                }
                if let pending = run.inFlight { run.problems.append("\(pending.line) was never acknowledged before the next begin") }
                run.inFlight = BegunOperation(serial: serial, operation: operation, keyIndex: keyIndex, size: size,
                                              condition: String(fields[5]))
            case "ack":
                guard fields.count >= 3, let serial = Int(fields[1]), let begun = run.inFlight, begun.serial == serial else {
                    run.problems.append("an acknowledgement of an operation never begun: \(line)")
                    continue
                }
                run.inFlight = nil
                run.acknowledged += 1
                let before = model[begun.keyIndex]
                let expected = begun.expectedOutcome(on: before)
                let outcome = fields[2] == "deleted" ? "deleted " + String(fields.count > 3 ? fields[3] : "") : String(fields[2])
                guard outcome == expected else {
                    run.problems.append("""
                        \(begun.line) on a key holding \(before) must end '\(expected)', the store said '\(outcome)' \
                        (a condition decided wrongly)
                        """)
                    continue
                }
                switch outcome {
                case "stored":
                    guard fields.count == 5, let size = Int64(fields[3]), size == begun.size else {
                        run.problems.append("\(begun.line) stored a value of another size: \(line)")
                        continue
                    }
                    model[begun.keyIndex] = .present(serial: serial, size: size, etag: String(fields[4]))
                case "deleted true", "deleted false":
                    model[begun.keyIndex] = .absent
                default:
                    break
                }
            case "fail":
                run.problems.append("the writer's operation failed with an unexpected error: \(line)")
                run.inFlight = nil
            default:
                run.problems.append("unreadable line from the writer: \(line)")
            }
        }
        return run
    }
}
