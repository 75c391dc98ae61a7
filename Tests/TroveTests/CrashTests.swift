import Foundation
import Testing
@_spi(Testing) import Trove
import TroveTestSupport
import TroveTestSupport

/// A writer process killed at random moments: no torn value, no acknowledged write lost.
@Suite("FileSystemStore and a killed writer")
struct CrashTests {
    /// With the platform's own system calls, and with the portable ones (link + unlink for
    /// if-absent renames, record locks, fstatat), as on platforms other than Linux.
    @Test(.timeLimit(.minutes(5)), arguments: [FileSystemStore.SystemCalls.native, .portable])
    func killedWritersLeaveWholeValuesAndEveryAcknowledgedWrite(_ calls: FileSystemStore.SystemCalls) async throws {
        let helper = try BuiltExecutable.helper()
        try await withScratchDirectory { directory in
            let root = directory.appendingPathComponent("store", isDirectory: true)
            var acknowledged: [Int: Int] = [:]  // slot -> newest acknowledged serial
            var generator = SystemRandomNumberGenerator()
            for round in 0..<25 {
                let first = round * 100_000
                let target = Int.random(in: 1...150, using: &generator)
                let serials = try await ChildProcess.killAfterAcknowledgements(
                    helper, ["write-loop", root.path, String(first), "100000"], count: target,
                    environment: ["TROVE_TEST_SYSTEM_CALLS": calls == .portable ? "portable" : nil]).acknowledged
                // Also those the writer acknowledged between the target and the kill.
                #expect(serials.count >= target, "the writer ended after \(serials.count) of \(target) writes")
                for serial in serials { acknowledged[WriteLoop.slot(of: serial)] = serial }

                let store = try FileSystemStore(root: root, systemCalls: calls)
                for slot in 0..<WriteLoop.slotCount {
                    let key = try StoreKey(validating: "crash/\(slot)")
                    guard let value = try await store[key] else {
                        #expect(acknowledged[slot] == nil, "crash/\(slot) lost its acknowledged write \(acknowledged[slot] ?? -1)")
                        continue
                    }
                    let serial = try WriteLoop.serial(ofWholeValue: value)
                    #expect(WriteLoop.slot(of: serial) == slot)
                    if let newest = acknowledged[slot] {
                        #expect(serial >= newest, "crash/\(slot) holds write \(serial), older than acknowledged \(newest)")
                    }
                }
                #expect(try await store.count() <= WriteLoop.slotCount, "scratch files of killed writers never show as keys")
            }
        }
    }

    @Test(.timeLimit(.minutes(5)))
    func streamingNeverHoldsTheWholeValue() async throws {
        let helper = try BuiltExecutable.helper()
        try await withScratchDirectory { directory in
            let outcome = try await ChildProcess.run(helper, ["stream-roundtrip", directory.path, "256"])
            try #require(outcome.status == 0, "helper exited with \(outcome.status): \(outcome.errors)")
            let result = outcome.outputText
            let fields = result.split(separator: " ")
            let growth = try #require(fields.count == 2 ? Int(fields[1].trimmingCharacters(in: .whitespacesAndNewlines)) : nil,
                                      "unexpected helper output: \(result)")
            #expect(growth < 64 * 1024, "a 256 MiB round trip grew the peak resident set by \(growth) KiB")
        }
    }
}
