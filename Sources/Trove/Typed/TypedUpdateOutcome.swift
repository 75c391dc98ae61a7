/// What a ``TypedStore/update(_:maxAttempts:backoff:_:)`` did in the end.
public enum TypedUpdateOutcome<Value> {
    /// This value was stored; its entry's new metadata.
    case stored(Value, EntryMetadata)
    /// Nothing was changed; the value that was there (`nil` if the key was empty).
    case kept(Value?)
    /// The value was deleted (or the key was already empty).
    case deleted

    /// The value under the key once the update was done, or `nil` if there is none.
    public var value: Value? {
        switch self {
        case .stored(let value, _): return value
        case .kept(let value): return value
        case .deleted: return nil
        }
    }

    /// The new metadata, if a value was stored.
    public var metadata: EntryMetadata? {
        if case .stored(_, let metadata) = self { return metadata }
        return nil
    }
}

extension TypedUpdateOutcome: Sendable where Value: Sendable {}
extension TypedUpdateOutcome: Equatable where Value: Equatable {}
