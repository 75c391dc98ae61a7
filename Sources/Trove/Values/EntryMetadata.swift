public import Foundation

/// What a store knows about one entry besides its bytes.
///
/// ``size``, ``etag`` and ``modificationDate`` are always present. ``creationDate`` and
/// ``expirationDate`` are present where the store keeps them; its ``StoreCapabilities`` say
/// which it does.
public struct EntryMetadata: Hashable, Sendable {
    /// The entry's key.
    public var key: StoreKey
    /// The value's length in bytes.
    public var size: Int64
    /// The token of this version of the entry; it changes on every write.
    public var etag: ETag
    /// When the value was last written.
    public var modificationDate: Date
    /// When the entry was created, where the store keeps it (see the store's documentation for
    /// whether an overwrite renews it).
    public var creationDate: Date?
    /// When the entry expires, or `nil` if it does not.
    public var expirationDate: Date?

    /// Creates metadata.
    public init(
        key: StoreKey,
        size: Int64,
        etag: ETag,
        modificationDate: Date,
        creationDate: Date? = nil,
        expirationDate: Date? = nil
    ) {
        self.key = key
        self.size = size
        self.etag = etag
        self.modificationDate = modificationDate
        self.creationDate = creationDate
        self.expirationDate = expirationDate
    }

    /// Whether the entry has expired at `date`.
    public func isExpired(at date: Date) -> Bool {
        guard let expirationDate else { return false }
        return expirationDate <= date
    }
}

/// A value together with its metadata, as ``KeyValueStore/read(_:)`` returns it.
public struct StoreEntry: Hashable, Sendable {
    /// The value's bytes.
    public var value: Data
    /// The entry's metadata.
    public var metadata: EntryMetadata

    /// Creates an entry.
    public init(value: Data, metadata: EntryMetadata) {
        self.value = value
        self.metadata = metadata
    }
}
