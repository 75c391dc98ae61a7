import Foundation
import Trove

extension ContractCheck {
    /// The dictionary operations every store has: `count(withPrefix:)` agrees with listing,
    /// `discard` of a missing key is no error, `removeValue(for:)` returns what it deleted,
    /// `value(for:default:)` inserts only when absent, `increment` counts, `removeAll(withPrefix:)`
    /// empties exactly its prefix, `entries`/`values` read in batches in key order, and
    /// `copy(to:)` carries values and expiry to another store.
    public static let dictionaryOperations = ContractCheck(
        "dictionaryOperations",
        "count, discard, removeValue, value(for:default:), increment, removeAll, entries and copy behave as a dictionary's"
    ) { try await DictionaryChecks.dictionaryOperations($0) }

    /// A streamed write with `WriteOptions.expectedSize` succeeds when the chunks add up to
    /// it, and otherwise fails with `StoreError.Code.invalidArgument` leaving the key as it
    /// was; `KeyValueStore.withReadStream(_:chunkSize:options:_:)` and
    /// `KeyValueStore.withListing(_:pageSize:_:)` hand their body a working stream and listing.
    public static let scopedStreams = ContractCheck(
        "scopedStreams",
        "expected sizes are enforced on streamed writes; scoped streams and listings work and end with their scope"
    ) { try await DictionaryChecks.scopedStreams($0) }
}

/// The bodies of the dictionary checks.
enum DictionaryChecks {
    static func dictionaryOperations(_ c: CheckContext) async throws {
        let names = (0..<25).map { String(format: "d/%02d", $0) } + ["e/1", "e/2"]
        try await c.writeAll(try names.map { try c.key($0) }) { CheckContext.bytes("v:" + $0.rawValue) }
        try c.expectEqual(try await c.store.count(withPrefix: "d/"), 25, "count(withPrefix:) must agree with what was written")
        try c.expectEqual(try await c.store.count(withPrefix: "d/"), try await c.count(withPrefix: "d/"),
                          "count(withPrefix:) must agree with listing")
        try c.expectEqual(try await c.store.count(withPrefix: "nothing/"), 0, "count of an empty prefix")
        try await c.store.discard("d/missing")

        var listed: [String] = []
        for try await entry in try c.store.entries(withPrefix: "d/", batchSize: 7) {
            try c.expectValue(entry.value, CheckContext.bytes("v:" + entry.metadata.key.rawValue),
                              "entries(withPrefix:) returned another key's value", key: entry.metadata.key)
            listed.append(entry.metadata.key.rawValue)
        }
        try c.expectEqual(listed, Array(names.prefix(25)), "entries(withPrefix:) must return every key in order")

        if c.capabilities.contains(.conditionalDeletes) {
            try c.expectValue(try await c.store.removeValue(for: "d/00"), CheckContext.bytes("v:d/00"),
                              "removeValue(for:) must return the value it deleted", key: "d/00")
            try c.expect(try await c.store.removeValue(for: "d/00") == nil, "removeValue(for:) of a missing key returns nil", key: "d/00")
            try c.expect(try await c.store.read("d/00") == nil, "removeValue(for:) must delete", key: "d/00")
        }
        if c.capabilities.contains(.conditionalWrites) {
            let inserted = try await c.store.value(for: "s/default", default: CheckContext.bytes("first"))
            let kept = try await c.store.value(for: "s/default", default: CheckContext.bytes("second"))
            try c.expectValue(inserted, CheckContext.bytes("first"), "value(for:default:) must insert into an empty key", key: "s/default")
            try c.expectValue(kept, CheckContext.bytes("first"), "value(for:default:) must return the stored value, not the default",
                              key: "s/default")
            for expected: Int64 in [1, 2, 3] {
                try c.expectEqual(try await c.store.increment("s/counter"), expected, "increment must count up from 0", key: "s/counter")
            }
            try c.expectEqual(try await c.store.increment("s/counter", by: -10), -7, "increment by a negative delta", key: "s/counter")
            try c.expectValue(try await c.store.read("s/counter")?.value, CheckContext.bytes("-7"),
                              "a counter is kept as decimal text", key: "s/counter")
            try await c.expectError(.decodingFailed, "incrementing a value that is not an integer must fail", key: "s/default") {
                try await c.store.increment("s/default")
            }
            try await c.store.discard("s/default")
            try await c.store.discard("s/counter")
        }

        let copy = MemoryStore()
        let expires = c.capabilities.contains(.expiration)
        if expires { try await c.store.set(CheckContext.bytes("brief"), for: "e/3", expiry: .after(.seconds(3600))) }
        let report = try await c.store.copy(to: copy, withPrefix: "e/", concurrency: 2)
        try c.expectEqual(report.copied, expires ? 3 : 2, "copy(to:) must copy every entry under the prefix")
        try c.expectEqual(try await copy.count(), expires ? 3 : 2, "copy(to:) must write every entry to the destination")
        try c.expectValue(try await copy.read("e/1")?.value, CheckContext.bytes("v:e/1"), "copy(to:) must copy the value", key: "e/1")
        if expires {
            let source = try await c.store.metadata(for: "e/3")?.expirationDate
            let copied = try await copy.metadata(for: "e/3")?.expirationDate
            try c.expect(source != nil && copied != nil && abs(source!.timeIntervalSince(copied!)) < 1,
                         "copy(to:) must keep an entry's expiry", key: "e/3", expected: "\(source.map { "\($0)" } ?? "nil")",
                         got: "\(copied.map { "\($0)" } ?? "nil")")
        }
        let again = try await c.store.copy(to: copy, withPrefix: "e/", replacing: false)
        try c.expectEqual(again.copied, 0, "copy(to:replacing: false) must skip keys the destination holds")

        let removed = try await c.store.removeAll(withPrefix: "d/")
        try c.expect(removed >= 24, "removeAll(withPrefix:) must report the keys it deleted", got: "\(removed)")
        try c.expectEqual(try await c.count(withPrefix: "d/"), 0, "removeAll(withPrefix:) must empty the prefix")
        try c.expectEqual(try await c.count(withPrefix: "e/"), expires ? 3 : 2, "removeAll(withPrefix:) must leave other prefixes alone")
    }

    static func scopedStreams(_ c: CheckContext) async throws {
        let key: StoreKey = "scoped/value"
        let value = BytePattern(seed: 0x5C0).bytes(at: 0, count: c.valueSize(10_000))
        let size = Int64(value.count)
        try await c.store.set(contentsOf: ValueChunks(chunksOf: value, chunkSize: 1000), for: key, expectedSize: size)
        try c.expectValue(try await c.store.read(key)?.value, value, "a streamed write of its expected size", key: key)
        for wrong in [size - 1, size + 1] {
            try await c.expectError(.invalidArgument, "a streamed write whose chunks do not add up to its expected size must fail",
                                    key: key) {
                try await c.store.set(contentsOf: ValueChunks(chunksOf: CheckContext.bytes("other"), chunkSize: 2), for: key,
                                      expectedSize: wrong == size - 1 ? 4 : 6)
            }
        }
        try c.expectValue(try await c.store.read(key)?.value, value, "a refused streamed write must leave the key as it was", key: key)

        let read = try await c.store.withReadStream(key, chunkSize: 999) { stream in
            try await stream?.chunks.collect()
        }
        try c.expectValue(read, value, "withReadStream must hand its body the value", key: key)
        let none = try await c.store.withReadStream("scoped/missing") { stream in stream == nil }
        try c.expect(none, "withReadStream must hand its body nil for a missing key", key: "scoped/missing")

        try await c.writeAll(try (0..<5).map { try c.key("scoped/list/\($0)") }) { CheckContext.bytes($0.rawValue) }
        var kept: StoreListing.AsyncIterator?
        let firstTwo = try await c.store.withListing(try ListQuery(prefix: "scoped/list/"), pageSize: 2) { listing in
            var iterator = listing.makeAsyncIterator()
            var names: [String] = []
            while names.count < 2, let element = try await iterator.next() { names.append(element.name) }
            kept = iterator
            return names
        }
        try c.expectEqual(firstTwo, ["scoped/list/0", "scoped/list/1"], "withListing must hand its body the listing")
        if var kept {
            do {
                let element = try await kept.next()
                throw c.failure("an iterator kept past its withListing scope must not go on", expected: "an error",
                                got: "\(element.map(\.name) ?? "nil")")
            } catch let error as StoreError {
                try c.expectEqual(error.code, .invalidArgument, "iterating past a withListing scope")
            }
        }
    }
}
