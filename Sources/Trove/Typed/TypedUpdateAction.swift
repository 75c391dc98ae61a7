/// What a ``TypedStore/update(_:maxAttempts:backoff:_:)`` closure decides to do with a value.
///
///     try await carts.update("alice") { cart in
///         guard var cart else { return .keep }        // nothing to change
///         cart.items.removeAll { $0.isExpired }
///         return cart.items.isEmpty ? .delete : .set(cart)
///     }
public enum TypedUpdateAction<Value> {
    /// Store this value.
    case set(Value)
    /// Leave the current value (or its absence) as it is (persidict's `KEEP_CURRENT`).
    case keep
    /// Delete the current value, if there is one (persidict's `DELETE_CURRENT`).
    case delete
}

extension TypedUpdateAction: Sendable where Value: Sendable {}
extension TypedUpdateAction: Equatable where Value: Equatable {}
