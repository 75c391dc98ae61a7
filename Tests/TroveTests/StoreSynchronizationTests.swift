import Foundation
import Testing
@testable import Trove
import TroveSQLite
import TroveTestSupport

/// Copying, comparing and synchronizing between memory, file and SQLite stores, on a fixture
/// with a key that is also a prefix (`a` and `a/b`), an empty value, a multi-MiB value and an
/// expiring entry.
@Suite("copy, compare and synchronize between stores")
struct StoreSynchronizationTests {
    /// A kind of store the tests open fresh in a scratch directory.
    enum Kind: String, CaseIterable, CustomTestStringConvertible, Sendable {
        case memory, file, sqlite

        var testDescription: String { rawValue }

        func open(in directory: URL, named name: String) async throws -> any KeyValueStore {
            switch self {
            case .memory: return MemoryStore(name: name)
            case .file: return try FileSystemStore(root: directory.appendingPathComponent(name, isDirectory: true))
            case .sqlite: return try await SQLiteStore(path: directory.appendingPathComponent("\(name).db"))
            }
        }
    }

    /// Every ordered pair of different kinds, and each kind with itself (two separate stores).
    static let pairs: [(Kind, Kind)] = Kind.allCases.flatMap { source in Kind.allCases.map { (source, $0) } }

    /// The big value: 3 MiB and 17 bytes, so it spans several chunks and ends mid-chunk.
    static let big = patternedBytes(3 << 20 + 17, seed: 7)
    /// The expiry of `soon`: an hour from the start of the test run, to the millisecond.
    static let expiry = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 * 1000).rounded() / 1000 + 3600)

    /// The fixture: key → value.
    static let fixture: [(StoreKey, Data)] = [
        ("a", Data("one".utf8)),
        ("a/b", Data("two".utf8)),
        ("a/b/c", Data("three".utf8)),
        ("empty", Data()),
        ("big", big),
        ("soon", Data("expires".utf8)),
    ]

    static func fill(_ store: some KeyValueStore) async throws {
        for (key, value) in fixture {
            try await store.set(value, for: key, expiry: key == "soon" ? .at(expiry) : .never)
        }
    }

    /// Every key of `store` with its value and expiry.
    static func contents(of store: some KeyValueStore) async throws -> [StoreKey: (Data, Date?)] {
        var contents: [StoreKey: (Data, Date?)] = [:]
        for try await element in store.list(ListQuery.all) {
            guard let key = element.key, let entry = try await store.read(key) else { continue }
            contents[key] = (entry.value, entry.metadata.expirationDate)
        }
        return contents
    }

    @Test("copy, then compare key by key and value by value", arguments: pairs)
    func copyThenCompare(_ kinds: (Kind, Kind)) async throws {
        try await withScratchDirectory("trove-sync") { directory in
            let source = try await kinds.0.open(in: directory, named: "source")
            let destination = try await kinds.1.open(in: directory, named: "destination")
            try await Self.fill(source)

            let report = try await source.copy(to: destination, concurrency: 3)
            #expect(report.copied == Self.fixture.count)
            #expect(report.bytes == Int64(Self.fixture.reduce(0) { $0 + $1.1.count }))

            let copied = try await Self.contents(of: destination)
            #expect(Set(copied.keys) == Set(Self.fixture.map(\.0)))
            for (key, value) in Self.fixture {
                let (bytes, expiration) = try #require(copied[key], "\(key) was not copied")
                #expect(bytes == value, "\(key) holds other bytes")
                if key == "soon" {
                    let kept = try #require(expiration, "the expiry of \(key) was not kept")
                    #expect(abs(kept.timeIntervalSince(Self.expiry)) < 0.002, "\(kept) is not \(Self.expiry)")
                } else {
                    #expect(expiration == nil, "\(key) got an expiry")
                }
            }

            let bySize = try await source.compare(with: destination)
            #expect(bySize.isIdentical, "\(bySize.differences)")
            #expect(bySize.matchingCount == Self.fixture.count)
            #expect(bySize.sourceCount == Self.fixture.count && bySize.destinationCount == Self.fixture.count)
            #expect(bySize.contentBytesCompared == 0)

            let byContent = try await source.compare(with: destination, byContent: true, concurrency: 2)
            #expect(byContent.isIdentical, "\(byContent.differences)")
            #expect(byContent.matchingCount == Self.fixture.count)
            #expect(byContent.contentBytesCompared == report.bytes)
        }
    }

    @Test("compare finds keys only on one side, sizes that differ, and with byContent bytes that differ",
          arguments: [(Kind.memory, Kind.file), (.file, .sqlite), (.sqlite, .memory)])
    func compareFindsDifferences(_ kinds: (Kind, Kind)) async throws {
        try await withScratchDirectory("trove-sync") { directory in
            let source = try await kinds.0.open(in: directory, named: "source")
            let destination = try await kinds.1.open(in: directory, named: "destination")
            try await Self.fill(source)
            try await source.copy(to: destination)

            var changedBig = Self.big
            changedBig[changedBig.count - 1] ^= 0xFF
            try await destination.set(changedBig, for: "big")             // same size, other last byte
            try await destination.set(Data("ONE".utf8), for: "a")          // same size, other bytes
            try await destination.set(Data("twenty".utf8), for: "a/b")     // other size
            try await destination.delete("empty")
            try await destination.set(Data("x".utf8), for: "zz/extra")
            try await destination.set(Data(), for: "0")

            let bySize = try await source.compare(with: destination)
            #expect(bySize.onlyInSource == ["empty"])
            #expect(bySize.onlyInDestination == ["0", "zz/extra"])
            #expect(bySize.differing == ["a/b"])
            #expect(bySize.matchingCount == 4)
            #expect(!bySize.isIdentical)
            #expect(bySize.differences.map(\.key) == ["0", "a/b", "empty", "zz/extra"])
            let sizes = try #require(bySize.differences.first { $0.key == "a/b" })
            #expect(sizes.sourceSize == 3 && sizes.destinationSize == 6)

            let byContent = try await source.compare(with: destination, byContent: true, concurrency: 4, chunkSize: 4096)
            #expect(byContent.differing == ["a", "a/b", "big"])
            #expect(byContent.onlyInSource == ["empty"])
            #expect(byContent.onlyInDestination == ["0", "zz/extra"])
            #expect(byContent.matchingCount == 2)

            let underPrefix = try await source.compare(with: destination, withPrefix: "a/", byContent: true)
            #expect(underPrefix.differences.map(\.key) == ["a/b"])
            #expect(underPrefix.matchingCount == 1)
        }
    }

    @Test("byte comparison does not depend on how either side is cut into chunks")
    func byteComparisonAcrossChunkings() async throws {
        let value = patternedBytes(10_000, seed: 3)
        for (left, right) in [(1, 10_000), (7, 13), (4096, 1000), (10_000, 10_000)] {
            let (equal, read) = try await MemoryStore.bytesAreEqual(
                ValueChunks(chunksOf: value, chunkSize: left), ValueChunks(chunksOf: value, chunkSize: right))
            #expect(equal && read == 10_000, "chunks of \(left) and \(right)")
        }
        var other = value
        other[9_999] ^= 1
        let (lastByte, _) = try await MemoryStore.bytesAreEqual(
            ValueChunks(chunksOf: value, chunkSize: 7), ValueChunks(chunksOf: other, chunkSize: 13))
        #expect(!lastByte)
        let (shorter, _) = try await MemoryStore.bytesAreEqual(
            ValueChunks(chunksOf: value, chunkSize: 64), ValueChunks(chunksOf: value.prefix(9_999), chunkSize: 64))
        #expect(!shorter)
        let (empty, emptyRead) = try await MemoryStore.bytesAreEqual(
            ValueChunks(chunksOf: Data(), chunkSize: 64), ValueChunks(chunksOf: Data(), chunkSize: 1))
        #expect(empty && emptyRead == 0)
    }

    @Test("synchronize copies what is missing or differs, deletes extras, and a second run does nothing",
          arguments: [(Kind.memory, Kind.sqlite), (.sqlite, .file), (.file, .memory)])
    func synchronizeDeletesExtras(_ kinds: (Kind, Kind)) async throws {
        try await withScratchDirectory("trove-sync") { directory in
            let source = try await kinds.0.open(in: directory, named: "source")
            let destination = try await kinds.1.open(in: directory, named: "destination")
            try await Self.fill(source)
            try await destination.set(Data("stale, longer".utf8), for: "a")
            try await destination.set(Data("ONE".utf8), for: "a/b/c")   // 3 bytes where the source has 5
            try await destination.set(Data("two".utf8), for: "a/b")     // equal already
            try await destination.set(Data("x".utf8), for: "x/1")
            try await destination.set(Data("y".utf8), for: "x/2")
            try await destination.set(Data(), for: "a/b/c/d")

            var steps: [SynchronizationStep] = []
            let report = try await source.synchronize(to: destination, concurrency: 2) { steps.append($0) }
            #expect(report.copied == 5)   // a, a/b/c, big, empty, soon
            #expect(report.unchanged == 1)
            #expect(report.deleted == 3)
            #expect(!report.isDryRun)
            #expect(report.bytes == Int64(3 + 5 + Self.big.count + 0 + 7))
            #expect(Set(steps.filter { $0.action == .copy }.map(\.key)) == ["a", "a/b/c", "big", "empty", "soon"])
            #expect(steps.filter { $0.action == .delete }.map(\.key) == ["a/b/c/d", "x/1", "x/2"])
            #expect(steps.allSatisfy { !$0.isPlanned })

            let after = try await source.compare(with: destination, byContent: true)
            #expect(after.isIdentical, "\(after.differences)")
            let copied = try await Self.contents(of: destination)
            #expect(copied.count == Self.fixture.count)
            #expect(copied["soon"]?.1 != nil)

            let again = try await source.synchronize(to: destination, byContent: true)
            #expect(again.copied == 0 && again.deleted == 0 && again.unchanged == Self.fixture.count)
        }
    }

    @Test("synchronize with byContent replaces values changed to others of the same size; without it keeps them")
    func synchronizeByContent() async throws {
        let source = MemoryStore(name: "source"), destination = MemoryStore(name: "destination")
        try await source.set(Data("abc".utf8), for: "k")
        try await destination.set(Data("xyz".utf8), for: "k")
        let bySize = try await source.synchronize(to: destination)
        #expect(bySize.copied == 0 && bySize.unchanged == 1)
        #expect(try await destination["k"] == Data("xyz".utf8))
        let byContent = try await source.synchronize(to: destination, byContent: true)
        #expect(byContent.copied == 1 && byContent.bytes == 3)
        #expect(try await destination["k"] == Data("abc".utf8))
    }

    @Test("without byContent, a source value changed after its copy is copied again though its size is the same")
    func synchronizeCopiesNewerValuesOfTheSameSize() async throws {
        let clock = ManualWallClock()
        let source = MemoryStore(name: "source", clock: clock.wallClock)
        let destination = MemoryStore(name: "destination", clock: clock.wallClock)
        try await source.set(Data("abc".utf8), for: "k")
        try await source.set(Data("old".utf8), for: "kept")
        clock.advance(by: .seconds(1))
        #expect(try await source.synchronize(to: destination).copied == 2)
        clock.advance(by: .seconds(1))
        try await source.set(Data("xyz".utf8), for: "k")   // same size, written after the copy
        let again = try await source.synchronize(to: destination)
        #expect(again.copied == 1 && again.unchanged == 1)
        #expect(try await destination["k"] == Data("xyz".utf8))
        // A destination value written after the source's (by another tool, say) looks up to
        // date by its time: only byContent sees that it differs.
        clock.advance(by: .seconds(1))
        try await destination.set(Data("new".utf8), for: "kept")
        #expect(try await source.synchronize(to: destination).copied == 0)
        #expect(try await source.synchronize(to: destination, byContent: true).copied == 1)
        #expect(try await destination["kept"] == Data("old".utf8))
    }

    @Test("more extras than maximumDeletes: limitExceeded, nothing deleted; at the limit they go")
    func maximumDeletesGuard() async throws {
        try await withScratchDirectory("trove-sync") { directory in
            let source = try await Kind.sqlite.open(in: directory, named: "source")
            let destination = try await Kind.file.open(in: directory, named: "destination")
            try await Self.fill(source)
            for name in ["x/1", "x/2", "x/3"] { try await destination.set(Data(name.utf8), for: StoreKey(validating: name)) }

            let error = try await expectStoreError(.limitExceeded) {
                try await source.synchronize(to: destination, maximumDeletes: 2)
            }
            #expect(error.operation == .synchronize)
            #expect(error.message.contains("3") && error.message.contains("2"))
            for name in ["x/1", "x/2", "x/3"] {
                #expect(try await destination.contains(StoreKey(validating: name)), "\(name) was deleted")
            }
            // The copies were made before the limit was found; they are kept.
            #expect(try await destination["big"] == Self.big)

            let dryError = try await expectStoreError(.limitExceeded) {
                try await source.synchronize(to: destination, maximumDeletes: 0, dryRun: true)
            }
            #expect(dryError.code == .limitExceeded)

            let report = try await source.synchronize(to: destination, maximumDeletes: 3)
            #expect(report.deleted == 3)
            #expect(try await source.compare(with: destination).isIdentical)

            try await expectStoreError(.invalidArgument) {
                try await source.synchronize(to: destination, maximumDeletes: -1)
            }
        }
    }

    @Test("a dry run reports the plan and writes nothing", arguments: [(Kind.file, Kind.sqlite), (.sqlite, .file)])
    func dryRunWritesNothing(_ kinds: (Kind, Kind)) async throws {
        try await withScratchDirectory("trove-sync") { directory in
            let source = try await kinds.0.open(in: directory, named: "source")
            let destination = try await kinds.1.open(in: directory, named: "destination")
            try await Self.fill(source)
            try await destination.set(Data("ONE".utf8), for: "a")          // same size: changed only by content
            try await destination.set(Data("x".utf8), for: "x/1")
            var before: [StoreKey: ETag] = [:]
            for try await element in destination.list(try ListQuery(includesMetadata: true)) {
                if let metadata = element.metadata { before[metadata.key] = metadata.etag }
            }

            var steps: [SynchronizationStep] = []
            let plan = try await source.synchronize(to: destination, byContent: true, dryRun: true) { steps.append($0) }
            #expect(plan.isDryRun)
            #expect(plan.copied == Self.fixture.count)
            #expect(plan.deleted == 1)
            #expect(steps.allSatisfy { $0.isPlanned })
            #expect(Set(steps.filter { $0.action == .copy }.map(\.key)) == Set(Self.fixture.map(\.0)))
            #expect(steps.filter { $0.action == .delete }.map(\.key) == ["x/1"])

            var after: [StoreKey: ETag] = [:]
            for try await element in destination.list(try ListQuery(includesMetadata: true)) {
                if let metadata = element.metadata { after[metadata.key] = metadata.etag }
            }
            #expect(after == before)
        }
    }

    @Test("synchronize under a prefix leaves keys outside it alone")
    func synchronizeUnderPrefix() async throws {
        let source = MemoryStore(name: "source"), destination = MemoryStore(name: "destination")
        try await Self.fill(source)
        try await destination.set(Data("mine".utf8), for: "b")
        try await destination.set(Data("extra".utf8), for: "a/z")
        let report = try await source.synchronize(to: destination, withPrefix: "a/")
        #expect(report.copied == 2 && report.deleted == 1)
        var keys: [StoreKey] = []
        for try await key in try destination.keys() { keys.append(key) }
        #expect(keys == ["a/b", "a/b/c", "b"])
    }

    @Test("synchronize over several listing pages, writing into the destination while listing it",
          arguments: [(Kind.file, Kind.file), (.sqlite, .file), (.file, .sqlite)])
    func synchronizeAcrossPages(_ kinds: (Kind, Kind)) async throws {
        try await withScratchDirectory("trove-sync") { directory in
            let source = try await kinds.0.open(in: directory, named: "source")
            let destination = try await kinds.1.open(in: directory, named: "destination")
            let names = (0..<2500).map { String(format: "k/%04d", $0) }
            try await source.writeBatch(names.map { BatchWrite(try StoreKey(validating: $0), Data($0.utf8)) })
                .forEach { _ = try $0.get() }
            // The destination holds every third key, a third of those with other sizes, and extras
            // between the source's keys.
            var writes: [BatchWrite] = []
            for (index, name) in names.enumerated() where index % 3 == 0 {
                writes.append(BatchWrite(try StoreKey(validating: name), Data((index % 9 == 0 ? name + "!" : name).utf8)))
                writes.append(BatchWrite(try StoreKey(validating: name + "x"), Data("extra".utf8)))
            }
            try await destination.writeBatch(writes).forEach { _ = try $0.get() }

            let report = try await source.synchronize(to: destination, concurrency: 4)
            #expect(report.copied == 2500 - 834 + 278)
            #expect(report.unchanged == 834 - 278)
            #expect(report.deleted == 834)
            let after = try await source.compare(with: destination, byContent: true)
            #expect(after.isIdentical, "\(after.differences.prefix(5))")
            #expect(after.matchingCount == 2500)
        }
    }

    @Test("a copy that fails stops the synchronization before any deletion")
    func failedCopyDeletesNothing() async throws {
        let source = MemoryStore(name: "source")
        try await Self.fill(source)
        let backing = MemoryStore(name: "destination")
        try await backing.set(Data("x".utf8), for: "x/1")
        let destination = backing.limited(valueSize: 1 << 20)   // refuses the 3 MiB value
        let error = try await expectStoreError(.valueTooLarge) {
            try await source.synchronize(to: destination, concurrency: 1)
        }
        #expect(error.key == "big")
        #expect(try await backing.contains("x/1"), "an extra was deleted although a copy failed")
    }
}
