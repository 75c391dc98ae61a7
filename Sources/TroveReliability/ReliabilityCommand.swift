// The campaigns of Trove's reliability suite (scripts/reliability) that need Swift.
//
//     TroveReliability crash <short|long> <output.json> <scratch-folder> [<kills>]
//
// the crash campaign: writers on each store configuration killed with SIGKILL at seeded random
// moments, the store checked after each kill; writes the area's results to <output.json>.
//
//     TroveReliability crash-writer <configuration> <location> <first-serial> <seed>
//
// the writer of the crash campaign (started by the campaign, not by hand; see CrashWriter).
//
//     TroveReliability full-disk <short|long> <output.json> <mounts-folder>
//
// the full-disk campaign, on the small file systems mounted at <mounts-folder>/<configuration>.
//
// TROVE_RELIABILITY_SEED=N repeats a run. Exit status: 0 when nothing was found, 1 when
// something was (the results are written first), 2 for a usage error.

import Foundation
import Trove

@main
enum ReliabilityCommand {
    static let usage = """
        usage: TroveReliability crash <short|long> <output.json> <scratch-folder> [<kills>] | \
        full-disk <short|long> <output.json> <mounts-folder> | \
        crash-writer <configuration> <location> <first-serial> <seed>
        """

    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        do {
            switch arguments.first {
            case "crash-writer":
                guard arguments.count == 5, let configuration = StoreConfiguration(rawValue: arguments[1]),
                      let first = Int(arguments[3]), let seed = UInt64(arguments[4]) else { fail(usage, status: 2) }
                try await CrashWriter(configuration: configuration, location: URL(fileURLWithPath: arguments[2]),
                                      firstSerial: first, seed: seed).run()
            case "crash":
                guard arguments.count == 4 || arguments.count == 5, let mode = RunMode(rawValue: arguments[1]) else { fail(usage, status: 2) }
                let kills = arguments.count == 5 ? Int(arguments[4]) : nil
                if arguments.count == 5 && (kills ?? 0) < 1 { fail("<kills> must be a positive number, not '\(arguments[4])'", status: 2) }
                let ok = try await runCrash(mode: mode, output: URL(fileURLWithPath: arguments[2]),
                                            scratch: URL(fileURLWithPath: arguments[3], isDirectory: true), kills: kills)
                exit(ok ? 0 : 1)
            case "full-disk":
                guard arguments.count == 4, let mode = RunMode(rawValue: arguments[1]) else { fail(usage, status: 2) }
                let ok = try await runFullDisk(mode: mode, output: URL(fileURLWithPath: arguments[2]),
                                               mounts: URL(fileURLWithPath: arguments[3], isDirectory: true))
                exit(ok ? 0 : 1)
            default:
                fail(usage, status: 2)
            }
        } catch {
            fail("\(arguments.first ?? "TroveReliability") failed: \(error)", status: 1)
        }
    }

    static func fail(_ message: String, status: Int32) -> Never {
        printError("TroveReliability: " + message)
        exit(status)
    }

    static func command(_ area: String, _ mode: RunMode) -> String {
        mode == .long ? "scripts/reliability --long \(area)" : "scripts/reliability \(area)"
    }

    static func runCrash(mode: RunMode, output: URL, scratch: URL, kills: Int?) async throws -> Bool {
        let started = Date()
        let seed = try runSeed()
        let kills = kills ?? (mode == .long ? 1000 : 80)
        printError("crash: \(mode.rawValue) mode, \(kills) kills per configuration, TROVE_RELIABILITY_SEED=\(seed)")
        let campaign = CrashCampaign(mode: mode, seed: seed, scratch: scratch, kills: kills,
                                     timeBound: mode == .long ? .seconds(3 * 3600) : .seconds(40),
                                     configurations: StoreConfiguration.allCases)
        let results = try await campaign.run()
        var rows: [AreaReport.Row] = []
        for (configuration, tally) in results {
            var details = [
                "\(tally.torn) torn values", "\(tally.lost) lost acknowledged writes",
                "\(tally.metadata) metadata or listing mismatches", "\(tally.conditions) conditions decided wrongly",
                "\(tally.writerFailures) writer errors",
                "\(tally.acknowledged) operations acknowledged",
                "\(tally.killsInStream) kills inside an 8 MiB streamed write (\(tally.streamsCommittedUnacknowledged) of them had committed)",
                "\(tally.killsWhileOpening) while the store opened",
                "\(tally.inFlightCommitted) operations in flight found done",
            ]
            if configuration.isSQLite {
                details.append("\(tally.orphanPartsLeft) parts of killed streams left, all reclaimed (\(tally.leftovers) leftovers after reclaiming)")
                details.append(tally.integrity == 0 ? "integrity_check ok after every kill" : "integrity_check failed \(tally.integrity) times")
            } else {
                details.append("\(tally.scratchLeft) scratch files left by killed writes, all reclaimed (\(tally.leftovers) leftovers after reclaiming)")
                if tally.integrity > 0 { details.append("\(tally.integrity) stores that could not be checked") }
            }
            if tally.stoppedByTime { details.append("stopped at the time bound") }
            rows.append(AreaReport.Row(case: configuration.title, ran: tally.kills, unit: "SIGKILLs", seed: seed,
                                       found: tally.found, ok: tally.found == 0, details: details.joined(separator: ", ")))
        }
        let ok = rows.allSatisfy(\.ok)
        let report = AreaReport(
            area: "crash", title: "Crash points",
            summary: """
                A writer process runs a seeded random mix of operations on 24 keys of one store (unconditional, \
                if-absent and if-ETag-matches writes of values up to 512 KiB, 8 MiB values streamed in chunks with and \
                without an expected size, plain and conditional deletes) and prints each operation before it starts and \
                its outcome once it returned. It is killed with SIGKILL after a random 5 to 400 ms, and started again on \
                the same store, kill after kill. After each kill the checker opens the store and checks that every \
                value is whole (each carries a header with its write's serial number, its key, its length and checksums), \
                that each key holds its last acknowledged state (the key of the one operation in flight may hold its state \
                before or after), that every acknowledged outcome of a condition was right, that metadata and listing \
                agree with the values, and that once `reclaimExpired()` runs with a clock a day ahead no scratch file \
                (file store) or part of an unfinished value (SQLite) is left and `PRAGMA integrity_check` is ok.
                """,
            mode: mode.rawValue, command: command("crash", mode), started: AreaReport.timestamp(started),
            seconds: Date().timeIntervalSince(started), rows: rows,
            notes: [
                """
                A SIGKILL models a crash of the process, not of the machine: the kernel keeps every write the \
                process made, synced or not. It shows that no interleaving of a store's system calls with a crash \
                tears a value or loses an acknowledged write; it cannot show what survives a power loss.
                """,
                """
                Power loss is not covered. It needs a block device that drops or reorders unsynced writes \
                (device-mapper's dm-flakey or dm-log-writes); on the machines this runs on the kernel offers no \
                device-mapper (no /dev/mapper; dmsetup cannot reach the driver), and an LD_PRELOAD library that \
                drops unsynced writes would have to model the page cache behind write, rename, unlink and fsync of \
                files and directories, which this campaign does not do. So the fsync and synchronous=full rows \
                differ from the others only in the system calls made, not in a loss they were shown to survive.
                """,
                """
                Kill moments depend on timing as well as on the seed: TROVE_RELIABILITY_SEED=N repeats the \
                operations and the delays, not always the exact instruction a kill lands on.
                """,
            ],
            ok: ok)
        try report.write(to: output)
        return ok
    }
}
