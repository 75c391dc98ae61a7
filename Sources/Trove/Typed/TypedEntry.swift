/// A decoded value together with its entry's metadata, as ``TypedStore/read(_:)`` returns it.
///
/// Keep the ``metadata``'s ETag to write back only if nobody changed the entry since:
///
///     if let entry = try await users.read("alice") {
///         var alice = entry.value
///         alice.visits += 1
///         try await users.set(alice, for: "alice", condition: .ifMatches(entry.metadata.etag))
///     }
public struct TypedEntry<Value> {
    /// The decoded value.
    public var value: Value
    /// The entry's metadata: size of the encoded bytes, ETag, dates.
    public var metadata: EntryMetadata

    /// Creates an entry.
    public init(value: Value, metadata: EntryMetadata) {
        self.value = value
        self.metadata = metadata
    }
}

extension TypedEntry: Sendable where Value: Sendable {}
extension TypedEntry: Equatable where Value: Equatable {}
extension TypedEntry: Hashable where Value: Hashable {}
