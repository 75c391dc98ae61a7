import Foundation
import Trove

extension ContractCheck {
    /// 8 tasks each doing 100 compare-and-swap increments of one decimal counter through
    /// `update` end with exactly 800: no increment is lost or applied twice.
    ///
    /// Without `StoreCapabilities.conditionalWrites`, `update` must throw
    /// `StoreError.Code.notSupported`.
    public static let concurrentCompareAndSwap = ContractCheck(
        "concurrentCompareAndSwap",
        "8 tasks x 100 compare-and-swap increments through update give exactly 800"
    ) { try await ConcurrencyChecks.concurrentCompareAndSwap($0) }

    /// 8 tasks racing to create the same key with `WriteCondition.ifAbsent`: exactly one
    /// wins, the others get `StoreError.Code.conditionFailed`, and the winner's value stays.
    public static let concurrentCreateIfAbsent = ContractCheck(
        "concurrentCreateIfAbsent",
        "of 8 tasks creating one key with ifAbsent, exactly one wins"
    ) { try await ConcurrencyChecks.concurrentCreateIfAbsent($0) }

    /// While one task overwrites a key with two values of different sizes, concurrent whole and
    /// streamed reads always see one of the two whole, never a mix, a truncation or nothing.
    ///
    /// Under a value size limit (``ConformanceEnvironment/maximumValueSize``) the large values
    /// shrink to fit, and the sizes the check would have used must be refused with
    /// `StoreError.Code.valueTooLarge`, changing nothing.
    public static let readersNeverSeeTornValues = ContractCheck(
        "readersNeverSeeTornValues",
        "readers during overwrites see the old or the new value, never a torn one"
    ) { try await ConcurrencyChecks.readersNeverSeeTornValues($0) }
}

/// The bodies of the concurrency checks.
enum ConcurrencyChecks {
    /// Adds one to the decimal counter under `key` by compare-and-swap.
    static func increment(_ key: StoreKey, in store: any KeyValueStore, _ c: CheckContext) async throws {
        let outcome = try await store.update(key) { current in
            guard let current else { return .set(CheckContext.bytes("1")) }
            guard let count = Int(String(decoding: current, as: UTF8.self)) else {
                throw c.failure("the counter holds bytes that no increment wrote", key: key, got: describe(current))
            }
            return .set(CheckContext.bytes(String(count + 1)))
        }
        guard case .stored = outcome else {
            throw c.failure("an increment through update did not store", key: key, expected: ".stored", got: "\(outcome)")
        }
    }

    static func concurrentCompareAndSwap(_ c: CheckContext) async throws {
        let key: StoreKey = "cas/counter"
        guard c.capabilities.contains(.conditionalWrites) else {
            try await c.expectError(.notSupported, "update on a store without conditionalWrites must throw notSupported", key: key) {
                try await increment(key, in: c.store, c)
            }
            return
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    for _ in 0..<100 { try await increment(key, in: c.store, c) }
                }
            }
            try await group.waitForAll()
        }
        try c.expectValue(try await c.store.read(key)?.value, CheckContext.bytes("800"),
                          "8 x 100 concurrent compare-and-swap increments must give exactly 800", key: key)
    }

    static func concurrentCreateIfAbsent(_ c: CheckContext) async throws {
        guard c.capabilities.contains(.conditionalWrites) else {
            try await c.expectError(.notSupported, "a store without conditionalWrites must refuse ifAbsent", key: "race/0") {
                try await c.store.set(CheckContext.bytes("racer"), for: "race/0", condition: .ifAbsent)
            }
            return
        }
        for round in 0..<10 {
            let key = try c.key("race/\(round)")
            let winners = try await withThrowingTaskGroup(of: Int?.self) { group in
                for racer in 0..<8 {
                    group.addTask {
                        do {
                            try await c.store.set(CheckContext.bytes("racer \(racer)"), for: key, condition: .ifAbsent)
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
            try c.expectEqual(winners.count, 1, "exactly one of 8 racing ifAbsent writes must succeed", key: key)
            try c.expectValue(try await c.store.read(key)?.value, CheckContext.bytes("racer \(winners[0])"),
                              "the winner's value must stay", key: key)
        }
    }

    static func readersNeverSeeTornValues(_ c: CheckContext) async throws {
        let key: StoreKey = "torn/value"
        let first = Data(repeating: 0xAA, count: c.valueSize(256 << 10))
        let second = Data(repeating: 0xBB, count: first.count * 3 / 8)
        try await c.store.set(first, for: key)
        // With a value size limit below 256 KiB, the values were shrunk; 256 KiB are refused.
        try await c.expectRefusedIfTooLarge(size: 256 << 10, key: key)

        func judge(_ value: Data?, size: Int64?, _ how: String) throws(ConformanceFailure) {
            guard let value else { throw c.failure("\(how) during overwrites found no value", key: key) }
            try c.expect(value == first || value == second, "\(how) during overwrites saw a torn value", key: key,
                         expected: "\(first.count) bytes of 0xAA or \(second.count) bytes of 0xBB", got: describe(value))
            if let size {
                try c.expectEqual(size, Int64(value.count), "\(how) reported a size that does not match its bytes", key: key)
            }
        }

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for round in 0..<40 {
                    try await c.store.set(round.isMultiple(of: 2) ? second : first, for: key)
                    await Task.yield()
                }
            }
            for reader in 0..<3 {
                group.addTask {
                    for round in 0..<60 {
                        if (round + reader).isMultiple(of: 2) {
                            let entry = try await c.store.read(key)
                            try judge(entry?.value, size: entry?.metadata.size, "a read")
                        } else {
                            guard let stream = try await c.store.readStream(key, chunkSize: 16 << 10) else {
                                throw c.failure("a streamed read during overwrites found no value", key: key)
                            }
                            try judge(try await stream.chunks.collect(), size: stream.metadata.size, "a streamed read")
                        }
                        await Task.yield()
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}
