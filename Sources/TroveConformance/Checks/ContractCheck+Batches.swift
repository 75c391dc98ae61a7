import Foundation
import Trove

extension ContractCheck {
    /// `KeyValueStore.readBatch(_:)` returns one element per key in order (repeats and missing
    /// keys included); `KeyValueStore.writeBatch(_:)` and `KeyValueStore.deleteBatch(_:)`
    /// return one result per entry, each entry's condition judged after the entries before it.
    /// When an entry fails, a store with `StoreCapabilities.atomicBatches` applies none of the
    /// batch and fails every entry; a store without it applies the others.
    public static let batches = ContractCheck(
        "batches",
        "batched reads, writes and deletes answer per entry, in order, and atomic batches apply all or nothing"
    ) { try await BatchChecks.batches($0) }
}

/// The bodies of the batch checks.
enum BatchChecks {
    static func batches(_ c: CheckContext) async throws {
        let atomic = c.capabilities.contains(.atomicBatches)
        let conditional = c.capabilities.contains(.conditionalWrites)

        // A clean batch.
        let keys = try (0..<20).map { try c.key("batch/\(String(format: "%02d", $0))") }
        let written = try await c.store.writeBatch(keys.map { BatchWrite($0, CheckContext.bytes("v-\($0.rawValue)")) })
        try c.expectEqual(written.count, keys.count, "writeBatch must return one result per entry")
        for (key, result) in zip(keys, written) {
            guard case .success(let metadata) = result else {
                throw c.failure("a plain batched write failed", key: key, expected: "success", got: "\(result)")
            }
            try c.expectEqual(metadata.key, key, "a batched write's metadata names another key", key: key)
            try c.expectEqual(metadata.size, Int64(CheckContext.bytes("v-\(key.rawValue)").count),
                              "a batched write's metadata has the wrong size", key: key)
        }
        let missing: StoreKey = "batch/missing"
        let asked = [keys[3], missing, keys[0], keys[3]]
        let read = try await c.store.readBatch(asked)
        try c.expectEqual(read.count, asked.count, "readBatch must return one element per key, repeats included")
        for (key, entry) in zip(asked, read) where key != missing {
            try c.expectValue(entry?.value, CheckContext.bytes("v-\(key.rawValue)"), "readBatch returned the wrong value", key: key)
            try c.expectEqual(entry?.metadata.key, key, "readBatch returned the metadata of another key", key: key)
        }
        try c.expect(read[1] == nil, "readBatch must return nil for a missing key", key: missing)
        try c.expectEqual(try await c.store.readBatch([]).count, 0, "an empty readBatch returns nothing")

        // A key written twice in one batch ends with the later value.
        let twice: StoreKey = "batch/twice"
        _ = try await c.store.writeBatch([BatchWrite(twice, CheckContext.bytes("first")), BatchWrite(twice, CheckContext.bytes("second"))])
        try c.expectValue(try await c.store.read(twice)?.value, CheckContext.bytes("second"),
                          "a key written twice in one batch must end with the later value", key: twice)

        if conditional {
            // One failing condition in the middle of a batch.
            let fresh: StoreKey = "batch/fresh"
            let taken = keys[5]
            let mixed = [
                BatchWrite(fresh, CheckContext.bytes("fresh")),
                BatchWrite(taken, CheckContext.bytes("not written"), options: WriteOptions(condition: .ifAbsent)),
                BatchWrite(keys[6], CheckContext.bytes("changed")),
            ]
            let results = try await c.store.writeBatch(mixed)
            try c.expectEqual(results.count, 3, "writeBatch must return one result per entry")
            guard case .failure(let error) = results[1], error.code == .conditionFailed else {
                throw c.failure("an ifAbsent entry over a taken key must fail with conditionFailed", key: taken,
                                expected: "failure(conditionFailed)", got: "\(results[1])")
            }
            try c.expectNames(error, key: taken)
            try c.expectValue(try await c.store.read(taken)?.value, CheckContext.bytes("v-\(taken.rawValue)"),
                              "a failed entry of a batch must leave the key as it was", key: taken)
            if atomic {
                for index in [0, 2] {
                    guard case .failure = results[index] else {
                        throw c.failure("in an atomic batch, every entry must fail when one does", key: mixed[index].key,
                                        expected: "failure", got: "\(results[index])")
                    }
                }
                try c.expect(try await c.store.read(fresh) == nil, "an atomic batch with a failed entry must write nothing", key: fresh)
                try c.expectValue(try await c.store.read(keys[6])?.value, CheckContext.bytes("v-\(keys[6].rawValue)"),
                                  "an atomic batch with a failed entry must change nothing", key: keys[6])
            } else {
                try c.expectValue(try await c.store.read(fresh)?.value, CheckContext.bytes("fresh"),
                                  "in a batch that is not atomic, the other entries must be written", key: fresh)
                try c.expectValue(try await c.store.read(keys[6])?.value, CheckContext.bytes("changed"),
                                  "in a batch that is not atomic, the other entries must be written", key: keys[6])
            }

            // Conditions see the entries before them in the same batch.
            let chained: StoreKey = "batch/chained"
            let chain = try await c.store.writeBatch([
                BatchWrite(chained, CheckContext.bytes("one"), options: WriteOptions(condition: .ifAbsent)),
                BatchWrite(chained, CheckContext.bytes("two"), options: WriteOptions(condition: .ifAbsent)),
            ])
            guard case .failure(let second) = chain[1], second.code == .conditionFailed else {
                throw c.failure("the second ifAbsent write of a key in one batch must see the first", key: chained,
                                expected: "failure(conditionFailed) for the second entry", got: "\(chain)")
            }
            if atomic {
                guard case .failure = chain[0] else {
                    throw c.failure("in an atomic batch, every entry must fail when one does", key: chained,
                                    expected: "failure", got: "\(chain[0])")
                }
                try c.expect(try await c.store.read(chained) == nil, "an atomic batch with a failed entry must write nothing", key: chained)
            } else {
                guard case .success = chain[0] else {
                    throw c.failure("the first ifAbsent write of a fresh key in a batch must succeed", key: chained,
                                    expected: "success", got: "\(chain[0])")
                }
                try c.expectValue(try await c.store.read(chained)?.value, CheckContext.bytes("one"),
                                  "the first of two ifAbsent writes in a batch must win", key: chained)
            }
        }

        // Deletes.
        let deleted = try await c.store.deleteBatch([keys[0], keys[1], missing])
        try c.expectEqual(deleted.count, 3, "deleteBatch must return one result per key")
        for (index, result) in deleted.enumerated() {
            guard case .success = result else {
                throw c.failure("an unconditional batched delete failed (a missing key included)", expected: "success",
                                got: "entry \(index): \(result)")
            }
        }
        for key in keys[0...1] {
            try c.expect(try await c.store.read(key) == nil, "deleteBatch must delete its keys", key: key)
        }
        if c.capabilities.contains(.conditionalDeletes) {
            let stale = written[2].map(\.etag)
            let fresh = try await c.store.set(CheckContext.bytes("again"), for: keys[2])
            guard case .success(let staleETag) = stale else { return }
            let results = try await c.store.deleteBatch([BatchDelete(keys[3]), BatchDelete(keys[2], condition: .ifMatches(staleETag))])
            guard case .failure(let error) = results[1], error.code == .conditionFailed else {
                throw c.failure("a batched delete with a stale ETag must fail with conditionFailed", key: keys[2],
                                expected: "failure(conditionFailed)", got: "\(results[1])")
            }
            try c.expectEqual(try await c.store.metadata(for: keys[2])?.etag, fresh.etag,
                              "a failed conditional delete of a batch must leave the key", key: keys[2])
            let survived = try await c.store.read(keys[3]) != nil
            try c.expect(survived == atomic, atomic
                         ? "an atomic delete batch with a failed entry must delete nothing"
                         : "in a delete batch that is not atomic, the other keys must be deleted", key: keys[3])
        }
    }
}
