import Foundation
import Trove

extension ContractCheck {
    /// Every key of ``ConformanceKeys/valid``, plus one of the store's maximum length, is accepted
    /// by `StoreKey.init(validating:)` unchanged and round-trips through write, read, metadata
    /// and listing (in byte-wise order) without being altered, merged with another or refused;
    /// those of ``ConformanceEnvironment/refusedKeys`` are refused with
    /// `StoreError.Code.invalidKey` by every operation instead.
    public static let validKeysRoundTrip = ContractCheck(
        "validKeysRoundTrip",
        "valid keys (unicode, spaces, %, \\, dot names, long and deep keys) round-trip unchanged"
    ) { try await KeyChecks.validKeysRoundTrip($0) }

    /// Every string of ``ConformanceKeys/invalid`` is refused by `StoreKey.init(validating:)`
    /// with `StoreError.Code.invalidKey`, and invalid listing prefixes and delimiters by
    /// `ListQuery.init(prefix:delimiter:includesMetadata:)` with
    /// `StoreError.Code.invalidArgument`, before any store is involved.
    public static let invalidKeysRejected = ContractCheck(
        "invalidKeysRejected",
        "invalid keys (empty, /a, a/, a//b, ., .., controls, 1,025 bytes) are refused with invalidKey",
        needsRetention: false
    ) { try await KeyChecks.invalidKeysRejected($0) }

    /// A key of exactly ``ConformanceEnvironment/maximumKeyByteCount`` bytes, in several
    /// segments or in one, round-trips (unless ``ConformanceEnvironment/refusedKeys`` holds it,
    /// when it must be refused); a key one byte longer is refused with
    /// `StoreError.Code.invalidKey` and nothing is written.
    public static let keyLengthLimit = ContractCheck(
        "keyLengthLimit",
        "keys of the maximum length round-trip; one byte more is refused with invalidKey"
    ) { try await KeyChecks.keyLengthLimit($0) }
}

/// The bodies of the key checks.
enum KeyChecks {
    static func validKeysRoundTrip(_ c: CheckContext) async throws {
        let maximum = c.environment.maximumKeyByteCount
        let candidates = ConformanceKeys.valid.filter { $0.utf8.count <= maximum }
            + [ConformanceKeys.longKey(byteCount: maximum)]
        var all: [StoreKey] = []
        for string in candidates {
            let key = try c.key(string)
            try c.expect(key.rawValue.utf8.elementsEqual(string.utf8), "StoreKey changed the string it validated",
                         key: key, expected: describe(string), got: describe(key.rawValue))
            all.append(key)
        }
        try c.expectEqual(Set(all).count, all.count,
                          "strings with different bytes must be different keys (no Unicode normalization, no case folding)")
        // The keys the store says it refuses, refused by every operation and never written.
        let refused = c.environment.refusedKeys
        for (string, key) in zip(candidates, all) where refused.contains(string) {
            try await expectRefused(key, c)
        }
        let kept = zip(candidates, all).filter { !refused.contains($0.0) }
        let strings = kept.map(\.0)
        let keys = kept.map(\.1)

        func value(_ index: Int) -> Data { CheckContext.bytes("value \(index) of \(strings[index])") }

        for (index, key) in keys.enumerated() {
            let written = try await c.store.set(value(index), for: key)
            try c.expectEqual(written.key, key, "write returned metadata naming another key", key: key)
        }
        for (index, key) in keys.enumerated() {
            let entry = try await c.store.read(key)
            try c.expectValue(entry?.value, value(index), "a valid key did not read back its own value", key: key)
            try c.expectEqual(entry?.metadata.key, key, "read returned metadata naming another key", key: key)
            let metadata = try await c.store.metadata(for: key)
            try c.expectEqual(metadata?.key, key, "metadata named another key", key: key)
            try c.expectEqual(metadata?.size, Int64(value(index).count), "metadata reported the wrong size", key: key)
            try c.expect(try await c.store.contains(key), "contains denied a key that was just written", key: key)
            let underItself = try await c.names(ListQuery(prefix: key.rawValue), limit: 1)
            try c.expectEqual(underItself, [key.rawValue],
                              "a listing whose prefix is the key itself must start with the key", key: key)
        }

        let expected = strings.sorted(by: bytewisePrecedes)
        try c.expectEqual(try await c.names(.all), expected,
                          "listing must give back every valid key unchanged, in byte-wise order")
        for element in try await c.elements(ListQuery(includesMetadata: true)) {
            guard case .entry(let key, let metadata) = element else {
                throw c.failure("a listing without delimiter returned a common prefix", got: element.name)
            }
            try c.expectEqual(metadata?.key, key, "a listing with metadata paired a key with another key's metadata", key: key)
        }

        for key in keys {
            try c.expect(try await c.store.delete(key), "deleting a valid key must report that it held a value", key: key)
            try c.expect(try await c.store.read(key) == nil, "a deleted key still reads a value", key: key)
        }
        try c.expectEqual(try await c.names(.all), [], "after deleting every key the listing must be empty")
    }

    static func invalidKeysRejected(_ c: CheckContext) async throws {
        for (string, rule) in ConformanceKeys.invalid {
            switch Result(catching: { () throws(StoreError) in try StoreKey(validating: string) }) {
            case .success(let key):
                throw c.failure("StoreKey(validating:) accepted an invalid key (\(rule))",
                                expected: "StoreError invalidKey", got: "accepted '\(ConformanceFailure.escape(key.rawValue))'")
            case .failure(let error):
                try c.expectEqual(error.code, .invalidKey, "an invalid key (\(rule)) was refused with the wrong code")
                try c.expect(!error.message.isEmpty, "the invalidKey error (\(rule)) has no message")
            }
        }

        let badQueries: [(rule: String, make: () throws(StoreError) -> ListQuery)] = [
            ("prefix with NUL", { () throws(StoreError) in try ListQuery(prefix: "a\u{0}") }),
            ("prefix with line feed", { () throws(StoreError) in try ListQuery(prefix: "a\nb") }),
            ("prefix of 1,025 bytes", { () throws(StoreError) in try ListQuery(prefix: String(repeating: "p", count: 1025)) }),
            ("control delimiter", { () throws(StoreError) in try ListQuery(prefix: "", delimiter: "\n") }),
            ("non-ASCII delimiter", { () throws(StoreError) in try ListQuery(prefix: "", delimiter: "é") }),
        ]
        for (rule, make) in badQueries {
            switch Result(catching: make) {
            case .success(let query):
                throw c.failure("ListQuery accepted an invalid query (\(rule))",
                                expected: "StoreError invalidArgument", got: "accepted \(query)")
            case .failure(let error):
                try c.expectEqual(error.code, .invalidArgument, "an invalid listing query (\(rule)) was refused with the wrong code")
            }
        }
    }

    static func keyLengthLimit(_ c: CheckContext) async throws {
        let maximum = c.environment.maximumKeyByteCount
        try c.expect((1...StoreKey.maximumByteCount).contains(maximum),
                     "ConformanceEnvironment.maximumKeyByteCount must be between 1 and \(StoreKey.maximumByteCount)",
                     got: "\(maximum)")
        let longest = [ConformanceKeys.longKey(byteCount: maximum), String(repeating: "z", count: maximum)]
        for string in longest where c.environment.refusedKeys.contains(string) {
            try await expectRefused(try c.key(string), c)
        }
        let accepted = longest.filter { !c.environment.refusedKeys.contains($0) }
        for (index, string) in accepted.enumerated() {
            let key = try c.key(string)
            try c.expectEqual(key.byteCount, maximum, "the generated key has the wrong length")
            let value = CheckContext.bytes("longest \(index)")
            try await c.store.set(value, for: key)
            try c.expectValue(try await c.store.read(key)?.value, value, "a key of the maximum length did not round-trip", key: key)
            try c.expectEqual(try await c.store.metadata(for: key)?.key, key, "metadata of a maximum-length key", key: key)
        }
        try c.expectEqual(try await c.names(.all), accepted.sorted(by: bytewisePrecedes),
                          "maximum-length keys must be listed unchanged")

        for string in [ConformanceKeys.longKey(byteCount: maximum + 1), String(repeating: "z", count: maximum + 1)] {
            if maximum + 1 > StoreKey.maximumByteCount {
                switch Result(catching: { () throws(StoreError) in try StoreKey(validating: string) }) {
                case .success:
                    throw c.failure("StoreKey(validating:) accepted a key longer than \(StoreKey.maximumByteCount) bytes",
                                    expected: "StoreError invalidKey", got: "accepted")
                case .failure(let error):
                    try c.expectEqual(error.code, .invalidKey, "an over-long key was refused with the wrong code")
                }
            } else {
                let key = try c.key(string)
                try await c.expectError(.invalidKey, "a key longer than the store can hold must be refused with invalidKey",
                                        key: key) { try await c.store.set(Data("x".utf8), for: key) }
            }
        }
        try c.expectEqual(try await c.count(), accepted.count, "a refused key must not be written")
    }

    /// Checks that `key`, one of ``ConformanceEnvironment/refusedKeys``, is refused with
    /// ``StoreError/Code/invalidKey`` by a write, a read, a metadata read and a delete.
    static func expectRefused(_ key: StoreKey, _ c: CheckContext) async throws {
        let why = "a key of ConformanceEnvironment.refusedKeys must be refused with invalidKey"
        _ = try await c.expectError(.invalidKey, "\(why) by a write", key: key) { try await c.store.set(Data("refused".utf8), for: key) }
        _ = try await c.expectError(.invalidKey, "\(why) by a read", key: key) { try await c.store.read(key) }
        _ = try await c.expectError(.invalidKey, "\(why) by a metadata read", key: key) { try await c.store.metadata(for: key) }
        _ = try await c.expectError(.invalidKey, "\(why) by a delete", key: key) { try await c.store.delete(key) }
    }
}
