import Foundation
import Trove

extension ContractCheck {
    /// For a store with a value size limit (``ConformanceEnvironment/maximumValueSize``): values
    /// of exactly the limit round-trip, whole and streamed; one byte more is refused with
    /// `StoreError.Code.valueTooLarge` naming the key and the store, whole and streamed, over an
    /// existing value and on a fresh key, changing nothing; and a streamed source of four times the
    /// limit is refused without being read far past the limit.
    ///
    /// A store without a limit has nothing to check here; the other checks write values of up to
    /// 64 MiB (``ConformanceEnvironment/largeValueSize``) to it.
    public static let valueSizeLimit = ContractCheck(
        "valueSizeLimit",
        "values of the maximum size round-trip; one byte more is refused with valueTooLarge, changing nothing"
    ) { try await ValueSizeChecks.valueSizeLimit($0) }
}

/// The bodies of the value size checks.
enum ValueSizeChecks {
    static func valueSizeLimit(_ c: CheckContext) async throws {
        guard let maximum = c.environment.maximumValueSize else {
            try c.skip("the store has no value size limit of its own (ConformanceEnvironment.maximumValueSize is nil)")
        }
        try c.expect((4096...(256 << 20)).contains(maximum),
                     "ConformanceEnvironment.maximumValueSize must be between 4 KiB and 256 MiB", got: "\(maximum)")
        let pattern = BytePattern(seed: 0x512E)
        let largest = pattern.bytes(at: 0, count: maximum)

        let key: StoreKey = "limit/whole"
        let written = try await c.store.set(largest, for: key)
        try c.expectEqual(written.size, Int64(maximum), "a write of exactly the maximum size reported the wrong size", key: key)
        try c.expectValue(try await c.store.read(key)?.value, largest, "a value of exactly the maximum size must round-trip", key: key)

        let streamedKey: StoreKey = "limit/streamed"
        let streamed = try await c.store.set(contentsOf: PatternChunks(pattern: pattern, size: maximum, chunkSize: 1000),
                                             for: streamedKey)
        try c.expectEqual(streamed.size, Int64(maximum), "a streamed write of exactly the maximum size reported the wrong size",
                          key: streamedKey)
        guard let stream = try await c.store.readStream(streamedKey, chunkSize: 4096) else {
            throw c.failure("a streamed value of exactly the maximum size must be stored", key: streamedKey)
        }
        try c.expectValue(try await stream.chunks.collect(), largest,
                          "a streamed value of exactly the maximum size must round-trip", key: streamedKey)

        // One byte more: refused over an existing value (which stays) and on a fresh key.
        for target: StoreKey in [key, streamedKey, "limit/fresh"] {
            try await c.expectRefusedIfTooLarge(size: maximum + 1, key: target)
        }
        // Far more: the source must not be read much past the limit.
        try await c.expectRefusedIfTooLarge(size: 4 * maximum, key: "limit/fresh", whole: false)
        try c.expectEqual(try await c.names(.all), ["limit/streamed", "limit/whole"], "a value refused as too large must not add a key")
        try c.expectValue(try await c.store.read(key)?.value, largest, "a refused write must leave the value of exactly the maximum size",
                          key: key)
    }
}
