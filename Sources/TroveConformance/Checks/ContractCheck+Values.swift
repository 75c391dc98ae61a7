import Foundation
import Trove

extension ContractCheck {
    /// A missing key reads as `nil` from every read (`read`, `metadata`, `readStream`, the
    /// subscript, `contains`), never as an error, including a key that is only the prefix of
    /// other keys; deleting it reports `false`.
    public static let missingKeyReadsNil = ContractCheck(
        "missingKeyReadsNil",
        "a missing key, even one that is only a prefix of other keys, reads as nil, not as an error"
    ) { try await ValueChecks.missingKeyReadsNil($0) }

    /// An empty value is a value: it reads back as empty bytes (not `nil`), has size 0, is
    /// listed and counted, and streams as no bytes.
    public static let emptyValue = ContractCheck(
        "emptyValue",
        "an empty value is stored, read back as empty bytes, listed and counted"
    ) { try await ValueChecks.emptyValue($0) }

    /// Values holding every byte from 0 to 255, bytes that are not valid UTF-8, line endings and
    /// a 1 MiB pseudo-random value come back exactly, whole and streamed in odd-sized chunks.
    ///
    /// Under a value size limit (``ConformanceEnvironment/maximumValueSize``) the large values
    /// shrink to fit, and the sizes the check would have used must be refused with
    /// `StoreError.Code.valueTooLarge`, changing nothing.
    public static let binaryValues = ContractCheck(
        "binaryValues",
        "values are bytes: all 256 byte values, invalid UTF-8 and CR LF round-trip exactly"
    ) { try await ValueChecks.binaryValues($0) }

    /// An overwrite replaces the whole value: a shorter value leaves no stale tail, a longer
    /// one is complete, and the key is still listed once.
    ///
    /// Under a value size limit (``ConformanceEnvironment/maximumValueSize``) the large values
    /// shrink to fit, and the sizes the check would have used must be refused with
    /// `StoreError.Code.valueTooLarge`, changing nothing.
    public static let overwriteReplacesValue = ContractCheck(
        "overwriteReplacesValue",
        "an overwrite replaces the whole value (no stale tail) and the key stays listed once"
    ) { try await ValueChecks.overwriteReplacesValue($0) }
}

/// The bodies of the value checks.
enum ValueChecks {
    static func missingKeyReadsNil(_ c: CheckContext) async throws {
        let missing: StoreKey = "missing/key"
        try await expectAbsent(missing, c)
        try c.expect(try await c.store.delete(missing) == false, "deleting a missing key must return false", key: missing)
        try await c.store.discard(missing)

        // Make `missing/key` a prefix of other keys and a child of a key: it still holds no value.
        try await c.store.set(CheckContext.bytes("parent"), for: "missing")
        try await c.store.set(CheckContext.bytes("child"), for: "missing/key/child")
        try await expectAbsent(missing, c)
        try c.expect(try await c.store.delete(missing) == false,
                     "deleting a key that is only a prefix of other keys must return false", key: missing)
        try c.expectValue(try await c.store.read("missing/key/child")?.value, CheckContext.bytes("child"),
                          "deleting a prefix-only key must not touch the keys under it", key: "missing/key/child")
        try c.expectEqual(try await c.names(.all), ["missing", "missing/key/child"],
                          "a key that is only a prefix must not be listed")
    }

    /// Checks that every way of reading `key` sees no value.
    static func expectAbsent(_ key: StoreKey, _ c: CheckContext) async throws {
        try c.expect(try await c.store.read(key) == nil, "read of a missing key must be nil", key: key)
        try c.expect(try await c.store.metadata(for: key) == nil, "metadata of a missing key must be nil", key: key)
        try c.expect(try await c.store.readStream(key, chunkSize: 1024) == nil,
                     "readStream of a missing key must be nil", key: key)
        try c.expect(try await c.store[key] == nil, "the subscript of a missing key must be nil", key: key)
        try c.expect(try await c.store.contains(key) == false, "contains of a missing key must be false", key: key)
    }

    static func emptyValue(_ c: CheckContext) async throws {
        let key: StoreKey = "empty"
        let written = try await c.store.set(Data(), for: key)
        try c.expectEqual(written.size, 0, "write of an empty value reported a size", key: key)
        try c.expectValue(try await c.store.read(key)?.value, Data(), "an empty value must read back as empty bytes, not nil", key: key)
        try c.expectEqual(try await c.store.metadata(for: key)?.size, 0, "metadata of an empty value", key: key)
        try c.expect(try await c.store.contains(key), "contains must see an empty value", key: key)
        try c.expectEqual(try await c.names(.all), ["empty"], "an empty value must be listed")
        guard let stream = try await c.store.readStream(key, chunkSize: 16) else {
            throw c.failure("readStream of an empty value must not be nil", key: key)
        }
        try c.expectValue(try await stream.chunks.collect(), Data(), "an empty value must stream as no bytes", key: key)

        let other: StoreKey = "emptied"
        try await c.store.set(CheckContext.bytes("not empty"), for: other)
        try await c.store.set(Data(), for: other)
        try c.expectValue(try await c.store.read(other)?.value, Data(), "overwriting with an empty value", key: other)
        try c.expectEqual(try await c.count(), 2, "empty values must be counted")
    }

    static func binaryValues(_ c: CheckContext) async throws {
        let pattern = BytePattern(seed: 0xB1A4)
        let values: [(StoreKey, Data)] = [
            ("bytes/ascending", Data((0...255).map { UInt8($0) })),
            ("bytes/descending", Data((0...255).reversed().map { UInt8($0) })),
            ("bytes/zeros", Data(repeating: 0, count: 256)),
            ("bytes/ones", Data(repeating: 0xFF, count: 256)),
            ("bytes/nul", Data([0])),
            ("bytes/invalid-utf8", Data([0xC3, 0x28, 0xA0, 0xA1, 0xE2, 0x28, 0xA1, 0xF0, 0x28, 0x8C, 0xBC, 0xFE, 0xFF])),
            ("bytes/bom-and-line-endings", Data([0xEF, 0xBB, 0xBF]) + CheckContext.bytes("one\r\ntwo\rthree\nfour\r\n")),
            ("bytes/random-1MiB", pattern.bytes(at: 0, count: c.valueSize(1 << 20))),
        ]
        for (key, value) in values {
            let written = try await c.store.set(value, for: key)
            try c.expectEqual(written.size, Int64(value.count), "write reported the wrong size", key: key)
        }
        for (key, value) in values {
            try c.expectValue(try await c.store.read(key)?.value, value, "a binary value did not round-trip", key: key)
            try c.expectEqual(try await c.store.metadata(for: key)?.size, Int64(value.count), "metadata size", key: key)
            guard let stream = try await c.store.readStream(key, chunkSize: 97) else {
                throw c.failure("readStream of a stored value must not be nil", key: key)
            }
            try c.expectValue(try await stream.chunks.collect(), value, "a binary value streamed in 97-byte chunks", key: key)
        }
        // With a value size limit below 1 MiB, the random value above was shrunk; the full one is refused.
        try await c.expectRefusedIfTooLarge(size: 1 << 20, key: "bytes/random-1MiB")
    }

    static func overwriteReplacesValue(_ c: CheckContext) async throws {
        let key: StoreKey = "overwritten"
        let pattern = BytePattern(seed: 7)
        let limit = c.maximumValueSize
        for value in [pattern.bytes(at: 0, count: Swift.min(100_000, limit / 2)), CheckContext.bytes("short"),
                      pattern.bytes(at: 5, count: Swift.min(200_000, limit)), Data([1])] {
            let written = try await c.store.set(value, for: key)
            try c.expectEqual(written.size, Int64(value.count), "write reported the wrong size", key: key)
            try c.expectValue(try await c.store.read(key)?.value, value, "an overwrite must replace the whole value", key: key)
            try c.expectEqual(try await c.store.metadata(for: key)?.size, Int64(value.count),
                              "metadata size after an overwrite", key: key)
        }
        // With a value size limit, an overwrite with a value over it leaves the last value whole.
        try await c.expectRefusedIfTooLarge(size: 200_000, key: key)
        try c.expectEqual(try await c.names(.all), ["overwritten"], "an overwritten key must be listed exactly once")
    }
}
