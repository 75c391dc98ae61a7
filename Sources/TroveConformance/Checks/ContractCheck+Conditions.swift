import Foundation
import Trove

extension ContractCheck {
    /// `WriteCondition.ifAbsent` writes when the key holds no value (including a key that is
    /// only a prefix of others) and otherwise throws `StoreError.Code.conditionFailed`, naming
    /// the key and the store, and changes nothing, for whole and streamed writes alike.
    ///
    /// Without `StoreCapabilities.conditionalWrites` the store must refuse the condition with
    /// `StoreError.Code.notSupported` and write nothing.
    public static let writeIfAbsent = ContractCheck(
        "writeIfAbsent",
        "ifAbsent writes an absent key and fails with conditionFailed, changing nothing, on a present one"
    ) { try await ConditionChecks.writeIfAbsent($0) }

    /// `WriteCondition.ifMatches(_:)` writes when the current ETag is the one given, and
    /// throws `StoreError.Code.conditionFailed` and changes nothing for a stale ETag, a made-up
    /// ETag, or an absent key (which it must not create).
    ///
    /// Without `StoreCapabilities.conditionalWrites` the store must refuse the condition with
    /// `StoreError.Code.notSupported` and write nothing.
    public static let writeIfMatches = ContractCheck(
        "writeIfMatches",
        "ifMatches writes on the right ETag and fails with conditionFailed on a wrong one or an absent key"
    ) { try await ConditionChecks.writeIfMatches($0) }

    /// `DeleteCondition.ifMatches(_:)` deletes on the right ETag and throws
    /// `StoreError.Code.conditionFailed` on a wrong one or an absent key, deleting nothing; an
    /// unconditional delete of an absent key returns `false`.
    ///
    /// Without `StoreCapabilities.conditionalDeletes` the store must refuse the condition with
    /// `StoreError.Code.notSupported` and delete nothing.
    public static let conditionalDelete = ContractCheck(
        "conditionalDelete",
        "a conditional delete removes on the right ETag and fails with conditionFailed on a wrong one or an absent key"
    ) { try await ConditionChecks.conditionalDelete($0) }
}

/// The bodies of the condition checks.
enum ConditionChecks {
    static func writeIfAbsent(_ c: CheckContext) async throws {
        let key: StoreKey = "conditions/absent"
        let first = CheckContext.bytes("first"), second = CheckContext.bytes("second")
        guard c.capabilities.contains(.conditionalWrites) else {
            try await c.expectError(.notSupported, "a store without conditionalWrites must refuse ifAbsent", key: key) {
                try await c.store.set(first, for: key, condition: .ifAbsent)
            }
            try c.expect(try await c.store.read(key) == nil, "a refused ifAbsent write must write nothing", key: key)
            return
        }

        let created = try await c.store.set(first, for: key, condition: .ifAbsent)
        try c.expectValue(try await c.store.read(key)?.value, first, "ifAbsent on an absent key must write", key: key)

        let error = try await c.expectError(.conditionFailed, "ifAbsent on a present key must fail with conditionFailed", key: key) {
            try await c.store.set(second, for: key, condition: .ifAbsent)
        }
        try c.expectNames(error, key: key)
        try await expectUnchanged(key, value: first, etag: created.etag, c)

        try await c.expectError(.conditionFailed, "a streamed ifAbsent write on a present key must fail with conditionFailed", key: key) {
            try await c.store.set(contentsOf: ValueChunks(chunksOf: second, chunkSize: 2), for: key, condition: .ifAbsent)
        }
        try await expectUnchanged(key, value: first, etag: created.etag, c)

        // After a delete the key is absent again.
        try await c.store.discard(key)
        try await c.store.set(second, for: key, condition: .ifAbsent)
        try c.expectValue(try await c.store.read(key)?.value, second, "ifAbsent after a delete must write", key: key)

        // A key that is only a prefix of another key holds no value.
        try await c.store.set(first, for: "conditions/parent/child")
        try await c.store.set(second, for: "conditions/parent", condition: .ifAbsent)
        try c.expectValue(try await c.store.read("conditions/parent")?.value, second,
                          "ifAbsent on a key that is only a prefix of others must write", key: "conditions/parent")
        try c.expectEqual(try await c.count(), 3, "failed conditions must not add keys")
    }

    static func writeIfMatches(_ c: CheckContext) async throws {
        let key: StoreKey = "conditions/matches"
        let absent: StoreKey = "conditions/never-written"
        let original = try await c.store.set(CheckContext.bytes("v1"), for: key)
        guard c.capabilities.contains(.conditionalWrites) else {
            try await c.expectError(.notSupported, "a store without conditionalWrites must refuse ifMatches", key: key) {
                try await c.store.set(CheckContext.bytes("v2"), for: key, condition: .ifMatches(original.etag))
            }
            try await expectUnchanged(key, value: CheckContext.bytes("v1"), etag: original.etag, c)
            return
        }

        let updated = try await c.store.set(CheckContext.bytes("v2"), for: key, condition: .ifMatches(original.etag))
        try c.expect(updated.etag != original.etag, "a successful ifMatches write must give a new ETag", key: key)
        try c.expectValue(try await c.store.read(key)?.value, CheckContext.bytes("v2"), "ifMatches with the right ETag must write", key: key)

        let stale = try await c.expectError(.conditionFailed, "ifMatches with a stale ETag must fail with conditionFailed", key: key) {
            try await c.store.set(CheckContext.bytes("v3"), for: key, condition: .ifMatches(original.etag))
        }
        try c.expectNames(stale, key: key)
        try await expectUnchanged(key, value: CheckContext.bytes("v2"), etag: updated.etag, c)

        try await c.expectError(.conditionFailed, "ifMatches with a made-up ETag must fail with conditionFailed", key: key) {
            try await c.store.set(CheckContext.bytes("v3"), for: key, condition: .ifMatches(ETag("\"made-up\"")))
        }
        try await c.expectError(.conditionFailed, "a streamed ifMatches write with a stale ETag must fail", key: key) {
            try await c.store.set(contentsOf: ValueChunks(chunksOf: CheckContext.bytes("v3"), chunkSize: 1),
                                  for: key, condition: .ifMatches(original.etag))
        }
        try await expectUnchanged(key, value: CheckContext.bytes("v2"), etag: updated.etag, c)

        let onAbsent = try await c.expectError(.conditionFailed, "ifMatches on an absent key must fail with conditionFailed", key: absent) {
            try await c.store.set(CheckContext.bytes("v"), for: absent, condition: .ifMatches(updated.etag))
        }
        try c.expectNames(onAbsent, key: absent)
        try c.expect(try await c.store.read(absent) == nil, "a failed ifMatches must not create the key", key: absent)

        let streamed = try await c.store.set(contentsOf: ValueChunks(chunksOf: CheckContext.bytes("v4"), chunkSize: 1),
                                             for: key, condition: .ifMatches(updated.etag))
        try c.expectValue(try await c.store.read(key)?.value, CheckContext.bytes("v4"), "a streamed ifMatches write with the right ETag", key: key)
        try c.expectEqual(try await c.store.metadata(for: key)?.etag, streamed.etag, "metadata after a streamed ifMatches write", key: key)
        try c.expectEqual(try await c.names(.all), ["conditions/matches"], "failed conditions must not add keys")
    }

    static func conditionalDelete(_ c: CheckContext) async throws {
        let key: StoreKey = "conditions/delete"
        let first = try await c.store.set(CheckContext.bytes("one"), for: key)
        guard c.capabilities.contains(.conditionalDeletes) else {
            try await c.expectError(.notSupported, "a store without conditionalDeletes must refuse a conditional delete", key: key) {
                try await c.store.delete(key, condition: .ifMatches(first.etag))
            }
            try await expectUnchanged(key, value: CheckContext.bytes("one"), etag: first.etag, c)
            return
        }
        let second = try await c.store.set(CheckContext.bytes("two"), for: key)

        let wrong = try await c.expectError(.conditionFailed, "a delete with a stale ETag must fail with conditionFailed", key: key) {
            try await c.store.delete(key, condition: .ifMatches(first.etag))
        }
        try c.expectNames(wrong, key: key)
        try await expectUnchanged(key, value: CheckContext.bytes("two"), etag: second.etag, c)

        try c.expect(try await c.store.delete(key, condition: .ifMatches(second.etag)),
                     "a delete with the right ETag must delete and return true", key: key)
        try c.expect(try await c.store.read(key) == nil, "a key deleted with the right ETag still reads a value", key: key)

        let onAbsent = try await c.expectError(.conditionFailed, "a conditional delete of an absent key must fail with conditionFailed", key: key) {
            try await c.store.delete(key, condition: .ifMatches(second.etag))
        }
        try c.expectNames(onAbsent, key: key)
        try c.expect(try await c.store.delete(key, condition: .always) == false,
                     "an unconditional delete of an absent key must return false", key: key)
        try c.expectEqual(try await c.names(.all), [], "the store must be empty after the delete")
    }

    /// Checks that `key` still holds `value` with `etag`: a failed condition changed nothing.
    static func expectUnchanged(_ key: StoreKey, value: Data, etag: ETag, _ c: CheckContext,
                                fileID: String = #fileID, line: Int = #line) async throws {
        let entry = try await c.store.read(key)
        try c.expectValue(entry?.value, value, "a failed or refused condition changed the value", key: key, fileID: fileID, line: line)
        try c.expectEqual(entry?.metadata.etag, etag, "a failed or refused condition changed the ETag", key: key, fileID: fileID, line: line)
    }
}
