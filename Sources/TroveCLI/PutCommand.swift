import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Trove

/// `trove put KEY [FILE|-]`: stores a file or standard input under a key.
struct PutCommand: StoreCommand {
    static let configuration = CommandConfiguration(
        commandName: "put",
        abstract: "Store the bytes of a file, or of standard input, under a key.",
        discussion: """
            The value is streamed to the store, never held whole in memory where the store can \
            stream. Readers see the old value until the new one is complete. Prints the new ETag; \
            --json prints the new entry's metadata as 'trove stat --json' does.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The key: segments joined by '/', such as users/alice.")
    var key: String

    @Argument(help: ArgumentHelp("The file to store; '-' or nothing reads standard input.", valueName: "file"))
    var file: String?

    @Flag(name: .customLong("if-absent"), help: "Write only if the key holds no value (else exit 3).")
    var ifAbsent = false

    @Option(name: .customLong("if-match"),
            help: ArgumentHelp("Write only if the key's current ETag is this one (else exit 3).", valueName: "etag"))
    var ifMatch: String?

    @Option(name: .customLong("expires-in"),
            help: ArgumentHelp("Let the entry expire after this long: 500ms, 30s, 5m, 2h, 1d, 1h30m.",
                               valueName: "duration"),
            transform: PutCommand.parseExpiry)
    var expiresIn: Duration?

    @Flag(help: "Print the new entry's metadata as one JSON object instead of its ETag.")
    var json = false

    func validate() throws {
        if ifAbsent && ifMatch != nil {
            throw ValidationError("--if-absent and --if-match cannot be used together")
        }
        if ifMatch?.isEmpty == true {
            throw ValidationError("--if-match needs an ETag, as printed by put or stat")
        }
    }

    func run(on store: any KeyValueStore) async throws {
        let key = try StoreKey(validating: self.key)
        let input: FileChunks
        if let file, file != "-" {
            input = try LocalFile.chunks(of: file)
        } else {
            input = FileChunks(reading: .standardInput, name: "standard input")
        }
        if file == nil || file == "-", isatty(STDIN_FILENO) == 1 {
            Terminal.note("reading the value of '\(key)' from standard input; end it with Ctrl-D")
        }
        let condition: WriteCondition = ifAbsent ? .ifAbsent : ifMatch.map { .ifMatches(ETag($0)) } ?? .always
        let expiry: Expiry = expiresIn.map { .after($0) } ?? .never
        let metadata = try await store.set(contentsOf: input, for: key, condition: condition, expiry: expiry)
        var output = StandardOutput()
        try output.line(json ? Show.json(metadata).rendered : metadata.etag.rawValue)
        try output.flush()
    }

    /// Reads `--expires-in`: a positive duration.
    @Sendable
    static func parseExpiry(_ text: String) throws -> Duration {
        if text.hasPrefix("-") {
            throw ValidationError("an entry's lifetime must be longer than zero")
        }
        let duration: Duration
        do {
            duration = try Duration(parsing: text)
        } catch {
            throw ValidationError(error.message)
        }
        guard duration > .zero else {
            throw ValidationError("an entry's lifetime must be longer than zero")
        }
        return duration
    }
}
