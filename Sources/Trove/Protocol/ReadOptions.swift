import Foundation

/// Which bytes of a value a read returns.
///
/// A range that reaches past the end of the value stops at the end; one that starts at or past
/// the end selects no bytes. ``EntryMetadata/size`` stays the size of the whole value.
///
///     let header = try await store.read("videos/intro", options: ReadOptions(range: .bytes(0..<512)))
public struct ByteRange: Hashable, Sendable, CustomStringConvertible {
    private enum Base: Hashable, Sendable {
        case bytes(Range<Int64>)
        case from(Int64)
        case suffix(Int64)
    }

    private let base: Base

    /// The bytes at the offsets in `range`, as far as the value reaches.
    ///
    /// - Precondition: `range.lowerBound >= 0`.
    public static func bytes(_ range: Range<Int64>) -> ByteRange {
        precondition(range.lowerBound >= 0, "a byte range cannot start before offset 0")
        return ByteRange(base: .bytes(range))
    }

    /// The bytes from `offset` to the end of the value.
    ///
    /// - Precondition: `offset >= 0`.
    public static func from(_ offset: Int64) -> ByteRange {
        precondition(offset >= 0, "a byte range cannot start before offset 0")
        return ByteRange(base: .from(offset))
    }

    /// The last `count` bytes of the value (all of it when it is shorter).
    ///
    /// - Precondition: `count >= 0`.
    public static func suffix(_ count: Int64) -> ByteRange {
        precondition(count >= 0, "a suffix cannot have a negative length")
        return ByteRange(base: .suffix(count))
    }

    /// The offsets this range selects in a value of `size` bytes.
    public func offsets(inValueOfSize size: Int64) -> Range<Int64> {
        switch base {
        case .bytes(let range):
            let lower = min(range.lowerBound, size)
            return lower..<max(lower, min(range.upperBound, size))
        case .from(let offset):
            let lower = min(offset, size)
            return lower..<size
        case .suffix(let count):
            return max(0, size - count)..<size
        }
    }

    /// The range as an HTTP `Range` header value, such as `bytes=0-511`, `bytes=100-` or
    /// `bytes=-20`; `nil` for an empty range, which HTTP cannot express.
    public var httpRangeValue: String? {
        switch base {
        case .bytes(let range):
            return range.isEmpty ? nil : "bytes=\(range.lowerBound)-\(range.upperBound - 1)"
        case .from(let offset):
            return "bytes=\(offset)-"
        case .suffix(let count):
            return count == 0 ? nil : "bytes=-\(count)"
        }
    }

    /// `bytes(a..<b)`, `from(a)` or `suffix(n)`.
    public var description: String {
        switch base {
        case .bytes(let range): return "bytes(\(range.lowerBound)..<\(range.upperBound))"
        case .from(let offset): return "from(\(offset))"
        case .suffix(let count): return "suffix(\(count))"
        }
    }
}

/// How a read happens: which bytes, whether to skip an unchanged value, and whether to renew
/// the entry's expiry in the same step.
///
///     // Revalidate a cached copy without transferring the value when it has not changed.
///     switch try await store.read("config", options: ReadOptions(ifNoneMatch: cached.etag)) {
///     case .value(let entry)?: cache(entry)
///     case .unchanged?: break
///     case nil: evict()
///     }
public struct ReadOptions: Hashable, Sendable {
    /// Which bytes of the value to return, or `nil` for all of them. Defaults to `nil`.
    ///
    /// Stores that cannot read a part of a value read it whole and return the part.
    public var range: ByteRange?

    /// If the entry's current ETag is this one, the read returns ``ReadOutcome/unchanged(_:)``
    /// with the metadata and without the value. Defaults to `nil`: always return the value.
    public var ifNoneMatch: ETag?

    /// A new expiry to give the entry as part of the read (a sliding expiry), or `nil` to leave
    /// it as it is. Defaults to `nil`.
    ///
    /// The entry keeps its value and its ETag. Stores without
    /// ``StoreCapabilities/expiryRefreshOnRead`` throw ``StoreError/Code/notSupported`` for it.
    public var refreshingExpiry: Expiry?

    /// Creates read options.
    ///
    /// - Parameters:
    ///   - range: Which bytes to return. Defaults to `nil`, the whole value.
    ///   - ifNoneMatch: An ETag for which the value is not returned. Defaults to `nil`.
    ///   - refreshingExpiry: A new expiry, set in the same step. Defaults to `nil`.
    public init(range: ByteRange? = nil, ifNoneMatch: ETag? = nil, refreshingExpiry: Expiry? = nil) {
        self.range = range
        self.ifNoneMatch = ifNoneMatch
        self.refreshingExpiry = refreshingExpiry
    }

    /// A plain read of the whole value.
    public static let none = ReadOptions()

    /// Whether these options ask for nothing beyond a plain read.
    public var isNone: Bool { range == nil && ifNoneMatch == nil && refreshingExpiry == nil }

    /// What a read of `entry` (the whole value, read as it is) returns under these options:
    /// ``ReadOutcome/unchanged(_:)`` if its ETag is ``ifNoneMatch``, otherwise the entry cut
    /// to ``range``.
    ///
    /// For stores and layers that read whole values; ``refreshingExpiry`` is not looked at.
    public func outcome(of entry: StoreEntry) -> ReadOutcome<StoreEntry> {
        if let ifNoneMatch, entry.metadata.etag == ifNoneMatch { return .unchanged(entry.metadata) }
        guard let range else { return .value(entry) }
        let offsets = range.offsets(inValueOfSize: Int64(entry.value.count))
        let start = entry.value.startIndex + Int(offsets.lowerBound)
        return .value(StoreEntry(value: Data(entry.value[start..<(start + offsets.count)]), metadata: entry.metadata))
    }

    /// What a read of `entry` (opened whole) returns under these options: unchanged (and the
    /// stream closed) if its ETag is ``ifNoneMatch``, otherwise its chunks cut to ``range``.
    public func outcome(of entry: StreamedEntry) async -> ReadOutcome<StreamedEntry> {
        if let ifNoneMatch, entry.metadata.etag == ifNoneMatch {
            await entry.close()
            return .unchanged(entry.metadata)
        }
        guard let range else { return .value(entry) }
        let offsets = range.offsets(inValueOfSize: entry.metadata.size)
        return .value(StreamedEntry(metadata: entry.metadata, chunks: entry.chunks.slice(offsets), closer: entry.closer))
    }
}

/// What a read with ``ReadOptions`` found: the value, or word that it has not changed.
///
/// A missing key is `nil` around the outcome, as for every read.
public enum ReadOutcome<Body: Sendable>: Sendable {
    /// The entry's value (or the range of it asked for), with its metadata.
    case value(Body)
    /// The entry's ETag is the one given in ``ReadOptions/ifNoneMatch``; its metadata, without
    /// the value.
    case unchanged(EntryMetadata)

    /// The value, or `nil` when the outcome is ``unchanged(_:)``.
    public var body: Body? {
        if case .value(let body) = self { return body }
        return nil
    }

    /// The same outcome with the value transformed by `transform` (for layers).
    public func map<Other: Sendable>(_ transform: (Body) throws -> Other) rethrows -> ReadOutcome<Other> {
        switch self {
        case .value(let body): return .value(try transform(body))
        case .unchanged(let metadata): return .unchanged(metadata)
        }
    }
}

extension ReadOutcome: Equatable where Body: Equatable {}
extension ReadOutcome: Hashable where Body: Hashable {}

extension ReadOutcome where Body == StoreEntry {
    /// The metadata, whether the value came with it or not.
    public var metadata: EntryMetadata {
        switch self {
        case .value(let entry): return entry.metadata
        case .unchanged(let metadata): return metadata
        }
    }

    /// The same outcome with its metadata transformed (for layers that relabel keys or dates).
    public func mapMetadata(_ transform: (EntryMetadata) throws -> EntryMetadata) rethrows -> ReadOutcome {
        switch self {
        case .value(let entry): return .value(StoreEntry(value: entry.value, metadata: try transform(entry.metadata)))
        case .unchanged(let metadata): return .unchanged(try transform(metadata))
        }
    }
}

extension ReadOutcome where Body == StreamedEntry {
    /// The metadata, whether the value came with it or not.
    public var metadata: EntryMetadata {
        switch self {
        case .value(let entry): return entry.metadata
        case .unchanged(let metadata): return metadata
        }
    }

    /// The same outcome with its metadata transformed (for layers that relabel keys or dates).
    public func mapMetadata(_ transform: (EntryMetadata) throws -> EntryMetadata) rethrows -> ReadOutcome {
        switch self {
        case .value(let entry): return .value(entry.withMetadata(try transform(entry.metadata)))
        case .unchanged(let metadata): return .unchanged(try transform(metadata))
        }
    }
}
