import ArgumentParser
import Trove

/// `trove delete KEY`: deletes a key's value.
struct DeleteCommand: StoreCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete the value stored under a key.",
        discussion: """
            Exits with 1 if the key holds no value, and with 3 if --if-match does not hold \
            (a missing key matches no ETag).
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The key to delete.")
    var key: String

    @Option(name: .customLong("if-match"),
            help: ArgumentHelp("Delete only if the key's current ETag is this one (else exit 3).", valueName: "etag"))
    var ifMatch: String?

    func run(on store: any KeyValueStore) async throws {
        let key = try StoreKey(validating: self.key)
        let condition: DeleteCondition = ifMatch.map { .ifMatches(ETag($0)) } ?? .always
        guard try await store.delete(key, condition: condition) else {
            throw CommandFailure.notFound(key, in: store)
        }
    }
}
