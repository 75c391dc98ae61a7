import Foundation
import Testing
import Trove
import TroveConformance
import TroveTestSupport

/// The whole contract against the bounded memory store and against caching stacks over a file
/// store, each check on a fresh stack.
@Suite("Caching layers: contract conformance")
struct CachingConformanceTests {
    @Test("contract", .timeLimit(.minutes(15)), arguments: CachingFixture.all, ContractCheck.allCases)
    func contract(_ fixture: ConformanceFixture, _ check: ContractCheck) async throws {
        try await fixture.expectConformance(to: check)
    }
}

/// A store or stack of layers the contract is checked against, built fresh for each check with
/// its own `ManualWallClock` (shared by every tier, so that copies expire with the entries).
///
/// A second instance over the same directory (`reopen`) gets caches of its own, as another
/// process would.
enum CachingFixture {
    /// Bounds no check reaches (the largest value is 64 MiB), so nothing is evicted.
    static func largeCache(_ clock: ManualWallClock) -> BoundedMemoryStore {
        BoundedMemoryStore(maximumBytes: 1 << 30, maximumEntries: 1 << 20, clock: clock.wallClock)
    }

    static func file(_ clock: ManualWallClock, _ root: URL?) throws -> FileSystemStore {
        try FileSystemStore(root: try ConformanceFixture.require(root), clock: clock.wallClock)
    }

    static let boundedMemory = ConformanceFixture(name: "bounded memory", usesDirectory: false) { clock, _ in
        largeCache(clock)
    }

    static let tieredMemoryOverFile = ConformanceFixture(name: "file.tiered(below: memory)", usesDirectory: true) { clock, root in
        try file(clock, root).tiered(below: MemoryStore(clock: clock.wallClock))
    }

    static let tieredThreeTiers = ConformanceFixture(name: "file.tiered(below: bounded memory, memory)", usesDirectory: true) { clock, root in
        try file(clock, root).tiered(below: largeCache(clock), MemoryStore(clock: clock.wallClock))
    }

    static let cachedMutable = ConformanceFixture(name: "file.cached(in: bounded memory, mode: .mutable)", usesDirectory: true) { clock, root in
        try file(clock, root).cached(in: largeCache(clock), mode: .mutable)
    }

    static let cachedAppendOnly = ConformanceFixture(name: "file.cached(in: bounded memory, mode: .appendOnly)", usesDirectory: true) { clock, root in
        try file(clock, root).cached(in: largeCache(clock), mode: .appendOnly)
    }

    static let all: [ConformanceFixture] = [boundedMemory, tieredMemoryOverFile, tieredThreeTiers, cachedMutable, cachedAppendOnly]
}
