import ArgumentParser
import Foundation
import Trove

/// `trove get KEY [--output FILE]`: writes a value's bytes, as stored, to standard output or
/// a file.
struct GetCommand: StoreCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Write the bytes stored under a key to standard output, or to a file.",
        discussion: """
            The value is streamed, never held whole in memory where the store can stream. \
            With --output, the file is written under a temporary name and renamed into place \
            when complete. Exits with 1 if the key holds no value.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The key to read.")
    var key: String

    @Option(name: [.short, .long],
            help: ArgumentHelp("Write the value to this file instead of standard output ('-' for standard output).",
                               valueName: "file"))
    var output: String?

    func run(on store: any KeyValueStore) async throws {
        let key = try StoreKey(validating: self.key)
        if let output, output != "-" {
            try LocalFile.checkWritable(output)
            guard try await store.read(key, intoFile: URL(fileURLWithPath: output)) != nil else {
                throw CommandFailure.notFound(key, in: store)
            }
            return
        }
        guard let entry = try await store.readStream(key, chunkSize: 256 * 1024) else {
            throw CommandFailure.notFound(key, in: store)
        }
        var standardOutput = StandardOutput()
        for try await chunk in entry.chunks { try standardOutput.bytes(chunk) }
    }
}
