import Foundation
import Trove

extension ContractCheck {
    /// Once the clock passes an entry's expiry, the entry is invisible to `read`, `metadata`,
    /// `readStream`, `contains`, listings (with and without delimiter; a prefix whose keys have
    /// all expired disappears too), `count` and `randomKey`, and a delete of it returns `false`.
    /// Before, the entry is visible and reports its expiration date.
    ///
    /// Without `StoreCapabilities.expiration` the store must refuse every expiry with
    /// `StoreError.Code.notSupported` and write nothing. With it, the environment needs the
    /// ``ConformanceEnvironment/clock`` the store was built with, or
    /// ``ConformanceEnvironment/realTimeExpiry`` for a store whose clock is a server's.
    public static let expiredEntriesAreInvisible = ContractCheck(
        "expiredEntriesAreInvisible",
        "expired entries are invisible to read, metadata, contains, list and count"
    ) { try await ExpiryChecks.expiredEntriesAreInvisible($0) }

    /// An expired entry counts as absent for conditions: `WriteCondition.ifAbsent` succeeds
    /// over it, `WriteCondition.ifMatches(_:)` with its old ETag fails, `update` sees `nil`;
    /// and an overwrite replaces the expiry (with none, or with a new one).
    public static let writesOverExpiredEntries = ContractCheck(
        "writesOverExpiredEntries",
        "ifAbsent succeeds over an expired entry; an overwrite replaces the expiry"
    ) { try await ExpiryChecks.writesOverExpiredEntries($0) }

    /// `KeyValueStore.reclaimExpired()` deletes nothing live, returns exactly the number of
    /// expired entries it deleted (0 on a second call), and frees their space when the
    /// environment can measure it (``ConformanceEnvironment/storageFootprint``).
    ///
    /// Under a value size limit (``ConformanceEnvironment/maximumValueSize``) the large values
    /// shrink to fit, and the sizes the check would have used must be refused with
    /// `StoreError.Code.valueTooLarge`, changing nothing.
    public static let reclaimExpired = ContractCheck(
        "reclaimExpired",
        "reclaimExpired returns the number of expired entries and frees their space"
    ) { try await ExpiryChecks.reclaimExpired($0) }
}

/// The bodies of the expiry checks.
enum ExpiryChecks {
    /// For a store without expiration: every way of asking for expiry is refused with
    /// `notSupported`, and nothing is written.
    static func expectExpiryRefused(_ c: CheckContext) async throws {
        let key: StoreKey = "expiry/refused"
        let value = CheckContext.bytes("v")
        try await c.expectError(.notSupported, "a store without expiration must refuse Expiry.after", key: key) {
            try await c.store.set(value, for: key, expiry: .after(.seconds(10)))
        }
        try await c.expectError(.notSupported, "a store without expiration must refuse Expiry.at", key: key) {
            try await c.store.set(value, for: key, expiry: .at(Date().addingTimeInterval(3600)))
        }
        try await c.expectError(.notSupported, "a store without expiration must refuse expiry on a streamed write", key: key) {
            try await c.store.set(contentsOf: ValueChunks(chunksOf: value, chunkSize: 1), for: key, expiry: .after(.seconds(10)))
        }
        try c.expectEqual(try await c.count(), 0, "a refused expiry must write nothing")
    }

    static func expiredEntriesAreInvisible(_ c: CheckContext) async throws {
        guard c.capabilities.contains(.expiration) else { return try await expectExpiryRefused(c) }
        let t = try c.requireTimeline()
        let start = t.now
        let value = CheckContext.bytes("expiring")

        let short = try await c.store.set(value, for: "e/short", expiry: .after(t.lifetime(10)))
        let atDate = t.date(start, plus: 20)
        let fixed = try await c.store.set(value, for: "e/at", expiry: .at(atDate))
        try await c.store.set(value, for: "e/long", expiry: .after(t.lifetime(3600)))
        try await c.store.set(value, for: "e/never")
        try await c.store.set(value, for: "gone/only", expiry: .after(t.lifetime(10)))

        try expectExpiration(short.expirationDate, near: t.date(start, plus: 10), "the write's result for Expiry.after(10 units)", "e/short", c, t)
        try expectExpiration(fixed.expirationDate, near: atDate, "the write's result for Expiry.at", "e/at", c, t)
        try expectExpiration(try await c.store.metadata(for: "e/short")?.expirationDate, near: t.date(start, plus: 10),
                             "metadata for Expiry.after(10 units)", "e/short", c, t)
        try c.expect(try await c.store.metadata(for: "e/never")?.expirationDate == nil,
                     "an entry written without expiry reports an expiration date", key: "e/never")
        try c.expectEqual(try await c.names(.all), ["e/at", "e/long", "e/never", "e/short", "gone/only"],
                          "entries that have not expired yet must be listed")

        try await t.advance(11)

        // Listings first, the delimiter one leading: a store that deletes expired entries when it
        // meets them must hide them from listings before anything reads them.
        try c.expectEqual(try await c.names(ListQuery(delimiter: "/")), ["e/"],
                          "a delimiter listing must not show a prefix whose keys have all expired")
        try c.expectEqual(try await c.names(.all), ["e/at", "e/long", "e/never"], "a listing must not show expired entries")
        let withMetadata = try await c.elements(ListQuery(includesMetadata: true)).compactMap(\.key?.rawValue)
        try c.expectEqual(withMetadata, ["e/at", "e/long", "e/never"], "a listing with metadata must not show expired entries")
        try c.expectEqual(try await c.names(ListQuery(prefix: "e/", delimiter: "/")), ["e/at", "e/long", "e/never"],
                          "a delimiter listing must not show expired entries")
        try c.expectEqual(try await c.store.count(), 3, "count must not include expired entries")
        try c.expectEqual(try await c.store.count(withPrefix: "gone/"), 0, "count must not include expired entries")
        try c.expect(try await c.store.isEmpty(withPrefix: "gone/"), "isEmpty must not see expired entries")
        try c.expect(try await c.store.randomKey(withPrefix: "gone/") == nil, "randomKey must not return an expired key")
        for key: StoreKey in ["e/short", "gone/only"] {
            try await ValueChecks.expectAbsent(key, c)
        }
        try c.expect(try await c.store.delete("e/short") == false, "deleting an expired entry must return false", key: "e/short")
        if c.capabilities.contains(.conditionalDeletes) {
            try await c.expectError(.conditionFailed, "a conditional delete of an expired entry must fail", key: "e/short") {
                try await c.store.delete("e/short", condition: .ifMatches(short.etag))
            }
        }

        try await t.advance(10)
        try c.expectEqual(try await c.names(.all), ["e/long", "e/never"], "an Expiry.at entry must vanish after its date")
        try await ValueChecks.expectAbsent("e/at", c)
    }

    static func writesOverExpiredEntries(_ c: CheckContext) async throws {
        guard c.capabilities.contains(.expiration) else { return try await expectExpiryRefused(c) }
        let t = try c.requireTimeline()
        let key: StoreKey = "expiry/over"
        let old = try await c.store.set(CheckContext.bytes("old"), for: key, expiry: .after(t.lifetime(10)))
        try await c.store.set(CheckContext.bytes("41"), for: "expiry/counter", expiry: .after(t.lifetime(10)))
        try await c.store.set(CheckContext.bytes("x"), for: "expiry/renewed", expiry: .after(t.lifetime(10)))
        try await c.store.set(CheckContext.bytes("y"), for: "expiry/shortened")
        try await t.advance(5)
        // An overwrite replaces the expiry: with none, or with a new one.
        try await c.store.set(CheckContext.bytes("x2"), for: "expiry/renewed")
        try await c.store.set(CheckContext.bytes("y2"), for: "expiry/shortened", expiry: .after(t.lifetime(5)))
        try await t.advance(6)

        if c.capabilities.contains(.conditionalWrites) {
            try await c.expectError(.conditionFailed, "ifMatches with an expired entry's ETag must fail: the entry is gone", key: key) {
                try await c.store.set(CheckContext.bytes("new"), for: key, condition: .ifMatches(old.etag))
            }
            let replaced = try await c.store.set(CheckContext.bytes("new"), for: key, condition: .ifAbsent)
            try c.expect(replaced.expirationDate == nil, "a write without expiry over an expired entry kept the old expiry", key: key)

            var seen: Data?? = .none
            try await c.store.update("expiry/counter") { current in
                seen = .some(current)
                return .set(CheckContext.bytes("1"))
            }
            try c.expect(seen == .some(nil), "update must see an expired value as absent", key: "expiry/counter",
                         expected: "nil", got: describe(seen))
        } else {
            try await c.store.set(CheckContext.bytes("new"), for: key)
        }
        try c.expectValue(try await c.store.read(key)?.value, CheckContext.bytes("new"), "a write over an expired entry", key: key)
        try c.expectValue(try await c.store.read("expiry/renewed")?.value, CheckContext.bytes("x2"),
                          "an overwrite without expiry must remove the earlier expiry", key: "expiry/renewed")
        try await ValueChecks.expectAbsent("expiry/shortened", c)

        try await t.advanceLong()
        try c.expectValue(try await c.store.read(key)?.value, CheckContext.bytes("new"),
                          "a value written without expiry over an expired entry must not expire", key: key)
    }

    static func reclaimExpired(_ c: CheckContext) async throws {
        guard c.capabilities.contains(.expiration) else {
            try await expectExpiryRefused(c)
            try await c.store.set(CheckContext.bytes("kept"), for: "reclaim/kept")
            try c.expectEqual(try await c.store.reclaimExpired(), 0, "a store without expiration must reclaim nothing")
            try c.expectEqual(try await c.count(), 1, "reclaimExpired deleted a value that cannot expire")
            return
        }
        let t = try c.requireTimeline()
        let valueSize = c.valueSize(64 << 10)
        try await c.expectRefusedIfTooLarge(size: 64 << 10, key: "reclaim/too-large")
        let pattern = BytePattern(seed: 99)
        let footprintBefore = try await c.environment.storageFootprint?()

        for index in 1...3 {
            try await c.store.set(pattern.bytes(at: index, count: valueSize), for: c.key("reclaim/expiring-\(index)"),
                                  expiry: .after(t.lifetime(10)))
        }
        try await c.store.set(CheckContext.bytes("kept"), for: "reclaim/kept")
        try await c.store.set(CheckContext.bytes("later"), for: "reclaim/later", expiry: .after(t.lifetime(3600)))
        let footprintWritten = try await c.environment.storageFootprint?()
        if let footprintBefore, let footprintWritten {
            try c.expect(footprintWritten >= footprintBefore + Int64(3 * valueSize),
                         "ConformanceEnvironment.storageFootprint did not grow by the bytes written; it does not measure this store",
                         expected: "at least \(footprintBefore + Int64(3 * valueSize))", got: "\(footprintWritten)")
        }

        try c.expectEqual(try await c.store.reclaimExpired(), 0, "reclaimExpired must not delete entries that have not expired")
        try c.expectEqual(try await c.count(), 5, "reclaimExpired deleted live entries")

        try await t.advance(11)
        try c.expectEqual(try await c.store.reclaimExpired(), 3, "reclaimExpired must return the number of expired entries it deleted")
        try c.expectEqual(try await c.store.reclaimExpired(), 0, "a second reclaimExpired must find nothing left")
        try c.expectEqual(try await c.names(.all), ["reclaim/kept", "reclaim/later"], "reclaimExpired must keep live entries")
        try c.expectValue(try await c.store.read("reclaim/kept")?.value, CheckContext.bytes("kept"), "a live value after reclaiming", key: "reclaim/kept")
        try c.expectValue(try await c.store.read("reclaim/later")?.value, CheckContext.bytes("later"), "a live value after reclaiming", key: "reclaim/later")

        if let footprintBefore, let footprintAfter = try await c.environment.storageFootprint?() {
            try c.expect(footprintAfter < footprintBefore + Int64(valueSize),
                         "reclaimExpired must free the space of expired entries",
                         expected: "less than \(footprintBefore + Int64(valueSize)) bytes in use",
                         got: "\(footprintAfter) bytes (\(footprintWritten.map(String.init) ?? "?") before reclaiming)")
        }
    }

    static func expectExpiration(_ date: Date?, near expected: Date, _ what: String, _ key: StoreKey, _ c: CheckContext,
                                 _ t: CheckTimeline, fileID: String = #fileID, line: Int = #line) throws(ConformanceFailure) {
        guard let date else {
            throw c.failure("\(what) must report the expiration date", key: key, expected: "\(expected)", got: "nil",
                            fileID: fileID, line: line)
        }
        try c.expect(abs(date.timeIntervalSince(expected)) <= t.tolerance, "\(what) reported the wrong expiration date", key: key,
                     expected: "\(expected)", got: "\(date)", fileID: fileID, line: line)
    }
}
