import Foundation
import Testing
import Trove
import TroveSQLite
import TroveTestSupport

/// A writer process on an SQLite store with `synchronous=full`, killed with SIGKILL at 100
/// moments drawn from a fixed seed: the database stays intact, no value is torn, and every write
/// the writer acknowledged is there.
@Suite("SQLiteStore and a killed writer")
struct SQLiteCrashTests {
    /// The seed of the kill moments; change it to explore other moments.
    static let seed: UInt64 = 0x5EED_C0FF_EE00_0001

    @Test(.timeLimit(.minutes(3)))
    func killedWritersLeaveAnIntactDatabaseAndEveryAcknowledgedWrite() async throws {
        let helper = try BuiltExecutable.helper()
        try await withScratchDirectory { directory in
            let file = directory.appendingPathComponent("store.db")
            let url = sqliteURL(file, query: "synchronous=full")
            var generator = SplitMix64(seed: Self.seed)
            var newest: [Int: Int] = [:]  // slot -> newest acknowledged serial
            var kills = 0
            for round in 0..<100 {
                let first = round * 100_000
                // Some kills before the first write (while the database opens), most within a
                // write or a checkpoint: up to 24 acknowledged writes, then up to 8 ms more.
                let count = Int.random(in: 0...24, using: &generator)
                let delay = Duration.microseconds(Int.random(in: 0...8000, using: &generator))
                let (acknowledged, killed) = try await ChildProcess.killAfterAcknowledgements(
                    helper, ["write-loop", url, String(first), "1000000"], count: count, delay: delay)
                if killed { kills += 1 }
                let context = "round \(round) (seed \(Self.seed), \(count) writes + \(delay))"
                #expect(acknowledged == Array(first..<(first + acknowledged.count)),
                        "\(context): the writer acknowledged \(acknowledged.prefix(3))… out of order")
                #expect(acknowledged.count >= count, "\(context): the writer stopped after \(acknowledged.count) writes")
                for serial in acknowledged { newest[WriteLoop.slot(of: serial)] = serial }
                // The one write that may have committed without being acknowledged.
                let inFlight = first + acknowledged.count

                guard FileManager.default.fileExists(atPath: file.path) else {
                    #expect(newest.isEmpty, "\(context): the database is gone")
                    continue
                }
                do {
                    let raw = try RawDatabase(file)
                    #expect(try raw.integrityCheck() == ["ok"], "\(context): integrity_check failed")
                    if try raw.integer("SELECT count(*) FROM sqlite_master WHERE name = 'kv$segments'") == 1 {
                        #expect(try raw.orphanParts() == 0, "\(context): parts of an unfinished write are left")
                    }
                }

                let store = try await SQLiteStore(path: file)
                for slot in 0..<WriteLoop.slotCount {
                    let stored = try await store[try key("crash/\(slot)")]
                    guard let stored else {
                        #expect(newest[slot] == nil, "\(context): crash/\(slot) lost acknowledged write \(newest[slot] ?? -1)")
                        continue
                    }
                    let serial = try WriteLoop.serial(ofWholeValue: stored)
                    let expected = [newest[slot], WriteLoop.slot(of: inFlight) == slot ? inFlight : nil].compactMap { $0 }
                    #expect(expected.contains(serial),
                            "\(context): crash/\(slot) holds write \(serial), not the acknowledged \(newest[slot] ?? -1) (or \(inFlight) in flight)")
                    // A write in flight that committed is the newest from now on.
                    newest[slot] = serial
                }
                #expect(try await store.count() <= WriteLoop.slotCount, "\(context): keys other than crash/0 … crash/15 appeared")
            }
            #expect(kills == 100, "only \(kills) of 100 writers were killed; the others ended on their own")
        }
    }
}
