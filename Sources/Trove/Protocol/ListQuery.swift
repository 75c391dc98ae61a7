/// What to list: keys that start with a prefix, optionally one level of a hierarchy.
///
/// The prefix is a plain byte prefix, as S3 has it: `"us"` matches `users/alice` and `usage`.
/// With a ``delimiter``, keys that contain the delimiter after the prefix are rolled up into
/// one ``ListElement/commonPrefix(_:)`` each (the prefix up to and including the delimiter),
/// so listing `"photos/"` with delimiter `/` gives the keys directly under `photos/` and the
/// sub-levels such as `photos/2024/`.
public struct ListQuery: Hashable, Sendable {
    /// Keys must start with these bytes. Empty lists everything.
    public let prefix: String
    /// The hierarchy separator, or `nil` to list every key under the prefix.
    public let delimiter: Character?
    /// Whether each key comes with its ``EntryMetadata``.
    public let includesMetadata: Bool

    /// Creates a query.
    ///
    /// - Parameters:
    ///   - prefix: The bytes keys must start with. Defaults to `""`, every key.
    ///   - delimiter: A single ASCII character that separates levels, or `nil`. Defaults to `nil`.
    ///   - includesMetadata: Whether to return metadata with each key. Defaults to `false`.
    /// - Throws: ``StoreError/Code/invalidArgument`` when the prefix is longer than a key can be
    ///   or holds a control character, or the delimiter is not a printable ASCII character.
    public init(prefix: String = "", delimiter: Character? = nil, includesMetadata: Bool = false) throws(StoreError) {
        if prefix.utf8.count > StoreKey.maximumByteCount {
            throw StoreError(.invalidArgument, operation: .list,
                             message: "a listing prefix must be at most \(StoreKey.maximumByteCount) UTF-8 bytes")
        }
        if prefix.unicodeScalars.contains(where: StoreKey.isControl) {
            throw StoreError(.invalidArgument, operation: .list,
                             message: "listing prefix '\(StoreKey.escape(prefix))' contains a control character")
        }
        if let delimiter {
            guard let ascii = delimiter.asciiValue, ascii >= 0x20, ascii < 0x7F else {
                throw StoreError(.invalidArgument, operation: .list,
                                 message: "a listing delimiter must be one printable ASCII character, not '\(StoreKey.escape(String(delimiter)))'")
            }
        }
        self.prefix = prefix
        self.delimiter = delimiter
        self.includesMetadata = includesMetadata
    }

    /// Every key, without metadata.
    public static let all = ListQuery(validPrefix: "", delimiter: nil, includesMetadata: false)

    init(validPrefix: String, delimiter: Character?, includesMetadata: Bool) {
        self.prefix = validPrefix
        self.delimiter = delimiter
        self.includesMetadata = includesMetadata
    }

    /// The delimiter as one byte, if there is one.
    public var delimiterByte: UInt8? { delimiter?.asciiValue }

    /// The same query with another prefix (already validated by the caller).
    public func replacingPrefix(_ newPrefix: String) -> ListQuery {
        ListQuery(validPrefix: newPrefix, delimiter: delimiter, includesMetadata: includesMetadata)
    }

    /// What `key` lists as under this query: the key itself, the common prefix it rolls up
    /// into, or `nil` when it does not start with the prefix.
    public func classify(_ key: StoreKey) -> ListedName? {
        let bytes = key.rawValue.utf8
        guard StoreKey.utf8HasPrefix(key.rawValue, prefix) else { return nil }
        if let delimiterByte {
            let rest = bytes.dropFirst(prefix.utf8.count)
            if let index = rest.firstIndex(of: delimiterByte) {
                return .commonPrefix(String(key.rawValue[...index]))
            }
        }
        return .key
    }

    /// How a key appears in a listing.
    public enum ListedName: Hashable, Sendable {
        /// As itself.
        case key
        /// Rolled up into this common prefix.
        case commonPrefix(String)
    }
}

/// One element of a listing.
public enum ListElement: Hashable, Sendable {
    /// A key, with its metadata when the query asked for it.
    case entry(StoreKey, EntryMetadata?)
    /// A common prefix that stands for every key under it (delimiter listings only).
    case commonPrefix(String)

    /// The key, or the common prefix, as a string: what the listing is ordered by.
    public var name: String {
        switch self {
        case .entry(let key, _): return key.rawValue
        case .commonPrefix(let prefix): return prefix
        }
    }

    /// The key, if this element is one.
    public var key: StoreKey? {
        if case .entry(let key, _) = self { return key }
        return nil
    }

    /// The metadata, if this element is a key listed with metadata.
    public var metadata: EntryMetadata? {
        if case .entry(_, let metadata) = self { return metadata }
        return nil
    }
}

/// Where the next page of a listing starts; opaque to callers, defined by each store.
///
/// A cursor is a position in key order, not a snapshot of the store:
/// - It stays valid indefinitely: across calls, store instances, processes and restarts of the
///   same store, so a consumer may keep one between calls (``DurableQueue`` does).
/// - The page after it holds the live names strictly after its position in byte order, as they
///   are when that page is read.
/// - A key written after the cursor was handed out appears in a later page exactly when it
///   sorts after the cursor's position; a key deleted meanwhile does not appear.
/// - A cursor is only meaningful with the query that produced it.
///
/// The `TroveConformance` library checks these rules on every store.
public struct ListCursor: Hashable, Sendable, Codable {
    /// The store's own encoding of the position.
    public let rawValue: String
    /// Wraps a store's position.
    public init(_ rawValue: String) { self.rawValue = rawValue }
}

/// One page of a listing.
public struct ListPage: Sendable {
    /// The elements, in byte-wise order of their names.
    public var elements: [ListElement]
    /// Where the next page starts, or `nil` if this is the last page.
    public var nextCursor: ListCursor?

    /// Creates a page.
    public init(elements: [ListElement], nextCursor: ListCursor?) {
        self.elements = elements
        self.nextCursor = nextCursor
    }
}
