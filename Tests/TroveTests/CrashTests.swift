import Foundation
import Testing
import Trove
#if canImport(Glibc)
import Glibc
#endif

/// A writer process killed at random moments: no torn value, no acknowledged write lost.
@Suite("FileSystemStore and a killed writer")
struct CrashTests {
    /// The slot (`crash/<slot>`) that write `serial` goes to, as the helper's write loop does it.
    static func slot(of serial: Int) -> Int { serial % 16 }

    /// Checks that `value` is one whole write of the helper's loop and returns its serial.
    static func serial(ofWholeValue value: Data) throws -> Int {
        guard value.count >= 8 else { throw UnexpectedOutcome("a value of \(value.count) bytes is torn") }
        let serial = Int(value.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) })
        let body = value.dropFirst(8)
        guard body.count == (serial % 9 + 1) * 4096 else {
            throw UnexpectedOutcome("write \(serial) has \(body.count) bytes after its serial, not \((serial % 9 + 1) * 4096)")
        }
        guard body.allSatisfy({ $0 == UInt8(serial % 251) }) else {
            throw UnexpectedOutcome("write \(serial) holds bytes of another write")
        }
        return serial
    }

    @Test(.timeLimit(.minutes(5)))
    func killedWritersLeaveWholeValuesAndEveryAcknowledgedWrite() async throws {
        let helper = try HelperBinary.locate()
        try await withTemporaryDirectory { directory in
            let root = directory.appendingPathComponent("store", isDirectory: true)
            var acknowledged: [Int: Int] = [:]  // slot -> newest acknowledged serial
            var generator = SystemRandomNumberGenerator()
            for round in 0..<25 {
                let first = round * 100_000
                let target = Int.random(in: 1...150, using: &generator)
                let serials = try await WriterProcess.runUntilAcknowledged(
                    helper, arguments: ["write-loop", root.path, String(first), "100000"], count: target)
                #expect(serials.count == target)
                for serial in serials { acknowledged[Self.slot(of: serial)] = serial }

                let store = try FileSystemStore(root: root)
                for slot in 0..<16 {
                    let key = try StoreKey(validating: "crash/\(slot)")
                    guard let value = try await store[key] else {
                        #expect(acknowledged[slot] == nil, "crash/\(slot) lost its acknowledged write \(acknowledged[slot] ?? -1)")
                        continue
                    }
                    let serial = try Self.serial(ofWholeValue: value)
                    #expect(Self.slot(of: serial) == slot)
                    if let newest = acknowledged[slot] {
                        #expect(serial >= newest, "crash/\(slot) holds write \(serial), older than acknowledged \(newest)")
                    }
                }
                #expect(try await store.count() <= 16, "scratch files of killed writers never show as keys")
            }
        }
    }

    @Test(.timeLimit(.minutes(5)))
    func streamingNeverHoldsTheWholeValue() async throws {
        let helper = try HelperBinary.locate()
        try await withTemporaryDirectory { directory in
            let result = try await WriterProcess.output(of: helper, arguments: ["stream-roundtrip", directory.path, "256"])
            let fields = result.split(separator: " ")
            let growth = try #require(fields.count == 2 ? Int(fields[1].trimmingCharacters(in: .whitespacesAndNewlines)) : nil,
                                      "unexpected helper output: \(result)")
            #expect(growth < 64 * 1024, "a 256 MiB round trip grew the peak resident set by \(growth) KiB")
        }
    }
}

/// Runs the helper with its standard output on a pipe, on a thread of its own (reading a pipe
/// blocks).
enum WriterProcess {
    /// Starts the helper, reads serials from its output until `count` arrived, then kills it
    /// with SIGKILL and returns the serials.
    static func runUntilAcknowledged(_ executable: URL, arguments: [String], count: Int) async throws -> [Int] {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result {
                    let process = Process()
                    process.executableURL = executable
                    process.arguments = arguments
                    let output = Pipe()
                    process.standardOutput = output
                    process.standardError = FileHandle.nullDevice
                    try process.run()
                    var serials: [Int] = []
                    var pending = Data()
                    while serials.count < count {
                        let chunk = output.fileHandleForReading.availableData
                        if chunk.isEmpty { break }  // the helper ended early
                        pending.append(chunk)
                        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                            if let serial = Int(String(decoding: pending[..<newline], as: UTF8.self)) { serials.append(serial) }
                            pending.removeSubrange(...newline)
                        }
                    }
                    kill(process.processIdentifier, SIGKILL)
                    process.waitUntilExit()
                    return Array(serials.prefix(count))
                })
            }
        }
    }

    /// Runs the helper to its end and returns its standard output; throws if it failed.
    static func output(of executable: URL, arguments: [String]) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result {
                    let process = Process()
                    process.executableURL = executable
                    process.arguments = arguments
                    let output = Pipe()
                    let errors = Pipe()
                    process.standardOutput = output
                    process.standardError = errors
                    try process.run()
                    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                    let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                    process.waitUntilExit()
                    guard process.terminationStatus == 0 else {
                        throw UnexpectedOutcome("helper exited with \(process.terminationStatus): \(message)")
                    }
                    return text
                })
            }
        }
    }
}
