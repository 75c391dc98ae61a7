import Foundation
import Trove

extension ContractCheck {
    /// `ReadOptions.range` returns exactly the bytes asked for (clamped to the value, empty
    /// past its end) from `read` and `readStream`, with the metadata of the whole value;
    /// `ReadOptions.ifNoneMatch` with the current ETag returns `ReadOutcome.unchanged(_:)`
    /// and with another one the value; a missing key is `nil` either way.
    public static let readOptions = ContractCheck(
        "readOptions",
        "byte ranges return exactly their bytes; ifNoneMatch with the current ETag returns unchanged"
    ) { try await ReadOptionChecks.readOptions($0) }

    /// With `StoreCapabilities.expiryRefreshOnRead`, a read with
    /// `ReadOptions.refreshingExpiry` renews the entry's expiry and keeps its value and ETag;
    /// without it, such a read throws `StoreError.Code.notSupported`.
    public static let expiryRefreshOnRead = ContractCheck(
        "expiryRefreshOnRead",
        "a read that renews an expiry keeps value and ETag and pushes the deadline, or is refused with notSupported"
    ) { try await ReadOptionChecks.expiryRefreshOnRead($0) }
}

/// The bodies of the read option checks.
enum ReadOptionChecks {
    static func readOptions(_ c: CheckContext) async throws {
        let key: StoreKey = "ranges/value"
        let size = c.valueSize(100_000)
        let value = BytePattern(seed: 0x5A6E).bytes(at: 0, count: size)
        let written = try await c.store.set(value, for: key)
        let n = Int64(size)
        let cases: [(ByteRange, Range<Int>)] = [
            (.bytes(0..<10), 0..<10),
            (.bytes(1000..<5000), 1000..<5000),
            (.bytes(Int64(size) - 5..<Int64(size) + 100), size - 5..<size),
            (.bytes(n + 10..<n + 20), size..<size),
            (.from(n - 7), size - 7..<size),
            (.from(0), 0..<size),
            (.suffix(33), size - 33..<size),
            (.suffix(n * 2), 0..<size),
        ]
        for (range, expected) in cases {
            let want = Data(value[expected])
            guard case .value(let entry)? = try await c.store.read(key, options: ReadOptions(range: range)) else {
                throw c.failure("a ranged read of an existing key must return the value", key: key, expected: "\(range)")
            }
            try c.expectValue(entry.value, want, "read with range \(range) returned the wrong bytes", key: key)
            try c.expectEqual(entry.metadata.size, n, "a ranged read must report the size of the whole value", key: key)
            try c.expectEqual(entry.metadata.etag, written.etag, "a ranged read reported another ETag", key: key)
            guard case .value(let stream)? = try await c.store.readStream(key, chunkSize: 4096, options: ReadOptions(range: range)) else {
                throw c.failure("a ranged stream of an existing key must return the value", key: key, expected: "\(range)")
            }
            try c.expectValue(try await stream.chunks.collect(), want, "readStream with range \(range) returned the wrong bytes", key: key)
        }

        guard case .unchanged(let metadata)? = try await c.store.read(key, options: ReadOptions(ifNoneMatch: written.etag)) else {
            throw c.failure("ifNoneMatch with the current ETag must return unchanged", key: key)
        }
        try c.expectEqual(metadata.etag, written.etag, "an unchanged outcome must carry the current metadata", key: key)
        guard case .unchanged? = try await c.store.readStream(key, chunkSize: 4096, options: ReadOptions(ifNoneMatch: written.etag)) else {
            throw c.failure("ifNoneMatch with the current ETag must return unchanged from readStream too", key: key)
        }
        let replaced = try await c.store.set(CheckContext.bytes("replaced"), for: key)
        guard case .value(let entry)? = try await c.store.read(key, options: ReadOptions(ifNoneMatch: written.etag)) else {
            throw c.failure("ifNoneMatch with a stale ETag must return the value", key: key)
        }
        try c.expectValue(entry.value, CheckContext.bytes("replaced"), "ifNoneMatch with a stale ETag returned the wrong value", key: key)
        try c.expectEqual(entry.metadata.etag, replaced.etag, "ifNoneMatch with a stale ETag returned the wrong ETag", key: key)
        guard case .value(let both)? = try await c.store.read(key, options: ReadOptions(range: .bytes(2..<5), ifNoneMatch: written.etag)) else {
            throw c.failure("a ranged read with a stale ifNoneMatch must return the range", key: key)
        }
        try c.expectValue(both.value, CheckContext.bytes("pla"), "a ranged read with ifNoneMatch returned the wrong bytes", key: key)

        let missing: StoreKey = "ranges/missing"
        try c.expect(try await c.store.read(missing, options: ReadOptions(range: .bytes(0..<4))) == nil,
                     "a ranged read of a missing key must return nil", key: missing)
        try c.expect(try await c.store.read(missing, options: ReadOptions(ifNoneMatch: written.etag)) == nil,
                     "ifNoneMatch on a missing key must return nil", key: missing)
        try c.expect(try await c.store.metadata(for: missing, options: .none) == nil,
                     "metadata with options of a missing key must return nil", key: missing)
    }

    static func expiryRefreshOnRead(_ c: CheckContext) async throws {
        let key: StoreKey = "refresh/session"
        guard c.capabilities.contains(.expiryRefreshOnRead) else {
            try await c.store.set(CheckContext.bytes("v"), for: key)
            try await c.expectError(.notSupported, "a store without expiryRefreshOnRead must refuse a read that renews an expiry", key: key) {
                try await c.store.read(key, options: ReadOptions(refreshingExpiry: .after(.seconds(60))))
            }
            try await c.expectError(.notSupported, "a store without expiryRefreshOnRead must refuse renewing an expiry in metadata", key: key) {
                try await c.store.metadata(for: key, options: ReadOptions(refreshingExpiry: .after(.seconds(60))))
            }
            return
        }
        let t = try c.requireTimeline()
        let written = try await c.store.set(CheckContext.bytes("session"), for: key, expiry: .after(t.lifetime(10)))
        try await t.advance(6)
        guard case .value(let entry)? = try await c.store.read(key, options: ReadOptions(refreshingExpiry: .after(t.lifetime(10)))) else {
            throw c.failure("a read that renews an expiry must return the live value", key: key)
        }
        try c.expectValue(entry.value, CheckContext.bytes("session"), "a renewing read returned the wrong value", key: key)
        try c.expectEqual(entry.metadata.etag, written.etag, "renewing an expiry within a read must keep the ETag", key: key)
        try await t.advance(6)
        let metadata = try await c.store.metadata(for: key, options: ReadOptions(refreshingExpiry: .after(t.lifetime(10))))
        try c.expectEqual(metadata?.etag, written.etag, "an entry renewed 6 units ago with 10 units must still be live, same ETag",
                          key: key)
        try await t.advance(6)
        try c.expect(try await c.store.metadata(for: key)?.etag == written.etag,
                     "renewing through metadata must push the deadline too", key: key)
        try await t.advance(6)
        try await ValueChecks.expectAbsent(key, c)
        try c.expect(try await c.store.read(key, options: ReadOptions(refreshingExpiry: .after(t.lifetime(10)))) == nil,
                     "renewing an expired entry must not bring it back", key: key)
    }
}
