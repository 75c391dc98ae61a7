import Foundation
import Trove
#if canImport(Glibc)
import Glibc
#endif

/// The crash campaign: for each store configuration, a writer process on the same store is
/// started and killed with SIGKILL again and again at seeded random moments, and after each
/// kill the checker opens the store and compares it with what the writer acknowledged.
struct CrashCampaign {
    let mode: RunMode
    let seed: UInt64
    let scratch: URL
    let kills: Int
    /// When a configuration stops even if it has not reached `kills` (a bound on the time).
    let timeBound: Duration
    let configurations: [StoreConfiguration]

    /// What one configuration ran and found.
    struct Tally {
        var kills = 0
        var acknowledged = 0
        var killsInStream = 0
        var streamsCommittedUnacknowledged = 0
        var killsWhileOpening = 0
        var inFlightCommitted = 0
        var scratchLeft = 0
        var orphanPartsLeft = 0
        var torn = 0
        var lost = 0
        var metadata = 0
        var conditions = 0
        var leftovers = 0
        var integrity = 0
        var writerFailures = 0
        var stoppedByTime = false

        var found: Int { torn + lost + metadata + conditions + leftovers + integrity + writerFailures }
    }

    /// One violation, with its evidence, printed at once.
    struct Violation {
        enum Kind { case torn, lost, metadata, condition, leftover, integrity, writer }
        let kind: Kind
        let message: String
    }

    func run() async throws -> [(StoreConfiguration, Tally)] {
        var results: [(StoreConfiguration, Tally)] = []
        for (index, configuration) in configurations.enumerated() {
            let folder = scratch.appendingPathComponent(configuration.rawValue, isDirectory: true)
            try? FileManager.default.removeItem(at: folder)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let tally = try await run(configuration, index: index, in: folder)
            try? FileManager.default.removeItem(at: folder)
            results.append((configuration, tally))
            printError("crash: \(configuration.title): \(tally.kills) kills, \(tally.found) violations")
        }
        return results
    }

    private func run(_ configuration: StoreConfiguration, index: Int, in folder: URL) async throws -> Tally {
        let location = configuration.location(in: folder)
        let executable = ChildProcess.currentExecutable()
        var generator = SeededGenerator(seed: SeededGenerator.derive(seed, UInt64(index)))
        var model = [KeyState](repeating: .absent, count: CrashKeys.all.count)
        var tally = Tally()
        let deadline = ContinuousClock.now + timeBound
        let output = folder.appendingPathComponent("writer.out"), errors = folder.appendingPathComponent("writer.err")
        for kill in 0..<kills {
            if ContinuousClock.now > deadline {
                tally.stoppedByTime = true
                break
            }
            let writerSeed = SeededGenerator.derive(seed, UInt64(index), UInt64(kill))
            let delay = Int.random(in: 5...400, using: &generator)
            let child = try ChildProcess.start(executable, [
                "crash-writer", configuration.rawValue, location.path, String(kill * 1_000_000 + 1), String(writerSeed),
            ], output: output, errors: errors)
            try await Task.sleep(for: .milliseconds(delay))
            let ending = child.endingIfEnded() ?? child.killAndWait()
            tally.kills += 1
            let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
            let stderr = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            let context = "crash: \(configuration.title), kill \(kill + 1) after \(delay) ms (TROVE_RELIABILITY_SEED=\(seed))"

            var violations: [Violation] = []
            if ending != .signalled(SIGKILL) {
                violations.append(Violation(kind: .writer, message: "the writer \(ending) before the kill: \(stderr)"))
            }
            let before = model
            let writer = WriterRun.replay(text, onto: &model)
            violations += writer.problems.map { Violation(kind: $0.contains("condition") ? .condition : .writer, message: $0) }
            tally.acknowledged += writer.acknowledged
            if !writer.opened { tally.killsWhileOpening += 1 }
            if writer.inFlight?.operation.isStream == true { tally.killsInStream += 1 }

            do {
                violations += try await check(configuration, at: location, model: &model, inFlight: writer.inFlight, tally: &tally)
            } catch {
                violations.append(Violation(kind: .integrity, message: "the store could not be checked: \(error)"))
            }
            for violation in violations {
                switch violation.kind {
                case .torn: tally.torn += 1
                case .lost: tally.lost += 1
                case .metadata: tally.metadata += 1
                case .condition: tally.conditions += 1
                case .leftover: tally.leftovers += 1
                case .integrity: tally.integrity += 1
                case .writer: tally.writerFailures += 1
                }
                printError("\(context): \(violation.message)")
            }
            if !violations.isEmpty {
                let changed = CrashKeys.all.indices.filter { before[$0] != model[$0] }
                    .map { "  \(CrashKeys.all[$0]): \(before[$0]) before this run" }
                printError("\(context): the writer's last lines:\n  " + writer.lastLines.joined(separator: "\n  ")
                           + (stderr.isEmpty ? "" : "\n  its standard error: \(stderr)")
                           + (changed.isEmpty ? "" : "\n" + changed.joined(separator: "\n")))
            }
            // Enough evidence: the rest of the campaign would only repeat it.
            if tally.found >= 10 { break }
        }
        return tally
    }

    /// Opens the store the killed writer left and checks it against `model`: every value whole
    /// and the key's own, every key holding its last acknowledged state (or, for the key of the
    /// operation in flight, the state after it), metadata agreeing with values, listing showing
    /// exactly the keys held, and no leftovers once reclaimed. Updates `model` to what the store
    /// holds (the operation in flight may have taken effect).
    private func check(
        _ configuration: StoreConfiguration, at location: URL, model: inout [KeyState], inFlight: BegunOperation?,
        tally: inout Tally
    ) async throws -> [Violation] {
        var violations: [Violation] = []
        let inFlightWrite = inFlight.map { $0.operation.isWrite } ?? false
        if configuration.isSQLite {
            if FileManager.default.fileExists(atPath: location.path) {
                let raw = try RawDatabase(location)
                let integrity = try raw.integrityCheck()
                if integrity != ["ok"] {
                    violations.append(Violation(kind: .integrity, message: "integrity_check of the killed writer's database: \(integrity.prefix(5))"))
                }
                let orphans = try raw.orphanParts()
                tally.orphanPartsLeft += orphans
                if orphans > 0 && inFlight?.operation.isStream != true {
                    violations.append(Violation(kind: .leftover, message: """
                        \(orphans) parts belong to no value, though no streamed write was in flight \
                        (\(inFlight?.line ?? "no operation in flight"))
                        """))
                }
            }
        } else {
            let scratch = scratchFiles(ofFileStoreAt: location)
            tally.scratchLeft += scratch.count
            if scratch.count > (inFlightWrite ? 1 : 0) {
                violations.append(Violation(kind: .leftover, message: """
                    \(scratch.count) scratch files in .trove/tmp (\(scratch.prefix(4).joined(separator: ", "))), but only \
                    a write in flight may leave one (\(inFlight?.line ?? "no operation in flight"))
                    """))
            }
        }

        // A day later: what reclaiming takes for abandoned (scratch files of killed writers,
        // parts of unfinished streams) is old enough to go.
        var present: Set<StoreKey> = []
        do {
            let store = try await configuration.open(location, clock: clockAhead(by: 25 * 3600))
            for (index, key) in CrashKeys.all.enumerated() {
                let expected = model[index]
                let found: KeyState
                if let entry = try await store.read(key) {
                    present.insert(key)
                    switch SelfDescribingValue.verify(entry.value, key: key) {
                    case .torn(let reason):
                        violations.append(Violation(kind: .torn, message: "\(key) holds a torn value: \(reason); it must hold \(expected)"))
                        // Present, as the writer will find it, but no write's value.
                        model[index] = .present(serial: -1, size: Int64(entry.value.count), etag: entry.metadata.etag.rawValue)
                        continue
                    case .whole(let serial, _):
                        found = .present(serial: serial, size: Int64(entry.value.count), etag: entry.metadata.etag.rawValue)
                    }
                    if entry.metadata.size != Int64(entry.value.count) {
                        violations.append(Violation(kind: .metadata, message: "\(key): the metadata says \(entry.metadata.size) bytes, the value has \(entry.value.count)"))
                    }
                    let metadata = try await store.metadata(for: key)
                    if metadata?.size != entry.metadata.size || metadata?.etag != entry.metadata.etag {
                        violations.append(Violation(kind: .metadata, message: """
                            \(key): metadata(for:) says \(metadata.map { "\($0.size) bytes, ETag \($0.etag)" } ?? "nothing"), \
                            read says \(entry.metadata.size) bytes, ETag \(entry.metadata.etag)
                            """))
                    }
                } else {
                    found = .absent
                    if try await store.metadata(for: key) != nil {
                        violations.append(Violation(kind: .metadata, message: "\(key): read finds nothing but metadata(for:) finds an entry"))
                    }
                }
                if found == expected {
                    continue
                }
                if let inFlight, inFlight.keyIndex == index, let after = inFlight.after(etag: nil), Self.matches(found, after) {
                    // The operation in flight took effect before the kill: its new state is the
                    // one to keep from now on.
                    tally.inFlightCommitted += 1
                    if inFlight.operation.isStream { tally.streamsCommittedUnacknowledged += 1 }
                    model[index] = found
                    continue
                }
                if case .present(let serial, let size, _) = found, case .present(serial, size, _) = expected {
                    violations.append(Violation(kind: .metadata, message: "\(key) holds \(found): its ETag changed without a write; it must be \(expected)"))
                } else {
                    let allowed = inFlight.flatMap { $0.keyIndex == index ? " (or what \($0.line) leaves)" : nil } ?? ""
                    violations.append(Violation(kind: .lost, message: """
                        lost acknowledged write: \(key) must hold \(expected)\(allowed), found \(found)
                        """))
                }
                model[index] = found
            }
            var listed: Set<StoreKey> = []
            for try await element in store.list() {
                if let key = element.key { listed.insert(key) }
            }
            if listed != present {
                violations.append(Violation(kind: .metadata, message: """
                    listing shows \(listed.count) keys, reads find \(present.count): \
                    listed only \(listed.subtracting(present).map(\.rawValue).sorted()), read only \(present.subtracting(listed).map(\.rawValue).sorted())
                    """))
            }
            let reclaimed = try await store.reclaimExpired()
            if reclaimed != 0 {
                violations.append(Violation(kind: .metadata, message: "reclaimExpired() deleted \(reclaimed) entries, but no write had an expiry"))
            }
        }

        if configuration.isSQLite {
            let raw = try RawDatabase(location)
            let orphans = try raw.orphanParts()
            if orphans > 0 {
                violations.append(Violation(kind: .leftover, message: "\(orphans) parts belong to no value after reclaimExpired() a day later"))
            }
            let integrity = try raw.integrityCheck()
            if integrity != ["ok"] {
                violations.append(Violation(kind: .integrity, message: "integrity_check after the check: \(integrity.prefix(5))"))
            }
        } else {
            let scratch = scratchFiles(ofFileStoreAt: location)
            if !scratch.isEmpty {
                violations.append(Violation(kind: .leftover, message: "\(scratch.count) scratch files are left after reclaimExpired() a day later: \(scratch.prefix(4))"))
            }
            let files = valueFiles(ofFileStoreAt: location)
            if files.count != present.count {
                violations.append(Violation(kind: .leftover, message: "the tree holds \(files.count) files for \(present.count) values: \(files.prefix(30))"))
            }
        }
        return violations
    }

    /// Whether `found` is the state `after` describes (whose ETag is unknown).
    private static func matches(_ found: KeyState, _ after: KeyState) -> Bool {
        switch (found, after) {
        case (.absent, .absent): true
        case (.present(let serial, let size, _), .present(let expectedSerial, let expectedSize, _)): serial == expectedSerial && size == expectedSize
        default: false
        }
    }
}
