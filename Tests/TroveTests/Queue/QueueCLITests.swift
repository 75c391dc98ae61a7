import Foundation
import Testing

/// `trove queue push|pop|ack|count`, run as separate processes on one store.
@Suite("trove queue")
struct QueueCLITests {
    @Test("push, pop with a receipt, ack once, pop --ack, count, and an empty queue", arguments: ["file", "sqlite"])
    func roundTrip(_ scheme: String) async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let store = scheme == "file" ? scratch.storeURL : "sqlite://" + scratch.directory.appendingPathComponent("q.db").path
        func trove(_ arguments: [String], input: Data? = nil) async throws -> TroveResult {
            let standardInput = try input.map { try scratch.file("input-\(UUID().uuidString)", $0) }
            return try await scratch.trove(["--store", store] + arguments, standardInput: standardInput)
        }

        for text in ["first job", "second job"] {
            let pushed = try await trove(["queue", "push", "jobs", "-"], input: Data(text.utf8))
            #expect(pushed.status == 0, "\(pushed.stderr)")
            #expect(pushed.stdoutText.hasPrefix("jobs/items/"))
        }
        #expect(try await trove(["queue", "count", "jobs"]).stdoutText == "2\n")

        let output = scratch.directory.appendingPathComponent("popped")
        let popped = try await trove(["queue", "pop", "jobs", "--output", output.path])
        #expect(popped.status == 0, "\(popped.stderr)")
        #expect(try Data(contentsOf: output) == Data("first job".utf8))
        let receipt = popped.stdoutText.trimmingCharacters(in: .newlines)

        let acknowledged = try await trove(["queue", "ack", "jobs", receipt])
        #expect(acknowledged.status == 0, "\(acknowledged.stderr)")
        let again = try await trove(["queue", "ack", "jobs", receipt])
        #expect(again.status == 3, "a second acknowledgement must fail with 3: \(again.stderr)")
        #expect(again.stderr.contains("lease"))

        let second = try await trove(["queue", "pop", "jobs", "--ack"])
        #expect(second.status == 0)
        #expect(second.stdout == Data("second job".utf8))
        #expect(try await trove(["queue", "count", "jobs"]).stdoutText == "0\n")

        let empty = try await trove(["queue", "pop", "jobs", "--wait", "100ms"])
        #expect(empty.status == 1)
        #expect(empty.stderr.contains("no element"))

        let bad = try await trove(["queue", "ack", "jobs", "not-a-receipt"])
        #expect(bad.status == 2)
    }
}
