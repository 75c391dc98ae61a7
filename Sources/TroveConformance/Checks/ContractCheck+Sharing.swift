import Foundation
import Trove

extension ContractCheck {
    /// Two instances of a store over the same data (``ConformanceEnvironment/reopen``) see each
    /// other's writes and deletes, report the same ETags and listings, and keep conditions across
    /// each other: a stale ETag from one fails on the other, racing `ifAbsent` writes have one
    /// winner, and compare-and-swap increments from both are never lost.
    ///
    /// Required of stores that claim `StoreCapabilities.sharedAcrossProcesses`. A store that
    /// only claims `StoreCapabilities.persistence` is checked for visibility through a second
    /// instance when the environment can open one. A store that claims neither keeps nothing
    /// beyond its instance, so there is nothing to check.
    public static let sharedAcrossInstances = ContractCheck(
        "sharedAcrossInstances",
        "two instances over the same data see each other's writes and keep conditions between them"
    ) { try await SharingChecks.sharedAcrossInstances($0) }
}

/// The bodies of the sharing checks.
enum SharingChecks {
    static func sharedAcrossInstances(_ c: CheckContext) async throws {
        let shared = c.capabilities.contains(.sharedAcrossProcesses)
        guard shared || c.capabilities.contains(.persistence) else {
            try c.skip("the store is neither persistent nor shared across processes, so there is no second instance to compare")
        }
        guard let reopen = c.environment.reopen else {
            if shared {
                throw c.failure("a store that claims sharedAcrossProcesses needs ConformanceEnvironment.reopen to be checked",
                                expected: "a reopen closure", got: "nil")
            }
            try c.skip("the environment cannot open a second instance (ConformanceEnvironment.reopen is nil)")
        }
        let other = try await reopen()
        let key: StoreKey = "shared/entry"
        let written = try await c.store.set(CheckContext.bytes("from the first"), for: key)
        let seen = try await other.read(key)
        try c.expectValue(seen?.value, CheckContext.bytes("from the first"), "a second instance must see the first's write", key: key)
        try c.expectEqual(seen?.metadata.etag, written.etag, "two instances must report the same ETag for the same version", key: key)
        guard shared else { return }

        let secondWrite = try await other.set(CheckContext.bytes("from the second"), for: key)
        try c.expectValue(try await c.store.read(key)?.value, CheckContext.bytes("from the second"),
                          "the first instance must see the second's write", key: key)
        try c.expectEqual(try await c.store.metadata(for: key)?.etag, secondWrite.etag, "ETag of the second instance's write", key: key)
        try c.expectEqual(try await c.with(store: other).names(.all), try await c.names(.all), "two instances must list the same keys")

        if c.capabilities.contains(.conditionalWrites) {
            try await c.expectError(.conditionFailed, "an ETag made stale by the other instance must fail", key: key) {
                try await c.store.set(CheckContext.bytes("stale"), for: key, condition: .ifMatches(written.etag))
            }
            try await c.expectError(.conditionFailed, "ifAbsent must see a value written by the other instance", key: key) {
                try await c.store.set(CheckContext.bytes("late"), for: key, condition: .ifAbsent)
            }

            let stores = [c.store, other]
            let raceKey: StoreKey = "shared/race"
            let winners = try await withThrowingTaskGroup(of: Int?.self) { group in
                for racer in 0..<8 {
                    group.addTask {
                        do {
                            try await stores[racer % 2].set(CheckContext.bytes("racer \(racer)"), for: raceKey, condition: .ifAbsent)
                            return racer
                        } catch let error as StoreError where error.code == .conditionFailed {
                            return nil
                        }
                    }
                }
                var winners: [Int] = []
                for try await winner in group { if let winner { winners.append(winner) } }
                return winners
            }
            try c.expectEqual(winners.count, 1, "exactly one of 8 ifAbsent writes racing across two instances must succeed", key: raceKey)

            let counter: StoreKey = "shared/counter"
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<8 {
                    group.addTask {
                        for _ in 0..<25 { try await ConcurrencyChecks.increment(counter, in: stores[task % 2], c) }
                    }
                }
                try await group.waitForAll()
            }
            try c.expectValue(try await other.read(counter)?.value, CheckContext.bytes("200"),
                              "compare-and-swap increments from two instances must give exactly 200", key: counter)
        }

        try c.expect(try await other.delete(key), "the second instance must be able to delete the first's key", key: key)
        try c.expect(try await c.store.read(key) == nil, "the first instance still sees a value the second deleted", key: key)
    }
}
