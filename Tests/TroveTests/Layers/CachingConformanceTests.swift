import Foundation
import Testing
import Trove
import TroveConformance
import TroveTestSupport

/// The whole contract against the bounded memory store and against caching stacks over a file
/// store, each check on a fresh stack.
@Suite("Caching layers: contract conformance")
struct CachingConformanceTests {
    @Test("contract", .timeLimit(.minutes(5)), arguments: CachingFixture.all, ContractCheck.allCases)
    func contract(_ fixture: CachingFixture, _ check: ContractCheck) async throws {
        try await fixture.withFreshStore { store, environment in
            try await expectConformance(check, of: store, environment: environment)
        }
    }
}

/// A store or stack of layers the contract is checked against, built fresh for each check with
/// its own `ManualWallClock` (shared by every tier, so that copies expire with the entries).
struct CachingFixture: Sendable, CustomStringConvertible {
    let name: String
    let usesDirectory: Bool
    private let open: @Sendable (_ clock: ManualWallClock, _ root: URL?) throws -> any KeyValueStore

    var description: String { name }

    /// Bounds no check reaches (the largest value is 64 MiB), so nothing is evicted.
    static func largeCache(_ clock: ManualWallClock) -> BoundedMemoryStore {
        BoundedMemoryStore(maximumBytes: 1 << 30, maximumEntries: 1 << 20, clock: clock.wallClock)
    }

    static func file(_ clock: ManualWallClock, _ root: URL?) throws -> FileSystemStore {
        guard let root else { throw StoreFixtureError("a file fixture was opened without a directory") }
        return try FileSystemStore(root: root, clock: clock.wallClock)
    }

    static let boundedMemory = CachingFixture(name: "bounded memory", usesDirectory: false) { clock, _ in
        largeCache(clock)
    }

    static let tieredMemoryOverFile = CachingFixture(name: "file.tiered(below: memory)", usesDirectory: true) { clock, root in
        try file(clock, root).tiered(below: MemoryStore(clock: clock.wallClock))
    }

    static let tieredThreeTiers = CachingFixture(name: "file.tiered(below: bounded memory, memory)", usesDirectory: true) { clock, root in
        try file(clock, root).tiered(below: largeCache(clock), MemoryStore(clock: clock.wallClock))
    }

    static let cachedMutable = CachingFixture(name: "file.cached(in: bounded memory, mode: .mutable)", usesDirectory: true) { clock, root in
        try file(clock, root).cached(in: largeCache(clock), mode: .mutable)
    }

    static let cachedAppendOnly = CachingFixture(name: "file.cached(in: bounded memory, mode: .appendOnly)", usesDirectory: true) { clock, root in
        try file(clock, root).cached(in: largeCache(clock), mode: .appendOnly)
    }

    static let all: [CachingFixture] = [.boundedMemory, .tieredMemoryOverFile, .tieredThreeTiers, .cachedMutable, .cachedAppendOnly]

    /// Runs `body` with a fresh, empty stack and its environment; a second instance over the
    /// same directory (`reopen`) gets caches of its own, as another process would.
    func withFreshStore(_ body: (any KeyValueStore, ConformanceEnvironment) async throws -> Void) async throws {
        let clock = ManualWallClock()
        guard usesDirectory else {
            try await body(try open(clock, nil), ConformanceEnvironment(clock: clock))
            return
        }
        let open = self.open
        try await ConformanceEnvironment.withStoreInTemporaryDirectory(clock: clock, open: { root in try open(clock, root) }, body)
    }
}
