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

    private static let names: [(StoreCapabilities, String)] = [
        (.persistence, "persistence"), (.conditionalWrites, "conditionalWrites"),
        (.conditionalDeletes, "conditionalDeletes"), (.expiration, "expiration"),
        (.creationDate, "creationDate"), (.streaming, "streaming"),
        (.sharedAcrossProcesses, "sharedAcrossProcesses"), (.retention, "retention"),
    ]

    /// The capabilities' names, such as `[conditionalWrites, expiration]`.
    public var description: String {
        "[" + Self.names.filter { contains($0.0) }.map(\.1).joined(separator: ", ") + "]"
    }
}
