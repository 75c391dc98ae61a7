/// What a store can do and what metadata it keeps.
///
/// Layers report what they can pass through. The conformance suite checks every capability a
/// store claims, and checks that a store without one reports ``StoreError/Code/notSupported``
/// rather than silently ignoring the option.
public struct StoreCapabilities: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64

    /// Creates a capability set from its raw bits.
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Values survive the process that wrote them.
    public static let persistence = StoreCapabilities(rawValue: 1 << 0)
    /// ``WriteCondition/ifAbsent`` and ``WriteCondition/ifMatches(_:)`` are honoured atomically.
    public static let conditionalWrites = StoreCapabilities(rawValue: 1 << 1)
    /// ``DeleteCondition/ifMatches(_:)`` is honoured atomically.
    public static let conditionalDeletes = StoreCapabilities(rawValue: 1 << 2)
    /// Writes may take an ``Expiry``; expired entries are invisible.
    public static let expiration = StoreCapabilities(rawValue: 1 << 3)
    /// ``EntryMetadata/creationDate`` is kept.
    public static let creationDate = StoreCapabilities(rawValue: 1 << 4)
    /// Large values stream in and out without being held whole in memory.
    public static let streaming = StoreCapabilities(rawValue: 1 << 5)
    /// Several processes may open the same data at once, conditions holding across them.
    public static let sharedAcrossProcesses = StoreCapabilities(rawValue: 1 << 6)
    /// The store keeps values; ``NullStore`` is the one store without it.
    public static let retention = StoreCapabilities(rawValue: 1 << 7)

    /// Every write gives the entry a new ETag, even a write of the same bytes. Without it the
    /// ETag is a digest of the content (S3's MD5, say): an identical rewrite keeps it, and a
    /// compare-and-swap cannot tell that rewrite happened. Every store changes the ETag when
    /// the bytes change.
    public static let distinctETagPerWrite = StoreCapabilities(rawValue: 1 << 8)
    /// A batch of writes or deletes (``KeyValueStore/writeBatch(_:)``,
    /// ``KeyValueStore/deleteBatch(_:)``) is applied whole or not at all: if one entry fails,
    /// none is applied. Without it each entry succeeds or fails on its own.
    public static let atomicBatches = StoreCapabilities(rawValue: 1 << 9)
    /// A read can renew the entry's expiry in the same step, keeping its value and ETag
    /// (``ReadOptions/refreshingExpiry``): what a sliding expiry needs for one round trip.
    public static let expiryRefreshOnRead = StoreCapabilities(rawValue: 1 << 10)
    /// ``EntryMetadata/modificationDate`` is the moment of the entry's last write, so entries
    /// can be ordered by it (``KeyValueStore/oldestKeys(_:by:withPrefix:)``) and a copy can
    /// tell which side is newer. A store without it does not know when an entry was written
    /// (a plain Redis string, say) and reports the moment it answered instead: a bound, not a
    /// date to compare.
    public static let modificationDate = StoreCapabilities(rawValue: 1 << 11)

    /// The capabilities that a layer can pass on only if it implements the requirements behind
    /// them (``KeyValueStore/writeBatch(_:)`` and ``KeyValueStore/deleteBatch(_:)`` for atomic
    /// batches, ``KeyValueStore/read(_:options:)`` for renewing an expiry) by forwarding to its
    /// base. A layer that leaves those to the protocol's default loops must report its base's
    /// capabilities without these:
    ///
    ///     var capabilities: StoreCapabilities { base.capabilities.subtracting(.passedOnOnlyByForwarding) }
    public static let passedOnOnlyByForwarding: StoreCapabilities = [.atomicBatches, .expiryRefreshOnRead]

    private static let names: [(StoreCapabilities, String)] = [
        (.persistence, "persistence"), (.conditionalWrites, "conditionalWrites"),
        (.conditionalDeletes, "conditionalDeletes"), (.expiration, "expiration"),
        (.creationDate, "creationDate"), (.streaming, "streaming"),
        (.sharedAcrossProcesses, "sharedAcrossProcesses"), (.retention, "retention"),
        (.distinctETagPerWrite, "distinctETagPerWrite"), (.atomicBatches, "atomicBatches"),
        (.expiryRefreshOnRead, "expiryRefreshOnRead"), (.modificationDate, "modificationDate"),
    ]

    /// Every capability this version of Trove defines.
    public static let all = StoreCapabilities(names.map(\.0))

    /// The names of the capabilities in the set, as they are spelled in Swift
    /// (`conditionalWrites`), in the order they are declared.
    public var names: [String] {
        Self.names.filter { contains($0.0) }.map(\.1)
    }

    /// The capabilities' names, such as `[conditionalWrites, expiration]`.
    public var description: String {
        "[" + names.joined(separator: ", ") + "]"
    }
}
