import Foundation
import Trove

extension ContractCheck {
    /// `count` and `isEmpty`, for the whole store and under a prefix, follow writes, overwrites
    /// and deletes.
    public static let countAndIsEmpty = ContractCheck(
        "countAndIsEmpty",
        "count and isEmpty follow writes, overwrites and deletes, with and without prefix"
    ) { try await ConvenienceChecks.countAndIsEmpty($0) }

    /// `contains` tells a stored key from a missing one; `discard` removes a key and is silent
    /// about a missing one; `delete` says whether there was a value.
    public static let containsAndDiscard = ContractCheck(
        "containsAndDiscard",
        "contains, discard and delete tell stored keys from missing ones"
    ) { try await ConvenienceChecks.containsAndDiscard($0) }

    /// `randomKey` returns `nil` on an empty prefix and otherwise only keys under the prefix,
    /// reaching each of them over repeated draws.
    public static let randomKey = ContractCheck(
        "randomKey",
        "randomKey returns only keys under its prefix, each of them eventually, nil when none"
    ) { try await ConvenienceChecks.randomKey($0) }

    /// `oldestKeys` and `newestKeys` return the N keys with the earliest or latest modification
    /// (or creation) dates the store reports, in order; modification dates follow the order of
    /// the writes. A store without `StoreCapabilities.modificationDate` has no order to keep:
    /// its answers hold N distinct keys under the prefix.
    public static let oldestAndNewestKeys = ContractCheck(
        "oldestAndNewestKeys",
        "oldestKeys and newestKeys return the N extreme keys by modification or creation date"
    ) { try await ConvenienceChecks.oldestAndNewestKeys($0) }

    /// `update` hands its closure the current value (`nil` when absent) and stores, keeps
    /// (`UpdateOutcome.kept`, value and ETag untouched) or deletes as told; an error thrown by
    /// the closure changes nothing.
    ///
    /// Without `StoreCapabilities.conditionalWrites`, `update` must throw
    /// `StoreError.Code.notSupported`.
    public static let updateKeepAndDelete = ContractCheck(
        "updateKeepAndDelete",
        "update stores, keeps or deletes as its closure says"
    ) { try await ConvenienceChecks.updateKeepAndDelete($0) }
}

/// The bodies of the convenience checks.
enum ConvenienceChecks {
    static func countAndIsEmpty(_ c: CheckContext) async throws {
        try c.expectEqual(try await c.store.count(), 0, "count of an empty store")
        try c.expect(try await c.store.isEmpty(), "isEmpty of an empty store")
        let names = (0..<10).map { "c/\($0)" } + ["d", "cc"]
        try await c.writeAll(try names.map { try c.key($0) }) { CheckContext.bytes($0.rawValue) }
        try c.expectEqual(try await c.store.count(), 12, "count after 12 writes")
        try c.expectEqual(try await c.store.count(withPrefix: "c/"), 10, "count under a prefix")
        try c.expectEqual(try await c.store.count(withPrefix: "c"), 11, "count under a byte prefix")
        try c.expectEqual(try await c.store.count(withPrefix: "x"), 0, "count under a prefix with no keys")
        try c.expect(try await c.store.isEmpty() == false, "isEmpty of a store with keys")
        try c.expect(try await c.store.isEmpty(withPrefix: "c/") == false, "isEmpty under a prefix with keys")
        try c.expect(try await c.store.isEmpty(withPrefix: "x"), "isEmpty under a prefix with no keys")
        try await c.store.set(CheckContext.bytes("again"), for: "c/3")
        try c.expectEqual(try await c.store.count(), 12, "an overwrite must not change the count")
        for name in ["c/0", "c/1", "d"] { try await c.store.discard(c.key(name)) }
        try c.expectEqual(try await c.store.count(), 9, "count after 3 deletes")
        try c.expectEqual(try await c.store.count(withPrefix: "c/"), 8, "count under a prefix after deletes")
    }

    static func containsAndDiscard(_ c: CheckContext) async throws {
        let key: StoreKey = "k"
        try c.expect(try await c.store.contains(key) == false, "contains of a missing key", key: key)
        try await c.store.set(CheckContext.bytes("v"), for: key)
        try await c.store.set(CheckContext.bytes("v"), for: "p/q")
        try c.expect(try await c.store.contains(key), "contains of a stored key", key: key)
        try c.expect(try await c.store.contains("p") == false, "contains of a key that is only a prefix", key: "p")
        try await c.store.discard(key)
        try c.expect(try await c.store.contains(key) == false, "contains after discard", key: key)
        try c.expect(try await c.store.read(key) == nil, "read after discard", key: key)
        try await c.store.discard(key)
        try await c.store.discard("never/written")
        try c.expect(try await c.store.delete("p/q"), "delete of a stored key must return true", key: "p/q")
        try c.expect(try await c.store.delete("p/q") == false, "a second delete must return false", key: "p/q")
        try c.expectEqual(try await c.count(), 0, "the store after discarding and deleting everything")
    }

    static func randomKey(_ c: CheckContext) async throws {
        try c.expect(try await c.store.randomKey() == nil, "randomKey of an empty store must be nil")
        let names = (0..<5).map { "r/\($0)" }
        try await c.writeAll(try (names + ["s/x", "q"]).map { try c.key($0) }) { CheckContext.bytes($0.rawValue) }
        var generator = SeededGenerator(state: 5)
        var drawn = Set<String>()
        for _ in 0..<200 {
            guard let key = try await c.store.randomKey(withPrefix: "r/", using: &generator) else {
                throw c.failure("randomKey returned nil for a prefix that holds keys")
            }
            try c.expect(names.contains(key.rawValue), "randomKey returned a key outside its prefix", key: key,
                         expected: "one of \(names)", got: key.rawValue)
            drawn.insert(key.rawValue)
        }
        try c.expectEqual(drawn.sorted(), names, "200 draws of randomKey among 5 keys must reach each of them")
        try c.expect(try await c.store.randomKey(withPrefix: "none/") == nil, "randomKey of a prefix with no keys must be nil")
        try c.expect(try await c.store.randomKey() != nil, "randomKey of a store with keys must not be nil")
    }

    static func oldestAndNewestKeys(_ c: CheckContext) async throws {
        try c.expectEqual(try await c.store.oldestKeys(3), [], "oldestKeys of an empty store")
        let order = ["k/c", "k/a", "k/d", "k/b", "k/e"]
        try await c.store.set(CheckContext.bytes("outside"), for: "outside")
        var previous: Date?
        for name in order {
            c.environment.clock?.advance(by: .seconds(1))
            let written = try await c.store.set(CheckContext.bytes(name), for: c.key(name))
            if let previous {
                try c.expect(written.modificationDate >= previous, "a later write reported an earlier modification date",
                             key: written.key, expected: "at or after \(previous)", got: "\(written.modificationDate)")
            }
            previous = written.modificationDate
        }
        // Without modification dates, the answer holds the right number of keys under the prefix
        // and no key twice, in an order the store cannot know.
        let datesKept = c.capabilities.contains(.modificationDate)
        guard datesKept else {
            let oldest = try await c.store.oldestKeys(3, withPrefix: "k/"), newest = try await c.store.newestKeys(3, withPrefix: "k/")
            for (what, answer) in [("oldestKeys(3)", oldest), ("newestKeys(3)", newest)] {
                try c.expectEqual(answer.count, 3, "\(what) returned the wrong number of keys")
                try c.expectEqual(Set(answer).count, 3, "\(what) returned a key twice")
                try c.expect(Set(answer.map(\.rawValue)).isSubset(of: Set(order)), "\(what) returned a key outside its prefix",
                             got: describe(answer))
            }
            try c.expectEqual(Set(try await c.store.oldestKeys(10, withPrefix: "k/").map(\.rawValue)), Set(order),
                              "asking for more keys than there are must return them all")
            return
        }
        try await expectExtremes(by: .modification, c)

        // When the dates follow the clock, the answer is known exactly.
        let dates = try await reportedDates(by: .modification, c)
        if Set(dates.values).count == order.count {
            try c.expectEqual(try await c.store.oldestKeys(3, withPrefix: "k/").map(\.rawValue), ["k/c", "k/a", "k/d"],
                              "oldestKeys must follow the order of the writes")
            try c.expectEqual(try await c.store.newestKeys(3, withPrefix: "k/").map(\.rawValue), ["k/e", "k/b", "k/d"],
                              "newestKeys must follow the reverse order of the writes")
        }

        // An overwrite makes a key the newest by modification; creation dates are the store's.
        c.environment.clock?.advance(by: .seconds(1))
        try await c.store.set(CheckContext.bytes("again"), for: "k/c")
        try await expectExtremes(by: .modification, c)
        if c.capabilities.contains(.creationDate) { try await expectExtremes(by: .creation, c) }
        try c.expectEqual(Set(try await c.store.oldestKeys(10, withPrefix: "k/").map(\.rawValue)), Set(order),
                          "asking for more keys than there are must return them all")
        try c.expectEqual(try await c.store.newestKeys(0, withPrefix: "k/"), [], "asking for no keys")
    }

    /// The dates the store reports for the keys under `k/`, by `timestamp`.
    static func reportedDates(by timestamp: EntryTimestamp, _ c: CheckContext) async throws -> [StoreKey: Date] {
        var dates: [StoreKey: Date] = [:]
        for try await metadata in try c.store.metadata(withPrefix: "k/") {
            dates[metadata.key] = timestamp == .creation ? (metadata.creationDate ?? metadata.modificationDate) : metadata.modificationDate
        }
        return dates
    }

    /// Checks that `oldestKeys(3)` and `newestKeys(3)` are valid answers for the dates the store
    /// reports: in order, and no key left out is more extreme than one returned.
    static func expectExtremes(by timestamp: EntryTimestamp, _ c: CheckContext) async throws {
        let dates = try await reportedDates(by: timestamp, c)
        for newest in [false, true] {
            let answer = newest ? try await c.store.newestKeys(3, by: timestamp, withPrefix: "k/")
                                : try await c.store.oldestKeys(3, by: timestamp, withPrefix: "k/")
            let what = "\(newest ? "newestKeys" : "oldestKeys")(3) by \(timestamp == .creation ? "creation" : "modification")"
            try c.expectEqual(answer.count, 3, "\(what) returned the wrong number of keys")
            try c.expectEqual(Set(answer).count, 3, "\(what) returned a key twice")
            let answerDates = try answer.map { key throws(ConformanceFailure) -> Date in
                guard let date = dates[key] else { throw c.failure("\(what) returned a key outside its prefix", key: key) }
                return date
            }
            let ordered = zip(answerDates, answerDates.dropFirst()).allSatisfy { newest ? $0 >= $1 : $0 <= $1 }
            try c.expect(ordered, "\(what) is not in \(newest ? "newest" : "oldest")-first order",
                         got: describe(answer))
            if let boundary = answerDates.last {
                for (key, date) in dates where !answer.contains(key) {
                    try c.expect(newest ? date <= boundary : date >= boundary,
                                 "\(what) left out a key that is more \(newest ? "recent" : "ancient") than one it returned",
                                 key: key, expected: describe(answer), got: "\(key) at \(date)")
                }
            }
        }
    }

    static func updateKeepAndDelete(_ c: CheckContext) async throws {
        let key: StoreKey = "update/entry"
        guard c.capabilities.contains(.conditionalWrites) else {
            try await c.expectError(.notSupported, "update on a store without conditionalWrites must throw notSupported", key: key) {
                try await c.store.update(key) { _ in .set(CheckContext.bytes("v")) }
            }
            try c.expect(try await c.store.read(key) == nil, "a refused update must write nothing", key: key)
            return
        }

        var seen: [Data?] = []
        try c.expectEqual(try await c.store.update(key) { seen.append($0); return .keep }, .kept, "update returning .keep on an absent key", key: key)
        try c.expect(try await c.store.read(key) == nil, ".keep on an absent key must not create it", key: key)
        try c.expectEqual(try await c.store.update(key) { seen.append($0); return .delete }, .deleted, "update returning .delete on an absent key", key: key)
        try c.expectEqual(seen, [nil, nil], "update must pass nil for an absent key", key: key)

        let created = try await c.store.update(key) { _ in .set(CheckContext.bytes("v1")) }
        guard case .stored(let metadata) = created else {
            throw c.failure("update returning .set must report .stored", key: key, expected: ".stored", got: "\(created)")
        }
        try c.expectEqual(metadata.key, key, "update's stored metadata names another key", key: key)
        try c.expectValue(try await c.store.read(key)?.value, CheckContext.bytes("v1"), "update returning .set on an absent key", key: key)

        seen = []
        try c.expectEqual(try await c.store.update(key) { seen.append($0); return .keep }, .kept, "update returning .keep", key: key)
        try c.expectEqual(seen, [CheckContext.bytes("v1")], "update must pass the current value", key: key)
        try await ConditionChecks.expectUnchanged(key, value: CheckContext.bytes("v1"), etag: metadata.etag, c)

        struct Refusal: Error {}
        do {
            try await c.store.update(key) { _ in throw Refusal() }
            throw c.failure("an error thrown by the update closure must propagate", key: key)
        } catch is Refusal {}
        try await ConditionChecks.expectUnchanged(key, value: CheckContext.bytes("v1"), etag: metadata.etag, c)

        let replaced = try await c.store.update(key) { _ in .set(CheckContext.bytes("v2")) }
        guard case .stored(let second) = replaced, second.etag != metadata.etag else {
            throw c.failure("update returning .set on a present key must store a new version", key: key, got: "\(replaced)")
        }
        try c.expectEqual(try await c.store.update(key) { _ in .delete }, .deleted, "update returning .delete", key: key)
        try c.expect(try await c.store.read(key) == nil, "update returning .delete must delete the value", key: key)
    }
}
