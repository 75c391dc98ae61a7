/// An opaque token that identifies one version of an entry.
///
/// Every write gives the entry a new ETag, even when the same bytes are written again, of the
/// same size, within the same nanosecond. Pass an ETag back in
/// ``WriteCondition/ifMatches(_:)`` or ``DeleteCondition/ifMatches(_:)`` to change an entry only
/// if nobody changed it since you read it.
public struct ETag: Hashable, Sendable, CustomStringConvertible {
    /// The token as the store produced it.
    public let rawValue: String

    /// Wraps a token produced by a store.
    public init(_ rawValue: String) { self.rawValue = rawValue }

    /// The token.
    public var description: String { rawValue }
}
