import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A line on standard error that shows how far a copy has got, rewritten in place at most five
/// times a second, when standard error is a terminal; nothing otherwise (scripts and pipes see
/// only the final summary).
struct ProgressLine {
    /// Whether standard error is a terminal.
    static var isTerminal: Bool { isatty(STDERR_FILENO) == 1 }

    private let isShown = Self.isTerminal
    private var lastShown = ContinuousClock.now
    private var isDirty = false

    /// Shows `text` unless the line was rewritten less than 200 ms ago.
    mutating func show(_ text: @autoclosure () -> String) {
        guard isShown, ContinuousClock.now - lastShown >= .milliseconds(200) else { return }
        lastShown = .now
        isDirty = true
        try? FileHandle.standardError.write(contentsOf: Data("\r\u{1B}[Ktrove: \(Terminal.oneLine(text()))".utf8))   // a courtesy only
    }

    /// Clears the line, so that the summary replaces it.
    mutating func clear() {
        guard isDirty else { return }
        isDirty = false
        try? FileHandle.standardError.write(contentsOf: Data("\r\u{1B}[K".utf8))   // a courtesy only
    }
}
