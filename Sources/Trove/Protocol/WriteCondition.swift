public import Foundation

/// When a write may happen.
///
/// A failed condition throws ``StoreError`` with code ``StoreError/Code/conditionFailed`` and
/// changes nothing. Stores check the condition and write as one atomic step, across processes
/// where the store is shared.
public struct WriteCondition: Hashable, Sendable, CustomStringConvertible {
    private enum Base: Hashable, Sendable {
        case always
        case ifAbsent
        case ifMatches(ETag)
    }

    private let base: Base

    /// Write whatever is there.
    public static let always = WriteCondition(base: .always)
    /// Write only if the key holds no value (an expired value counts as none).
    public static let ifAbsent = WriteCondition(base: .ifAbsent)
    /// Write only if the key's current ETag is `etag`.
    public static func ifMatches(_ etag: ETag) -> WriteCondition { WriteCondition(base: .ifMatches(etag)) }

    /// Whether the write requires the key to hold no value.
    public var requiresAbsence: Bool { base == .ifAbsent }

    /// The ETag the current value must have, if the condition is ``ifMatches(_:)``.
    public var expectedETag: ETag? {
        if case .ifMatches(let etag) = base { return etag }
        return nil
    }

    /// Whether the condition always holds.
    public var isAlways: Bool { base == .always }

    /// Whether the condition holds for an entry whose current metadata is `current` (`nil`
    /// when the key holds no live value).
    public func isSatisfied(by current: EntryMetadata?) -> Bool {
        switch base {
        case .always: return true
        case .ifAbsent: return current == nil
        case .ifMatches(let etag): return current?.etag == etag
        }
    }

    /// `always`, `ifAbsent` or `ifMatches(<etag>)`.
    public var description: String {
        switch base {
        case .always: return "always"
        case .ifAbsent: return "ifAbsent"
        case .ifMatches(let etag): return "ifMatches(\(etag))"
        }
    }
}

/// When a delete may happen.
public struct DeleteCondition: Hashable, Sendable, CustomStringConvertible {
    private let etag: ETag?

    /// Delete whatever is there; deleting a missing key does nothing.
    public static let always = DeleteCondition(etag: nil)
    /// Delete only if the key's current ETag is `etag`; a missing key fails the condition.
    public static func ifMatches(_ etag: ETag) -> DeleteCondition { DeleteCondition(etag: etag) }

    /// The ETag the current value must have, if any.
    public var expectedETag: ETag? { etag }

    /// Whether the condition holds for `current` (`nil` when the key holds no live value).
    public func isSatisfied(by current: EntryMetadata?) -> Bool {
        guard let etag else { return true }
        return current?.etag == etag
    }

    /// `always` or `ifMatches(<etag>)`.
    public var description: String {
        etag.map { "ifMatches(\($0))" } ?? "always"
    }
}

/// When a written entry expires.
///
/// An expired entry is invisible to every read, listing and count, and its space is reclaimed
/// (by ``KeyValueStore/reclaimExpired()`` or by the store's own sweeping).
public struct Expiry: Hashable, Sendable, CustomStringConvertible {
    private enum Base: Hashable, Sendable {
        case never
        case after(Duration)
        case at(Date)
    }

    private let base: Base

    /// The entry does not expire.
    public static let never = Expiry(base: .never)
    /// The entry expires `duration` after it is written.
    public static func after(_ duration: Duration) -> Expiry { Expiry(base: .after(duration)) }
    /// The entry expires at `date`.
    public static func at(_ date: Date) -> Expiry { Expiry(base: .at(date)) }

    /// Whether the entry never expires.
    public var isNever: Bool { base == .never }

    /// The moment of expiry for an entry written at `now`, or `nil` for ``never``.
    public func expirationDate(writtenAt now: Date) -> Date? {
        switch base {
        case .never: return nil
        case .after(let duration): return now.addingTimeInterval(duration.timeInterval)
        case .at(let date): return date
        }
    }

    /// `never`, `after(<duration>)` or `at(<date>)`.
    public var description: String {
        switch base {
        case .never: return "never"
        case .after(let duration): return "after(\(duration))"
        case .at(let date): return "at(\(date))"
        }
    }
}

/// How a write happens: its condition, its expiry and, for a streamed write, its length.
public struct WriteOptions: Hashable, Sendable {
    /// When the write may happen. Defaults to ``WriteCondition/always``.
    public var condition: WriteCondition
    /// When the written entry expires. Defaults to ``Expiry/never``.
    public var expiry: Expiry
    /// How many bytes a streamed write's chunks add up to, when the caller knows. Defaults to
    /// `nil`.
    ///
    /// A store may use it to choose how to write (an object store sends a value of known size
    /// in one request instead of a multipart upload). Chunks that add up to another size fail
    /// the write with ``StoreError/Code/invalidArgument``, and nothing is written.
    public var expectedSize: Int64?

    /// Creates write options.
    ///
    /// - Parameters:
    ///   - condition: When the write may happen. Defaults to ``WriteCondition/always``.
    ///   - expiry: When the entry expires. Defaults to ``Expiry/never``.
    ///   - expectedSize: The length of a streamed value, if known. Defaults to `nil`.
    public init(condition: WriteCondition = .always, expiry: Expiry = .never, expectedSize: Int64? = nil) {
        self.condition = condition
        self.expiry = expiry
        self.expectedSize = expectedSize
    }

    /// Throws ``StoreError/Code/invalidArgument`` when a streamed value of `soFar` bytes
    /// (`isComplete` when every chunk has been read) breaks ``expectedSize``.
    ///
    /// Streaming stores call it as the chunks come, so that an over-long value is refused
    /// before it is stored, and once at the end.
    public func checkSize(soFar: Int64, isComplete: Bool, key: StoreKey, store: String) throws(StoreError) {
        guard let expectedSize else { return }
        if soFar > expectedSize || (isComplete && soFar != expectedSize) {
            throw StoreError(.invalidArgument, operation: .write, key: key, store: store,
                             message: "the chunks add up to \(isComplete ? "" : "at least ")\(soFar) bytes, "
                                 + "but the write declared an expected size of \(expectedSize); nothing was written")
        }
    }

    /// An unconditional write that never expires.
    public static let `default` = WriteOptions()
}

extension Duration {
    /// The duration in seconds, as a `TimeInterval`.
    var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}
