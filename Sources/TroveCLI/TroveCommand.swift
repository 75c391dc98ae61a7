import ArgumentParser
import Foundation
import Trove
import TrovePostgres
import TroveRedis
import TroveSQLite
import TroveS3

extension StoreOpener {
    /// Every scheme this command line knows: files, memory, null, SQLite, Redis (one server or a
    /// cluster, plain or over TLS), S3 and PostgreSQL.
    static var commandLine: StoreOpener {
        StoreOpener.withSQLite.adding(.redis).adding(.rediss).adding(.redisCluster).adding(.redissCluster).adding(.s3).addingPostgres()
    }
}

/// `trove`: the root command, which only holds the subcommands and the help text.
struct TroveCommand: AsyncParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "trove",
            abstract: "Put, get, list, delete and copy values in Trove stores.",
            discussion: helpText,
            version: TroveVersion.current,
            subcommands: [
                PutCommand.self, GetCommand.self, DeleteCommand.self, ListCommand.self,
                StatCommand.self, InfoCommand.self, CopyCommand.self, SyncCommand.self, CheckCommand.self,
                BenchCommand.self, QueueCommand.self,
            ])
    }

    @OptionGroup var global: GlobalOptions

    /// The part of `trove --help` after the options: where the store is, store URLs, exit codes.
    private static var helpText: String {
        let environment = ProcessInfo.processInfo.environment
        let schemes = StoreOpener.commandLine.schemes.map { scheme in
            "  \(scheme.usage)\n" + wrapped(scheme.summary, indent: 6) + "\n"
                + wrapped(scheme.optionsSummary, indent: 6, continuationIndent: 8)
        }
        return """
            The store is the URL given with --store, else the one in the TROVE_STORE \
            environment variable, else a directory store on this machine, created on first use:
              \(StoreLocation.defaultStoreURL(environment: environment))
              ($XDG_DATA_HOME/trove, or ~/.local/share/trove when XDG_DATA_HOME is unset)

            Store URLs:
            \(schemes.joined(separator: "\n"))

            Exit codes:
              0  success
              1  key not found
              2  invalid input or usage: arguments, key, store URL, unsupported option
              3  condition failed: --if-absent, --if-match, bench prefix holding keys,
                 sync beyond --max-delete; or check found the stores differ
              4  storage failure: the store or a local file could not be read or written
            Errors go to standard error, as one line starting with 'trove:'.
            """
    }
}

/// `text` in lines of at most `width` columns, broken between words, the first line indented
/// by `indent` spaces and the others by `continuationIndent`: the help's own lines stay under
/// 80 columns, so a terminal of that width does not wrap them and lose their indent.
func wrapped(_ text: String, indent: Int, continuationIndent: Int? = nil, width: Int = 78) -> String {
    var lines: [String] = []
    var line = String(repeating: " ", count: indent)
    var lineHasWord = false
    for word in text.split(separator: " ") {
        if lineHasWord, line.count + 1 + word.count > width {
            lines.append(line)
            line = String(repeating: " ", count: continuationIndent ?? indent)
            lineHasWord = false
        }
        line += (lineHasWord ? " " : "") + word
        lineHasWord = true
    }
    lines.append(line)
    return lines.joined(separator: "\n")
}

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The store URL, such as file:///var/data or memory: (default: $TROVE_STORE, else the local store).",
            valueName: "url"))
    var store: String?

    /// The chosen store's URL: `--store`, else `TROVE_STORE`, else the default local store.
    var url: String {
        let environment = ProcessInfo.processInfo.environment
        if let store {
            return store
        } else if let fromEnvironment = environment["TROVE_STORE"], !fromEnvironment.isEmpty {
            return fromEnvironment
        } else {
            return StoreLocation.defaultStoreURL(environment: environment)
        }
    }

    /// Opens the chosen store, runs `body` with it, and closes it.
    func withStore<Value>(_ body: (any KeyValueStore) async throws -> Value) async throws -> Value {
        try await StoreOpener.commandLine.withStore(url, body)
    }
}

/// A command that works on the chosen store.
protocol StoreCommand: AsyncParsableCommand {
    /// The options that choose the store.
    var global: GlobalOptions { get }

    /// Does the command's work on `store`.
    func run(on store: any KeyValueStore) async throws
}

extension StoreCommand {
    func run() async throws {
        try await global.withStore { store in try await run(on: store) }
    }
}

/// Where the default store lives.
enum StoreLocation {
    /// `$XDG_DATA_HOME/trove`, or `~/.local/share/trove` when XDG_DATA_HOME is unset (or, as the
    /// XDG specification asks, not an absolute path).
    static func defaultDirectory(environment: [String: String]) -> URL {
        if let dataHome = environment["XDG_DATA_HOME"], dataHome.hasPrefix("/") {
            return URL(fileURLWithPath: dataHome, isDirectory: true).appendingPathComponent("trove", isDirectory: true)
        }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0, isDirectory: true) }
            ?? FileManager.default.homeDirectoryForCurrentUser
        return home.appendingPathComponent(".local/share/trove", isDirectory: true)
    }

    /// The default store as a `file:` URL.
    static func defaultStoreURL(environment: [String: String]) -> String {
        let path = defaultDirectory(environment: environment).path
        let allowed = CharacterSet.urlPathAllowed.subtracting(CharacterSet(charactersIn: "%?#;"))
        return "file://" + (path.addingPercentEncoding(withAllowedCharacters: allowed) ?? path)
    }
}
