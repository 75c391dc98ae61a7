/// The result of a content-addressed write: the key the value lives under, and whether this
/// write stored it or found it already there.
public struct ContentAddressedWrite: Hashable, Sendable {
    /// The value's content address (the SHA-256 of its bytes, under the prefix if one was given).
    public let key: StoreKey
    /// The metadata of the entry under ``key``: the new entry's if ``isNew``, else the existing
    /// entry's, with its ETag unchanged.
    public let metadata: EntryMetadata
    /// Whether this write stored the value; `false` when the key already held it.
    public let isNew: Bool

    /// Creates a result.
    public init(key: StoreKey, metadata: EntryMetadata, isNew: Bool) {
        self.key = key
        self.metadata = metadata
        self.isNew = isNew
    }
}
