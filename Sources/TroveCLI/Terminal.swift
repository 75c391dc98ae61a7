import Foundation

/// Standard output and standard error, and the way out of the program.
enum Terminal {
    /// Writes `trove: <message>` on standard error, on one line, and exits with `status`.
    static func fail(_ status: ExitStatus, _ message: String) -> Never {
        let line = "trove: " + oneLine(message) + "\n"
        try? FileHandle.standardError.write(contentsOf: Data(line.utf8))   // nowhere left to report a failure
        exit(status)
    }

    /// Writes help text on standard output and exits successfully.
    static func printHelp(_ text: String) -> Never {
        do {
            try FileHandle.standardOutput.write(contentsOf: Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
        } catch {
            fail(.storageFailure, "could not write to standard output: \(error.localizedDescription)")
        }
        exit(.success)
    }

    /// Writes a note for a person at a terminal on standard error.
    static func note(_ message: String) {
        try? FileHandle.standardError.write(contentsOf: Data("trove: \(message)\n".utf8))   // a courtesy only
    }

    /// Ends the process with `status`.
    static func exit(_ status: ExitStatus) -> Never {
        Foundation.exit(status.rawValue)
    }

    /// `text` with line breaks and other control characters replaced by spaces.
    static func oneLine(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : $0 }))
    }
}

/// Buffered writes to standard output: lines for people, bytes for scripts.
///
/// A failed write (a closed pipe, a full disk) ends the command with exit status 4.
struct StandardOutput {
    private var buffer = Data()
    private let flushThreshold = 64 * 1024

    /// Appends `line` and a line break, writing out when enough has accumulated.
    mutating func line(_ line: String) throws {
        buffer.append(contentsOf: line.utf8)
        buffer.append(UInt8(ascii: "\n"))
        if buffer.count >= flushThreshold { try flush() }
    }

    /// Writes `bytes` as they are, after anything buffered.
    mutating func bytes(_ bytes: Data) throws {
        try flush()
        try Self.write(bytes)
    }

    /// Writes out everything buffered.
    mutating func flush() throws {
        guard !buffer.isEmpty else { return }
        try Self.write(buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    private static func write(_ data: Data) throws {
        do {
            try FileHandle.standardOutput.write(contentsOf: data)
        } catch {
            throw CommandFailure(.storageFailure, "could not write to standard output: \(error.localizedDescription)")
        }
    }
}
