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
        let arguments = Array(CommandLine.arguments.dropFirst())
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

    /// Help requests print their text on standard output and succeed; every other parsing error
    /// is a usage error.
    private static func finishParsing(with error: any Error, arguments: [String]) -> Never {
        if TroveCommand.exitCode(for: error) == .success {
            Terminal.printHelp(TroveCommand.fullMessage(for: error))
        }
        let subcommand = TroveCommand.configuration.subcommands
            .compactMap { $0.configuration.commandName }
            .first { arguments.contains($0) }
        let helpCommand = subcommand.map { "trove \($0) --help" } ?? "trove --help"
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
