public import Foundation

/// What an ``KeyValueStore/update(_:maxAttempts:backoff:_:)`` closure decides to do with a value.
public enum UpdateAction: Sendable {
    /// Store these bytes.
    case set(Data)
    /// Leave the current value (or its absence) as it is.
    case keep
    /// Delete the current value.
    case delete
}

/// What an update did in the end.
public enum UpdateOutcome: Sendable, Equatable {
    /// A value was stored; its new metadata.
    case stored(EntryMetadata)
    /// Nothing was changed.
    case kept
    /// The value was deleted (or was already absent).
    case deleted
}

extension KeyValueStore {
    /// Changes the value under `key` by compare-and-swap: reads it, asks `transform` what to do,
    /// and writes only if nobody changed the entry in between, retrying otherwise after a
    /// jittered pause (see ``Backoff``).
    ///
    ///     try await store.update("counters/visits") { current in
    ///         let count = current.flatMap { Int(String(decoding: $0, as: UTF8.self)) } ?? 0
    ///         return .set(Data(String(count + 1).utf8))
    ///     }
    ///
    /// `transform` may run several times under contention; it must not have side effects that
    /// matter. Requires ``StoreCapabilities/conditionalWrites``, and
    /// ``StoreCapabilities/conditionalDeletes`` when `transform` returns ``UpdateAction/delete``.
    ///
    /// - Parameters:
    ///   - key: The key to update.
    ///   - maxAttempts: How many times to try before giving up. Defaults to 100.
    ///   - backoff: How long to wait after each lost race. Defaults to ``Backoff/default``
    ///     (up to 1 ms after the first, doubling up to 100 ms).
    ///   - transform: Receives the current value (`nil` if absent) and returns what to do.
    /// - Returns: What was done.
    /// - Throws: ``StoreError/Code/conditionFailed`` if every attempt lost a race;
    ///   `CancellationError` if the task is cancelled, between attempts or during a pause;
    ///   ``StoreError/Code/notSupported`` if the store lacks the conditions it needs; whatever
    ///   `transform` throws.
    @discardableResult
    public func update(
        _ key: StoreKey,
        maxAttempts: Int = 100,
        backoff: Backoff = .default,
        _ transform: (Data?) async throws -> UpdateAction
    ) async throws -> UpdateOutcome {
        guard capabilities.contains(.conditionalWrites) else {
            throw StoreError(.notSupported, operation: .update, key: key, store: description,
                             message: "update needs conditional writes, which this store does not have")
        }
        let attempts = max(1, maxAttempts)
        for attempt in 1...attempts {
            try Task.checkCancellation()
            let current = try await read(key)
            do {
                switch try await transform(current?.value) {
                case .keep:
                    return .kept
                case .set(let value):
                    let condition: WriteCondition = current.map { .ifMatches($0.metadata.etag) } ?? .ifAbsent
                    let expiry: Expiry = current?.metadata.expirationDate.map { .at($0) } ?? .never
                    return .stored(try await write(value, for: key, options: WriteOptions(condition: condition, expiry: expiry)))
                case .delete:
                    guard let current else { return .deleted }
                    guard capabilities.contains(.conditionalDeletes) else {
                        throw StoreError(.notSupported, operation: .update, key: key, store: description,
                                         message: "deleting in an update needs conditional deletes, which this store does not have")
                    }
                    _ = try await delete(key, condition: .ifMatches(current.metadata.etag))
                    return .deleted
                }
            } catch let error as StoreError where error.code == .conditionFailed {
                if attempt < attempts { try await backoff.pause(afterConflict: attempt) }
                continue
            }
        }
        throw StoreError(.conditionFailed, operation: .update, key: key, store: description,
                         message: "gave up after \(maxAttempts) attempts: other writers kept changing the entry")
    }
}
