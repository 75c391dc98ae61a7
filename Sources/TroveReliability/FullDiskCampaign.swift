import Foundation
import Trove
#if canImport(Glibc)
import Glibc
#endif

/// The full-disk campaign: each store configuration on a small tmpfs of its own, filled with
/// plain and streamed writes until one fails; then the failure must be a `StoreError` with code
/// `outOfSpace` naming the key, every value stored before must read back whole, the failed
/// writes must leave nothing behind, and once values are deleted writes must succeed again.
struct FullDiskCampaign {
    let mode: RunMode
    let seed: UInt64
    /// Holds one tmpfs mount point per configuration, named by the configuration.
    let mounts: URL
    let configurations: [StoreConfiguration]

    /// The size of the file system in round `round`, in MiB.
    var sizes: [Int] { mode == .long ? [8, 12, 16, 24, 32, 48, 64] : [12, 24, 16, 8, 32, 20] }
    /// Every size with each of the three kinds of round (plain, streamed, mixed).
    var rounds: Int { mode == .long ? 42 : 6 }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// What one configuration ran and found.
    struct Tally {
        var rounds = 0
        var valuesWritten = 0
        var bytesWritten = 0
        var refusedPlain = 0
        var refusedStreamed = 0
        var acceptedWhenFull = 0
        var deletesRefused = 0
        var deletesRefusedAfterBallast = 0
        var writesNeedingRoom = 0
        var partsLeftBeforeReclaim = 0
        var violations = 0
        var sizes: Set<Int> = []
    }

    /// A value the model knows is stored.
    struct Stored {
        let serial: Int
        let size: Int
    }

    func run() async throws -> [(StoreConfiguration, Tally)] {
        var results: [(StoreConfiguration, Tally)] = []
        for (index, configuration) in configurations.enumerated() {
            let mount = mounts.appendingPathComponent(configuration.rawValue, isDirectory: true)
            try Self.requireSmallFileSystem(at: mount)
            var generator = SeededGenerator(seed: SeededGenerator.derive(seed, 1000 + UInt64(index)))
            var tally = Tally()
            for round in 0..<rounds {
                let size = sizes[round % sizes.count]
                try clear(mount)
                try resize(mount, mebibytes: size)
                tally.sizes.insert(size)
                let context = "full-disk: \(configuration.title), round \(round + 1) on \(size) MiB (TROVE_RELIABILITY_SEED=\(seed))"
                let problems = try await fill(configuration, in: mount, round: round, size: size, generator: &generator, tally: &tally)
                tally.rounds += 1
                tally.violations += problems.count
                for problem in problems { printError("\(context): \(problem)") }
                try clear(mount)
            }
            printError("full-disk: \(configuration.title): \(tally.rounds) fills, \(tally.violations) violations")
            results.append((configuration, tally))
        }
        return results
    }

    /// One round: fill, check, delete, write again, check.
    private func fill(
        _ configuration: StoreConfiguration, in mount: URL, round: Int, size: Int, generator: inout SeededGenerator, tally: inout Tally
    ) async throws -> [String] {
        var problems: [String] = []
        let folder = mount.appendingPathComponent("round-\(round)", isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let location = configuration.location(in: folder)
        // Room to give back where a store cannot delete on a full disk: SQLite must first copy
        // its write-ahead log into the database file, which may need as much room as the log.
        let ballast = mount.appendingPathComponent("ballast")
        if configuration.isSQLite { try Data(repeating: 0xBA, count: size << 18).write(to: ballast) }
        let store = try await configuration.open(location)
        var model: [StoreKey: Stored] = [:]
        var serial = round * 1_000_000
        // Round kinds: plain values, streamed values, or a mix with overwrites.
        let kind = round % 3

        func attempt(_ key: StoreKey, bodySize: Int, streamed: Bool) async throws -> StoreError? {
            serial += 1
            let value = SelfDescribingValue.make(serial: serial, key: key, bodySize: bodySize)
            do {
                if streamed {
                    let sizes = [Int](repeating: 256 << 10, count: value.count / (256 << 10) + 1)
                    try await store.set(contentsOf: SlicedChunks(value: value, sizes: sizes), for: key,
                                        expectedSize: serial % 2 == 0 ? Int64(value.count) : nil)
                } else {
                    try await store.set(value, for: key)
                }
                model[key] = Stored(serial: serial, size: value.count)
                tally.valuesWritten += 1
                tally.bytesWritten += value.count
                return nil
            } catch let error as StoreError {
                if error.code != .outOfSpace {
                    problems.append("a \(streamed ? "streamed" : "plain") write of \(value.count) bytes to \(key) failed with \(error.code), not outOfSpace: \(error)")
                } else if error.key != key {
                    problems.append("the outOfSpace error of a write to \(key) names the key \(error.key?.rawValue ?? "nil")")
                }
                if streamed { tally.refusedStreamed += 1 } else { tally.refusedPlain += 1 }
                return error
            }
        }

        // Fill until a write fails.
        var failed: (key: StoreKey, bodySize: Int, streamed: Bool)?
        var index = 0
        while failed == nil && index < 100_000 {
            let streamed = kind == 1 ? Int.random(in: 0..<4, using: &generator) != 0 : kind == 2 && Int.random(in: 0..<5, using: &generator) == 0
            let bodySize = streamed ? Int.random(in: (1 << 20)...(4 << 20), using: &generator)
                : kind == 2 && Bool.random(using: &generator) ? Int.random(in: 0...4000, using: &generator)
                : Int.random(in: (16 << 10)...(512 << 10), using: &generator)
            let overwrite = kind == 2 && !model.isEmpty && Int.random(in: 0..<4, using: &generator) == 0
            let key = overwrite ? model.keys.sorted()[Int.random(in: 0..<model.count, using: &generator)]
                : try StoreKey(validating: "fill/\(index / 100)/v\(index)")
            index += 1
            if try await attempt(key, bodySize: bodySize, streamed: streamed) != nil { failed = (key, bodySize, streamed) }
        }
        guard let failed else { return problems + ["100,000 writes fitted: the file system never filled"] }

        // More writes on the full disk: each must store whole or fail with outOfSpace, changing
        // nothing.
        for (key, bodySize, streamed) in [
            (try StoreKey(validating: "full/streamed"), 2 << 20, true),
            (model.keys.sorted().first ?? failed.key, 1 << 20, false),
            (try StoreKey(validating: "full/small"), 100, false),
        ] {
            if try await attempt(key, bodySize: bodySize, streamed: streamed) == nil { tally.acceptedWhenFull += 1 }
        }
        problems += try await verify(store, model: model, failedKeys: [failed.key, "full/streamed", "full/small"], when: "on the full disk")
        problems += leftovers(configuration, at: location, tally: &tally, when: "on the full disk")

        // Delete every other value, and more until twice the failed value's size and 1 MiB are
        // freed: space comes back and the failed write succeeds.
        let keys = model.keys.sorted()
        var doomed = keys.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
        var freeing = doomed.reduce(0) { $0 + (model[$1]?.size ?? 0) }
        for key in keys where !doomed.contains(key) && freeing < 2 * failed.bodySize + (1 << 20) {
            doomed.append(key)
            freeing += model[key]?.size ?? 0
        }
        var refused: [StoreKey] = []
        var grown = false
        for key in doomed {
            do {
                _ = try await store.delete(key)
                model[key] = nil
            } catch let error as StoreError where error.code == .outOfSpace && error.isRetryable && configuration.isSQLite {
                refused.append(key)
            } catch {
                problems.append("deleting \(key) on the full disk failed with \(error)")
            }
        }
        if !refused.isEmpty {
            // SQLite refused, with a typed, retryable error: make room outside the store.
            tally.deletesRefused += refused.count
            try FileManager.default.removeItem(at: ballast)
            var stillRefused: [StoreKey] = []
            for key in refused {
                do {
                    _ = try await store.delete(key)
                    model[key] = nil
                } catch let error as StoreError where error.code == .outOfSpace && error.isRetryable {
                    stillRefused.append(key)
                } catch {
                    problems.append("deleting \(key) failed with \(error) once \(size << 8) KiB were freed beside the store")
                }
            }
            if !stillRefused.isEmpty {
                // Not enough yet for SQLite to copy its log into the database: the disk grows.
                tally.deletesRefusedAfterBallast += stillRefused.count
                try resize(mount, mebibytes: size * 2)
                grown = true
                for key in stillRefused {
                    do {
                        _ = try await store.delete(key)
                        model[key] = nil
                    } catch {
                        problems.append("deleting \(key) failed with \(error) even once the file system grew to \(size * 2) MiB")
                    }
                }
            }
        }
        var retried = try await attempt(failed.key, bodySize: failed.bodySize, streamed: failed.streamed)
        if let error = retried, error.code == .outOfSpace, error.isRetryable, configuration.isSQLite, !grown {
            // The log and the database file both need room for the value: make it beside the store.
            tally.writesNeedingRoom += 1
            try? FileManager.default.removeItem(at: ballast)
            try resize(mount, mebibytes: size * 2)
            retried = try await attempt(failed.key, bodySize: failed.bodySize, streamed: failed.streamed)
        }
        if let error = retried {
            problems.append("after deleting \(doomed.count) values (\(freeing >> 10) KiB) the write of \(failed.bodySize >> 10) KiB to \(failed.key) that failed still fails: \(error)")
        }
        problems += try await verify(store, model: model, failedKeys: doomed, when: "after deleting")
        do {
            // An hour and more later, what failed writes left is old enough to reclaim.
            let later = try await configuration.open(location, clock: clockAhead(by: 25 * 3600))
            do {
                let reclaimed = try await later.reclaimExpired()
                if reclaimed != 0 { problems.append("reclaimExpired() deleted \(reclaimed) entries, none of which had an expiry") }
            } catch {
                problems.append("reclaimExpired() after deleting failed: \(error)")
            }
        }
        problems += leftovers(configuration, at: location, tally: &tally, when: "after reclaimExpired()", strict: true)
        return problems
    }

    /// Reads back every value of `model` and checks it is whole and the right write, and that
    /// `failedKeys` not in the model hold nothing.
    private func verify(_ store: any KeyValueStore, model: [StoreKey: Stored], failedKeys: [StoreKey], when: String) async throws -> [String] {
        var problems: [String] = []
        for (key, stored) in model.sorted(by: { $0.key < $1.key }) {
            guard let entry = try await store.read(key) else {
                problems.append("\(key) lost its value (write \(stored.serial)) \(when)")
                continue
            }
            switch SelfDescribingValue.verify(entry.value, key: key) {
            case .torn(let reason):
                problems.append("\(key) holds a damaged value \(when): \(reason)")
            case .whole(let serial, _):
                if serial != stored.serial { problems.append("\(key) holds write \(serial), not \(stored.serial), \(when)") }
                if entry.metadata.size != Int64(entry.value.count) {
                    problems.append("\(key): the metadata says \(entry.metadata.size) bytes, the value has \(entry.value.count), \(when)")
                }
            }
        }
        for key in failedKeys where model[key] == nil {
            if try await store.metadata(for: key) != nil { problems.append("\(key) holds a value that was never stored \(when)") }
        }
        return problems
    }

    /// What failed writes left: scratch files of the file store (none may be left), parts of
    /// SQLite values (counted; none may be left once reclaimed, with `strict`), and SQLite's
    /// `integrity_check`.
    private func leftovers(_ configuration: StoreConfiguration, at location: URL, tally: inout Tally, when: String, strict: Bool = false) -> [String] {
        do {
            if configuration.isSQLite {
                let raw = try RawDatabase(location)
                let integrity = try raw.integrityCheck()
                let orphans = try raw.orphanParts()
                var problems: [String] = []
                if integrity != ["ok"] { problems.append("integrity_check \(when): \(integrity.prefix(5))") }
                if strict && orphans > 0 { problems.append("\(orphans) parts of failed writes are left \(when)") }
                if !strict { tally.partsLeftBeforeReclaim += orphans }
                return problems
            }
            let scratch = scratchFiles(ofFileStoreAt: location)
            return scratch.isEmpty ? [] : ["failed writes left \(scratch.count) scratch files \(when): \(scratch.prefix(4))"]
        } catch {
            return ["the store's files could not be checked \(when): \(error)"]
        }
    }

    /// Removes everything in the file system at `mount`.
    private func clear(_ mount: URL) throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: mount.path) {
            try FileManager.default.removeItem(at: mount.appendingPathComponent(name))
        }
    }

    /// Resizes the (empty) tmpfs at `mount` to `mebibytes` MiB.
    private func resize(_ mount: URL, mebibytes: Int) throws {
        let output = mounts.appendingPathComponent("mount.out"), errors = mounts.appendingPathComponent("mount.err")
        defer {
            try? FileManager.default.removeItem(at: output)
            try? FileManager.default.removeItem(at: errors)
        }
        let child = try ChildProcess.start("/bin/mount", ["-o", "remount,size=\(mebibytes)m", mount.path], output: output, errors: errors)
        let ending = child.waitForEnding()
        guard ending == .exited(0) else {
            let message = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            throw Failure(description: "mount -o remount,size=\(mebibytes)m \(mount.path) \(ending): \(message)")
        }
    }

    /// Fails unless `mount` is a tmpfs mount point of its own, so that the campaign never fills
    /// the disk it runs on.
    static func requireSmallFileSystem(at mount: URL) throws {
        // /proc/self/mounts: device, mount point (spaces as \040), type, options, …
        let mounts = (try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)) ?? ""
        let path = mount.resolvingSymlinksInPath().path
        let isTmpfs = mounts.split(separator: "\n").contains { line in
            let fields = line.split(separator: " ")
            return fields.count > 2 && fields[1].replacingOccurrences(of: "\\040", with: " ") == path && fields[2] == "tmpfs"
        }
        guard isTmpfs else {
            throw Failure(description: """
                \(mount.path) is not a tmpfs: the full-disk campaign runs only on the small file systems that \
                scripts/lib/reliability/full-disk.sh mounts (as root)
                """)
        }
    }
}

extension ReliabilityCommand {
    static func runFullDisk(mode: RunMode, output: URL, mounts: URL) async throws -> Bool {
        let started = Date()
        let seed = try runSeed()
        printError("full-disk: \(mode.rawValue) mode, TROVE_RELIABILITY_SEED=\(seed)")
        let campaign = FullDiskCampaign(mode: mode, seed: seed, mounts: mounts, configurations: StoreConfiguration.allCases)
        let results = try await campaign.run()
        var rows: [AreaReport.Row] = []
        for (configuration, tally) in results {
            var details = [
                "\(tally.violations) violations",
                "file systems of \(tally.sizes.sorted().map { String($0) }.joined(separator: ", ")) MiB",
                "\(tally.valuesWritten) values written (\(tally.bytesWritten >> 20) MiB), all read back whole",
                "\(tally.refusedPlain) plain and \(tally.refusedStreamed) streamed writes refused with outOfSpace, nothing left of them",
                "writes still fitting on the full disk: \(tally.acceptedWhenFull)",
                "writes succeed again after deletes",
            ]
            if configuration.isSQLite {
                details.append("""
                    \(tally.deletesRefused) deletes refused with outOfSpace on the full disk, \(tally.deletesRefusedAfterBallast) still \
                    refused once a quarter of the disk was freed beside the store, all done once the disk grew, \
                    \(tally.writesNeedingRoom) failed writes that fitted only once room was made beside the store
                    """)
                details.append("\(tally.partsLeftBeforeReclaim) parts of failed writes kept until reclaimExpired(), then none")
                details.append("integrity_check ok")
            } else {
                details.append("0 scratch files left")
            }
            rows.append(AreaReport.Row(case: configuration.title, ran: tally.rounds, unit: "fills", seed: seed,
                                       found: tally.violations, ok: tally.violations == 0, details: details.joined(separator: ", ")))
        }
        let ok = rows.allSatisfy(\.ok)
        let report = AreaReport(
            area: "full-disk", title: "Full and failing disks",
            summary: """
                Each store configuration runs on a small tmpfs of its own, resized from round to round. A round fills it \
                with plain values (16 to 512 KiB, some small ones and overwrites) or values streamed in 256 KiB chunks \
                (1 to 4 MiB) until a write fails, tries three more writes on the full disk, and checks that every failed \
                write is a StoreError with code outOfSpace naming its key and changes nothing, that every value stored \
                before reads back whole (each carries its serial number, key, length and checksums), that no scratch file \
                (file store) or part of a value once reclaimed (SQLite) is left and `PRAGMA integrity_check` is ok, and \
                that after deleting every other value (and more, until twice the failed value's size is freed) the write \
                that failed succeeds. Where the SQLite store refuses those deletes (see below), room is made beside it: \
                a quarter of the disk held back from the start is freed, and if that is not enough the file system grows.
                """,
            mode: mode.rawValue, command: command("full-disk", mode), started: AreaReport.timestamp(started),
            seconds: Date().timeIntervalSince(started), rows: rows,
            notes: [
                """
                On a full disk the SQLite store cannot delete values to make room: a delete fails with a retryable \
                outOfSpace error (and changes nothing) until there is room outside the database, because SQLite must \
                append the change to its write-ahead log or copy the log into the database file first, and the file \
                grows either way. Freeing a quarter of the disk was often not enough (the log can hold as much as the \
                database grew since the last checkpoint); growing the file system always was. SQLite alone does the \
                same (a database in WAL mode filled with 512 KiB values, a quarter of the disk freed: 1 of 8 deletes \
                done). The file store deletes on a full disk at once.
                """,
                """
                Only ENOSPC is injected, by a real full file system. EIO is not covered: injecting it needs a block \
                device or file system that fails on demand: device-mapper's dm-error or dm-flakey are not available \
                (the kernel offers no device-mapper), and although FUSE is (/dev/fuse), no error-injecting FUSE file \
                system was built for this campaign. So what a store does when a read or write fails with EIO (or a \
                disk goes away under an open file) is not shown here.
                """,
                """
                tmpfs fills page by page with no blocks, journal or reserved space: a disk file system (ext4's \
                reserved blocks, btrfs's metadata chunks) may fail at other points, for example on a directory entry \
                or an fsync, and those points are not exercised.
                """,
            ],
            ok: ok)
        try report.write(to: output)
        return ok
    }
}
