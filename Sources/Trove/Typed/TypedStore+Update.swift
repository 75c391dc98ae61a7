extension TypedStore {
    /// Changes the value under `key` by compare-and-swap: reads and decodes it, asks `transform`
    /// what to do, and writes only if nobody changed the entry in between, retrying otherwise.
    ///
    ///     try await carts.update("alice") { cart in
    ///         guard var cart else { return .keep }          // leave a missing cart missing
    ///         cart.items.removeAll { $0.isExpired }
    ///         return cart.items.isEmpty ? .delete : .set(cart)
    ///     }
    ///
    /// Built on ``KeyValueStore/update(_:maxAttempts:backoff:_:)``: `transform` may run several times
    /// under contention and must not have side effects that matter. A stored value keeps its
    /// expiry date. Requires ``StoreCapabilities/conditionalWrites``, and
    /// ``StoreCapabilities/conditionalDeletes`` when `transform` returns ``TypedUpdateAction/delete``.
    ///
    /// - Parameters:
    ///   - key: The key to update.
    ///   - maxAttempts: How many times to try before giving up. Defaults to 100.
    ///   - backoff: How long to wait after each lost race. Defaults to ``Backoff/default``.
    ///   - transform: Receives the current value (`nil` if absent) and returns what to do.
    /// - Returns: What was done, with the value the key holds afterwards.
    /// - Throws: ``StoreError/Code/decodingFailed`` when the current value does not decode
    ///   (nothing is changed); ``StoreError/Code/invalidArgument`` when the new value does not
    ///   encode; ``StoreError/Code/conditionFailed`` if every attempt lost a race;
    ///   ``StoreError/Code/notSupported`` if the store lacks the conditions it needs; whatever
    ///   `transform` throws.
    @discardableResult
    public func update(
        _ key: StoreKey,
        maxAttempts: Int = 100,
        backoff: Backoff = .default,
        _ transform: (Value?) async throws -> TypedUpdateAction<Value>
    ) async throws -> TypedUpdateOutcome<Value> {
        // The closure runs once per attempt, and the store returns right after the attempt
        // that succeeded, so the last decision recorded here is the one that took effect.
        var stored: Value?
        var kept: Value?
        let outcome = try await base.update(key, maxAttempts: maxAttempts, backoff: backoff) { bytes in
            let current = try bytes.map { try decode($0, for: key, during: .update) }
            stored = nil
            kept = nil
            switch try await transform(current) {
            case .set(let value):
                stored = value
                return .set(try encode(value, for: key, during: .update))
            case .keep:
                kept = current
                return .keep
            case .delete:
                return .delete
            }
        }
        switch outcome {
        case .stored(let metadata):
            guard let stored else {
                throw StoreError(.io, operation: .update, key: key, store: description,
                                 message: "the store reported a write that the update did not ask for")
            }
            return .stored(stored, metadata)
        case .kept:
            return .kept(kept)
        case .deleted:
            return .deleted
        }
    }

    /// Changes the value under `key` in place by compare-and-swap, starting from `defaultValue`
    /// when the key is empty, and returns the value stored.
    ///
    ///     let visits = try await counters.update("visits", default: 0) { $0 += 1 }
    ///
    /// Always writes, even if `mutate` changes nothing. `mutate` may run several times under
    /// contention and must not have side effects that matter; see ``update(_:maxAttempts:backoff:_:)``.
    ///
    /// - Parameters:
    ///   - key: The key to update.
    ///   - defaultValue: The value to start from when `key` holds none; evaluated only then.
    ///   - maxAttempts: How many times to try before giving up. Defaults to 100.
    ///   - backoff: How long to wait after each lost race. Defaults to ``Backoff/default``.
    ///   - mutate: Changes the value.
    /// - Returns: The value stored.
    /// - Throws: As ``update(_:maxAttempts:backoff:_:)``.
    @discardableResult
    public func update(
        _ key: StoreKey,
        default defaultValue: @autoclosure () throws -> Value,
        maxAttempts: Int = 100,
        backoff: Backoff = .default,
        _ mutate: (inout Value) async throws -> Void
    ) async throws -> Value {
        let outcome = try await update(key, maxAttempts: maxAttempts, backoff: backoff) { current in
            var value = try current ?? defaultValue()
            try await mutate(&value)
            return .set(value)
        }
        guard case .stored(let value, _) = outcome else {
            throw StoreError(.io, operation: .update, key: key, store: description,
                             message: "the update stored nothing although it asked to store a value")
        }
        return value
    }
}
