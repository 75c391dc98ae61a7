import Foundation
import Testing
import Trove

/// The in-memory stores keep their keys sorted incrementally (new keys are merged in at the next
/// listing): interleaved writes, deletes, re-creations, expiry and listings always list exactly
/// the live keys, in byte-wise order, once each.
@Suite("Memory stores list in order under interleaved changes")
struct MemoryListingOrderTests {
    struct Generator {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(bound))
        }
    }

    static let names = (0..<120).map { index in
        ["a", "a/b", "a-c", "a0", "b/", "é", "z"][index % 7] + "x\(index / 7)"
    }.map { $0.hasSuffix("/") ? $0 + "k" : $0 }

    func listed(_ store: some KeyValueStore) async throws -> [String] {
        var names: [String] = []
        for try await element in store.list(.all, pageSize: 17) { names.append(element.name) }
        return names
    }

    func run(on store: some KeyValueStore, clock: ManualWallClock, seed: UInt64) async throws {
        var random = Generator(state: seed)
        var live: [String: Date?] = [:]
        for step in 0..<1500 {
            let name = Self.names[random.next(Self.names.count)]
            let key = try StoreKey(validating: name)
            switch random.next(10) {
            case 0..<5:
                let expires = random.next(4) == 0
                try await store.set(Data(name.utf8), for: key, expiry: expires ? .after(.seconds(5)) : .never)
                live[name] = expires ? clock.now.addingTimeInterval(5) : .some(nil)
            case 5..<8:
                try await store.discard(key)
                live[name] = nil
            case 8:
                clock.advance(by: .seconds(2))
                live = live.filter { $0.value.map { $0 > clock.now } ?? true }
            default:
                _ = try await store.reclaimExpired()
            }
            if step % 25 == 0 {
                let expected = live.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
                #expect(try await listed(store) == expected, "after step \(step)")
            }
        }
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func memoryStore(_ seed: UInt64) async throws {
        let clock = ManualWallClock()
        try await run(on: MemoryStore(clock: clock.wallClock), clock: clock, seed: seed)
    }

    @Test(arguments: [4, 5] as [UInt64])
    func boundedMemoryStore(_ seed: UInt64) async throws {
        let clock = ManualWallClock()
        let store = BoundedMemoryStore(maximumBytes: 1 << 20, maximumEntries: 10_000, clock: clock.wallClock)
        try await run(on: store, clock: clock, seed: seed)
    }
}
