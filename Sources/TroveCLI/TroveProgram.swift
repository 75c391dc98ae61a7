import ArgumentParser
import Foundation

/// The entry point: parses the command line, runs the command, and turns every way it can end
/// into an exit status and at most one line on standard error.
///
/// ArgumentParser's own `main()` is not used because it exits with 64 (`EX_USAGE`) for usage
/// errors and prints usage text over several lines; `trove` documents 2 and one line.
@main
enum TroveProgram {
    static func main() async {
        if let failure = invalidArgument() { Terminal.fail(failure.status, failure.message) }
        let arguments = joiningNegativeDurations(Array(CommandLine.arguments.dropFirst()))
        let command: any ParsableCommand
        do {
            command = try TroveCommand.parseAsRoot(arguments)
        } catch {
            finishParsing(with: error, arguments: arguments)
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                var syncCommand = command
                try syncCommand.run()
            }
        } catch {
            finish(with: error)
        }
        Terminal.exit(.success)
    }

    /// The options whose value is a duration.
    static let durationOptions: Set<String> = ["--expires-in", "--wait", "--lease"]

    /// `arguments` with a duration option and a value after it that starts with `-` and a digit
    /// joined into one (`--expires-in=-5s`): ArgumentParser would take `-5s` for an option and
    /// say the value is missing, where the real mistake (a negative duration) has its own message.
    static func joiningNegativeDurations(_ arguments: [String]) -> [String] {
        var joined: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" {
                joined += arguments[index...]
                break
            }
            if durationOptions.contains(argument), index + 1 < arguments.count {
                let value = arguments[index + 1]
                if value.count > 1, value.first == "-", value.dropFirst().first?.isNumber == true {
                    joined.append(argument + "=" + value)
                    index += 2
                    continue
                }
            }
            joined.append(argument)
            index += 1
        }
        return joined
    }

    /// The failure for the first argument that is not valid UTF-8, if one is not.
    ///
    /// `CommandLine.arguments` replaces bad bytes with U+FFFD, which would store a key other than
    /// the one given: such an argument is refused, shown with its bad bytes as `\xFF` and clipped.
    static func invalidArgument() -> CommandFailure? {
        for index in 1..<Int(CommandLine.argc) {
            guard let pointer = CommandLine.unsafeArgv[index], String(validatingCString: pointer) == nil else { continue }
            let bytes = Array(UnsafeBufferPointer(start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self),
                                                  count: strlen(pointer)))
            return CommandFailure(.invalidInput, "argument \(index) is not valid UTF-8: \(shown(bytes))")
        }
        return nil
    }

    /// `bytes` in quotes, printable ASCII as it is and every other byte as `\xFF`, clipped to its
    /// first 64 bytes with its length when longer.
    static func shown(_ bytes: [UInt8]) -> String {
        let limit = 64
        var text = ""
        for byte in bytes.prefix(limit) {
            if byte >= 0x20, byte < 0x7F, byte != UInt8(ascii: "\\") {
                text.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                text += "\\x" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return bytes.count > limit ? "'\(text)…' (\(bytes.count) bytes)" : "'\(text)'"
    }

    /// Help requests print their text on standard output and succeed; every other parsing error
    /// is a usage error.
    private static func finishParsing(with error: any Error, arguments: [String]) -> Never {
        if TroveCommand.exitCode(for: error) == .success {
            Terminal.printHelp(TroveCommand.fullMessage(for: error))
        }
        // The deepest command the arguments name, such as `trove queue pop`.
        var path = ["trove"]
        var commands = TroveCommand.configuration.subcommands
        var remaining = arguments[...]
        while let index = remaining.firstIndex(where: { argument in
            commands.contains { $0.configuration.commandName == argument }
        }) {
            let command = commands.first { $0.configuration.commandName == remaining[index] }!
            path.append(remaining[index])
            commands = command.configuration.subcommands
            remaining = remaining[(index + 1)...]
        }
        let helpCommand = (path + ["--help"]).joined(separator: " ")
        Terminal.fail(.invalidInput, "\(TroveCommand.message(for: error)) (see '\(helpCommand)')")
    }

    /// Maps an error thrown while running a command to its exit status and message.
    private static func finish(with error: any Error) -> Never {
        switch error {
        case let failure as CommandFailure:
            Terminal.fail(failure.status, failure.message)
        case is CancellationError:
            Terminal.fail(.interrupted, "interrupted")
        default:
            if let report = StoreErrorReport(error) {
                Terminal.fail(report.status, report.message)
            }
            if TroveCommand.exitCode(for: error) == .success {
                Terminal.printHelp(TroveCommand.fullMessage(for: error))
            }
            if error is ValidationError {
                Terminal.fail(.invalidInput, TroveCommand.message(for: error))
            }
            Terminal.fail(.storageFailure, String(describing: error))
        }
    }
}

extension String {
    /// The string with zeros before it up to `width` characters.
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: Swift.max(0, width - count)) + self
    }
}
