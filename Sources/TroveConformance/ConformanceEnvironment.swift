public import Trove

/// What a ``ContractCheck`` needs to know beyond the store under test.
///
/// Give each check a fresh, empty store (or a fresh namespace of a shared one, such as
/// `store.prefixed(uniqueName)`), built with the environment's ``clock``:
///
///     let clock = ManualWallClock()
///     let store = MemoryStore(clock: clock.wallClock)
///     try await ContractCheck.expiredEntriesAreInvisible.run(
///         against: store, environment: ConformanceEnvironment(clock: clock))
public struct ConformanceEnvironment: Sendable {
    /// The clock the store under test was built with, which expiry checks move forward instead
    /// of sleeping. Defaults to `nil`.
    ///
    /// A store that claims `StoreCapabilities.expiration` fails the expiry checks without one:
    /// they cannot tell an expired entry from a live one without moving time.
    public var clock: ManualWallClock?

    /// The size in bytes of the value that ``ContractCheck/largeStreamedValue`` writes and
    /// reads back in chunks. Defaults to 64 MiB.
    public var largeValueSize: Int

    /// The longest key, in UTF-8 bytes, that the store under test accepts. Defaults to
    /// `StoreKey.maximumByteCount` (1,024).
    ///
    /// A namespace inside another store has less room: keys of `store.prefixed("p")` can be at
    /// most 1,022 bytes, since `p/` takes two. The key checks require keys up to this length to
    /// round-trip and one byte more to be refused with `StoreError.Code.invalidKey`.
    public var maximumKeyByteCount: Int

    /// The largest value, in bytes, that the store under test accepts, or `nil` when it has no
    /// limit of its own. Defaults to `nil`.
    ///
    /// With a limit, ``ContractCheck/valueSizeLimit`` requires values of exactly this size to
    /// round-trip and one byte more to be refused with `StoreError.Code.valueTooLarge`, whole or
    /// streamed, changing nothing and without the streamed source being read far past the limit.
    /// The other checks shrink the values they only need to be large (the 1 MiB binary value,
    /// the 64 MiB streamed one, …) to fit, and check that the sizes they would have used are
    /// refused with `StoreError.Code.valueTooLarge`, so that a store never passes by ignoring
    /// its own limit. The checks write a few small values (up to about 1 KiB) whatever the limit,
    /// so it must be at least 4 KiB.
    public var maximumValueSize: Int?

    /// How far a reported date (modification, creation) may lie outside the interval in which
    /// the write happened, to allow for coarse file-system timestamps and for a store that reads
    /// the system clock rather than ``clock``. Defaults to 60 seconds.
    public var timestampTolerance: Duration

    /// Opens a second, independent instance of the store under test over the same data, as
    /// another process would. Defaults to `nil`.
    ///
    /// Required for stores that claim `StoreCapabilities.sharedAcrossProcesses`:
    /// ``ContractCheck/sharedAcrossInstances`` races compare-and-swap updates between the two
    /// instances. For a store that only claims `StoreCapabilities.persistence` it is used,
    /// when given, to check that written data is visible through the second instance.
    public var reopen: (@Sendable () async throws -> any KeyValueStore)?

    /// Measures how many bytes the store occupies on its medium (for a file store, the sizes of
    /// the regular files under its root). Defaults to `nil`.
    ///
    /// When given, ``ContractCheck/reclaimExpired`` checks that reclaiming expired entries frees
    /// their space; without it, that part of the check is left out.
    public var storageFootprint: (@Sendable () async throws -> Int64)?

    /// How the expiry checks let time pass for a store whose clock is not a `ManualWallClock`
    /// (a server's TTLs, a database's `now()`). Defaults to `nil`.
    ///
    /// When set, and ``clock`` is `nil`, the checks write entries with short real lifetimes and
    /// wait for them to run out, instead of moving a clock forward.
    public var realTimeExpiry: RealTimeExpiry?

    /// Whether each check runs in a namespace of its own, under a random prefix, which is
    /// deleted afterwards. Defaults to `false`.
    ///
    /// Use it for a store that shares its medium with others (a server, a bucket): a check
    /// then needs no empty store, leaves nothing behind (whether it passes or fails), and
    /// suites can run side by side. The namespace takes ``ConformanceEnvironment/namespaceByteCount``
    /// bytes of every key, which the key checks allow for.
    public var isolatesEachCheck: Bool

    /// How many bytes of each key the namespace of ``isolatesEachCheck`` takes: the prefix and
    /// its `/`.
    public static let namespaceByteCount = 24

    /// Keys that `StoreKey` accepts and the store under test refuses with
    /// `StoreError.Code.invalidKey`, because its server could not keep them unchanged. Defaults
    /// to ``RefusedKeys/none``.
    ///
    /// The key checks then require each such key to be refused by writes, reads, metadata and
    /// deletes, with nothing written, and every other key to round-trip.
    public var refusedKeys: RefusedKeys = .none

    /// Creates an environment.
    ///
    /// - Parameters:
    ///   - clock: The clock the store was built with. Defaults to `nil`.
    ///   - largeValueSize: The size of the large streamed value. Defaults to 64 MiB.
    ///   - maximumKeyByteCount: The longest key the store accepts. Defaults to 1,024.
    ///   - maximumValueSize: The largest value the store accepts. Defaults to `nil`, no limit.
    ///   - timestampTolerance: The slack allowed on reported dates. Defaults to 60 seconds.
    ///   - reopen: Opens a second instance over the same data. Defaults to `nil`.
    ///   - storageFootprint: Measures the bytes the store occupies. Defaults to `nil`.
    ///   - realTimeExpiry: How to let time pass without a clock. Defaults to `nil`.
    ///   - isolatesEachCheck: Whether each check runs in a fresh namespace. Defaults to `false`.
    public init(
        clock: ManualWallClock? = nil,
        largeValueSize: Int = 64 << 20,
        maximumKeyByteCount: Int = StoreKey.maximumByteCount,
        maximumValueSize: Int? = nil,
        timestampTolerance: Duration = .seconds(60),
        reopen: (@Sendable () async throws -> any KeyValueStore)? = nil,
        storageFootprint: (@Sendable () async throws -> Int64)? = nil,
        realTimeExpiry: RealTimeExpiry? = nil,
        isolatesEachCheck: Bool = false
    ) {
        self.realTimeExpiry = realTimeExpiry
        self.isolatesEachCheck = isolatesEachCheck
        self.clock = clock
        self.largeValueSize = largeValueSize
        self.maximumKeyByteCount = maximumKeyByteCount
        self.maximumValueSize = maximumValueSize
        self.timestampTolerance = timestampTolerance
        self.reopen = reopen
        self.storageFootprint = storageFootprint
    }
}

/// Which valid keys a store refuses, for a server that would alter them (SeaweedFS stores a
/// backslash as a slash and takes no path segment longer than a file name).
public struct RefusedKeys: Sendable, Hashable {
    /// Characters that no key may hold.
    public var scalars: Set<Unicode.Scalar>
    /// The longest segment (the text between two `/`), in UTF-8 bytes, or `nil` for no limit
    /// but the key's.
    public var maximumSegmentByteCount: Int?

    /// Keys holding one of `scalars`, or a segment longer than `maximumSegmentByteCount` bytes.
    public init(scalars: Set<Unicode.Scalar> = [], maximumSegmentByteCount: Int? = nil) {
        self.scalars = scalars
        self.maximumSegmentByteCount = maximumSegmentByteCount
    }

    /// No key refused.
    public static let none = RefusedKeys()

    /// Whether `key` is one of them.
    public func contains(_ key: String) -> Bool {
        if !scalars.isEmpty, key.unicodeScalars.contains(where: scalars.contains) { return true }
        guard let maximumSegmentByteCount else { return false }
        return key.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
            .contains { $0.count > maximumSegmentByteCount }
    }
}

/// How the expiry checks wait for real time to pass, for stores whose clock the checks cannot
/// move (a Redis server's TTLs, PostgreSQL's `now()`).
///
/// Each check's lifetimes are written in *units*: an entry that a check gives 10 units expires
/// `10 × unit` after its write, and the check waits `10 × unit + grace` before it expects the
/// entry to be gone.
public struct RealTimeExpiry: Sendable, Hashable {
    /// The real length of one unit of the checks' lifetimes.
    public var unit: Duration
    /// How much longer than a lifetime the checks wait before they expect it to be over, and
    /// how far a reported expiration date may lie from the expected one.
    public var grace: Duration

    /// Creates a real-time expiry mode.
    ///
    /// - Parameters:
    ///   - unit: The real length of one unit. Defaults to 100 ms, so the expiry checks wait
    ///     about 5 seconds in all. Must be at least 1 ms (a server's TTLs in milliseconds).
    ///   - grace: The slack for a server's clock and the time the calls take. Defaults to 300 ms.
    public init(unit: Duration = .milliseconds(100), grace: Duration = .milliseconds(300)) {
        self.unit = max(unit, .milliseconds(1))
        self.grace = max(grace, .zero)
    }
}
