import ArgumentParser
import Foundation
import Trove

/// `trove queue push|pop|ack|count`: a durable queue of byte strings in the chosen store, for
/// scripts.
struct QueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue",
        abstract: "Push, pop, acknowledge and count elements of a durable queue in the store.",
        discussion: """
            A queue is a namespace of the store, such as jobs. pop takes a lease on the oldest \
            element no one holds and prints it; ack removes it for good with the receipt pop \
            printed; an element not acknowledged before its lease runs out is popped again.
            """,
        subcommands: [Push.self, Pop.self, Acknowledge.self, Count.self])

    /// The queue named `name` in `store`, with elements kept as the bytes given.
    static func queue(_ name: String, in store: any KeyValueStore, lease: Duration = .seconds(30)) throws -> DurableQueue<Data> {
        try DurableQueue<Data>(store: store, namespace: KeyNamespace(validating: name), codec: .data,
                               configuration: .init(leaseDuration: lease))
    }

    /// `trove queue push QUEUE [FILE|-]`.
    struct Push: StoreCommand {
        static let configuration = CommandConfiguration(
            commandName: "push",
            abstract: "Append the bytes of a file, or of standard input, to a queue; prints the element's key.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The queue: a namespace of the store, such as jobs.")
        var queue: String

        @Argument(help: ArgumentHelp("The file to enqueue; '-' or nothing reads standard input.", valueName: "file"))
        var file: String?

        @Flag(help: "Print {\"queue\", \"key\", \"size\"} as one JSON object instead of the key.")
        var json = false

        func run(on store: any KeyValueStore) async throws {
            let element = if let file, file != "-" {
                try LocalFile.contents(of: file)
            } else {
                FileHandle.standardInput.readDataToEndOfFile()
            }
            let key = try await QueueCommand.queue(queue, in: store).enqueue(element)
            var output = StandardOutput()
            if json {
                var object = JSONObject()
                object.add("queue", queue)
                object.add("key", key.rawValue)
                object.add("size", Int64(element.count))
                try output.line(object.rendered)
            } else {
                try output.line(key.rawValue)
            }
            try output.flush()
        }
    }

    /// `trove queue pop QUEUE [--output FILE] [--wait DURATION] [--lease DURATION] [--ack]`.
    struct Pop: StoreCommand {
        static let configuration = CommandConfiguration(
            commandName: "pop",
            abstract: "Take the oldest element no one holds, under a lease.",
            discussion: """
                With --output, writes the element to the file and prints its receipt (the \
                element's key and the lease's token) on standard output; without, writes the \
                element to standard output and the receipt to standard error, as 'receipt: …'. \
                Give the receipt, quoted, to 'trove queue ack'. With --ack, acknowledges at once \
                and prints no receipt. Exits with 1 when no element came within --wait.
                """)

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The queue.")
        var queue: String

        @Option(name: [.short, .long], help: ArgumentHelp("Write the element to this file.", valueName: "file"))
        var output: String?

        @Option(help: ArgumentHelp("Wait this long for an element: 500ms, 30s, 5m (default: do not wait).",
                                   valueName: "duration"),
                transform: { try Duration(parsing: $0) })
        var wait: Duration?

        @Option(help: ArgumentHelp("How long the lease lasts (default: 30s).", valueName: "duration"),
                transform: { try Duration(parsing: $0) })
        var lease: Duration?

        @Flag(help: "Acknowledge the element at once (at most once delivery).")
        var ack = false

        @Flag(help: "Print {\"queue\", \"key\", \"size\", \"receipt\"} as one JSON object (needs --output).")
        var json = false

        func validate() throws {
            if json && (output == nil || output == "-") {
                throw ValidationError("--json needs --output FILE: standard output carries the JSON, not the element")
            }
        }

        func run(on store: any KeyValueStore) async throws {
            if let output, output != "-" { try LocalFile.checkWritable(output) }
            let queue = try QueueCommand.queue(self.queue, in: store, lease: lease ?? .seconds(30))
            let delivery = if let wait { try await queue.dequeue(waitingUpTo: wait) } else { try await queue.dequeue() }
            guard let delivery else {
                throw CommandFailure(.notFound, "queue '\(self.queue)' has no element to pop in \(store)")
            }
            if ack { try await queue.acknowledge(delivery.receipt) }
            var standardOutput = StandardOutput()
            if let output, output != "-" {
                try LocalFile.write(delivery.element, to: output)
                if json {
                    var object = JSONObject()
                    object.add("queue", self.queue)
                    object.add("key", delivery.receipt.id.rawValue)
                    object.add("size", Int64(delivery.element.count))
                    object.add("receipt", ack ? nil : delivery.receipt.description)
                    try standardOutput.line(object.rendered)
                } else if !ack {
                    try standardOutput.line(delivery.receipt.description)
                }
            } else {
                try standardOutput.bytes(delivery.element)
                if !ack { Terminal.note("receipt: \(delivery.receipt)") }
            }
            try standardOutput.flush()
        }
    }

    /// `trove queue ack QUEUE RECEIPT`.
    struct Acknowledge: StoreCommand {
        static let configuration = CommandConfiguration(
            commandName: "ack",
            abstract: "Remove a popped element for good.",
            discussion: "Exits with 3 if the lease is over (the element was popped again, or acknowledged already).")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The queue.")
        var queue: String

        @Argument(help: "The receipt printed by pop: the element's key and the lease's token, quoted as one argument.")
        var receipt: String

        func run(on store: any KeyValueStore) async throws {
            try await QueueCommand.queue(queue, in: store).acknowledge(try QueueReceipt(parsing: receipt))
        }
    }

    /// `trove queue count QUEUE`.
    struct Count: StoreCommand {
        static let configuration = CommandConfiguration(
            commandName: "count",
            abstract: "Print the number of elements not yet acknowledged, those under lease included.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The queue.")
        var queue: String

        @Flag(help: "Print {\"queue\", \"count\"} as one JSON object instead of the number.")
        var json = false

        func run(on store: any KeyValueStore) async throws {
            let count = try await QueueCommand.queue(queue, in: store).count()
            var output = StandardOutput()
            if json {
                var object = JSONObject()
                object.add("queue", queue)
                object.add("count", Int64(count))
                try output.line(object.rendered)
            } else {
                try output.line(String(count))
            }
            try output.flush()
        }
    }
}
