public import Foundation

/// One write of a batch: a value, its key, and how to write it.
///
///     let results = try await store.writeBatch([
///         BatchWrite("users/alice", alice),
///         BatchWrite("users/bob", bob, options: WriteOptions(condition: .ifAbsent)),
///     ])
public struct BatchWrite: Hashable, Sendable {
    /// Where to store the value.
    public var key: StoreKey
    /// The bytes to store.
    public var value: Data
    /// The write's condition and expiry. Defaults to ``WriteOptions/default``.
    public var options: WriteOptions

    /// Creates one write of a batch.
    public init(_ key: StoreKey, _ value: Data, options: WriteOptions = .default) {
        self.key = key
        self.value = value
        self.options = options
    }
}

/// One delete of a batch: a key, and when to delete it.
public struct BatchDelete: Hashable, Sendable, ExpressibleByStringLiteral {
    /// The key to delete.
    public var key: StoreKey
    /// When to delete. Defaults to ``DeleteCondition/always``.
    public var condition: DeleteCondition

    /// Creates one delete of a batch.
    public init(_ key: StoreKey, condition: DeleteCondition = .always) {
        self.key = key
        self.condition = condition
    }

    /// An unconditional delete of the key `value`.
    ///
    /// - Precondition: `value` is a valid ``StoreKey``.
    public init(stringLiteral value: String) {
        self.init(StoreKey(stringLiteral: value))
    }
}

extension KeyValueStore {
    /// Reads `keys` one after the other: the loop behind ``readBatch(_:)`` for stores without a
    /// batch of their own, and for layers that must see every entry.
    public func readEachInTurn(_ keys: [StoreKey]) async throws -> [StoreEntry?] {
        var entries: [StoreEntry?] = []
        entries.reserveCapacity(keys.count)
        for key in keys { entries.append(try await read(key)) }
        return entries
    }

    /// Writes `writes` one after the other, each succeeding or failing on its own: the loop
    /// behind ``writeBatch(_:)`` for stores without a batch of their own.
    ///
    /// `CancellationError` stops the loop and is thrown as it is.
    public func writeEachInTurn(_ writes: [BatchWrite]) async throws -> [Result<EntryMetadata, StoreError>] {
        var results: [Result<EntryMetadata, StoreError>] = []
        results.reserveCapacity(writes.count)
        for write in writes {
            try Task.checkCancellation()
            do {
                results.append(.success(try await self.write(write.value, for: write.key, options: write.options)))
            } catch let error as StoreError {
                results.append(.failure(error))
            }
        }
        return results
    }

    /// Deletes the keys of `deletes` one after the other, each succeeding or failing on its
    /// own: the loop behind ``KeyValueStore/deleteBatch(_:)`` for stores without a batch of their own.
    public func deleteEachInTurn(_ deletes: [BatchDelete]) async throws -> [Result<Void, StoreError>] {
        var results: [Result<Void, StoreError>] = []
        results.reserveCapacity(deletes.count)
        for delete in deletes {
            try Task.checkCancellation()
            do {
                if delete.condition == .always {
                    try await discard(delete.key)
                } else {
                    _ = try await self.delete(delete.key, condition: delete.condition)
                }
                results.append(.success(()))
            } catch let error as StoreError {
                results.append(.failure(error))
            }
        }
        return results
    }

    /// Deletes `keys` unconditionally in one batch (see ``deleteBatch(_:)``).
    @discardableResult
    public func deleteBatch(_ keys: [StoreKey]) async throws -> [Result<Void, StoreError>] {
        try await deleteBatch(keys.map { BatchDelete($0) })
    }
}

extension Array {
    /// Throws the first failure of a batch's results, or returns the successes in order.
    ///
    ///     let written = try await store.writeBatch(writes).get()
    public func get<Success, Failure: Error>() throws(Failure) -> [Success] where Element == Result<Success, Failure> {
        var values: [Success] = []
        values.reserveCapacity(count)
        for result in self { values.append(try result.get()) }
        return values
    }
}

extension StoreError {
    /// The error for an entry of an atomic batch that was not applied because another entry
    /// failed: the same code as that entry's error, a message that says so, and the entry's
    /// own key.
    public static func batchAborted(by cause: StoreError, key: StoreKey, store: String) -> StoreError {
        var error = StoreError(cause.code, operation: cause.operation, key: key, store: store,
                               message: "not applied: the batch is atomic and the entry for '\(cause.key?.escapedDescription ?? "?")' failed (\(cause.message))",
                               underlying: cause)
        error.isRetryable = cause.isRetryable
        return error
    }
}

/// Runs a batch through a layer that refuses some entries itself: the refused entries fail with
/// the layer's error, the others go to `forward` in one batch, and the results come back in the
/// order of `items`. When the store is atomic (`atomic`), one refusal fails the whole batch
/// and nothing is forwarded.
func forwardingBatch<Item, Success>(
    _ items: [Item],
    atomic: Bool,
    store: String,
    key: (Item) -> StoreKey,
    refusal: (Item) -> StoreError?,
    forward: ([Item]) async throws -> [Result<Success, StoreError>]
) async throws -> [Result<Success, StoreError>] {
    let refusals = items.map(refusal)
    if let first = refusals.compactMap({ $0 }).first, atomic {
        return zip(items, refusals).map { item, refused in
            .failure(refused ?? StoreError.batchAborted(by: first, key: key(item), store: store))
        }
    }
    let accepted = zip(items, refusals).filter { $0.1 == nil }.map(\.0)
    var forwarded = (accepted.isEmpty ? [] : try await forward(accepted)).makeIterator()
    return refusals.map { refused in
        if let refused { return .failure(refused) }
        return forwarded.next() ?? .failure(StoreError(.io, operation: .write, store: store,
                                                       message: "the store beneath returned fewer results than the batch had entries"))
    }
}
