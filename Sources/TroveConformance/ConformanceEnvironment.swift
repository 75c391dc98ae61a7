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
    /// A store that claims ``StoreCapabilities/expiration`` fails the expiry checks without one:
    /// they cannot tell an expired entry from a live one without moving time.
    public var clock: ManualWallClock?

    /// The size in bytes of the value that ``ContractCheck/largeStreamedValue`` writes and
    /// reads back in chunks. Defaults to 64 MiB.
    public var largeValueSize: Int

    /// The longest key, in UTF-8 bytes, that the store under test accepts. Defaults to
    /// ``StoreKey/maximumByteCount`` (1,024).
    ///
    /// A namespace inside another store has less room: keys of `store.prefixed("p")` can be at
    /// most 1,022 bytes, since `p/` takes two. The key checks require keys up to this length to
    /// round-trip and one byte more to be refused with ``StoreError/Code/invalidKey``.
    public var maximumKeyByteCount: Int

    /// The largest value, in bytes, that the store under test accepts, or `nil` when it has no
    /// limit of its own. Defaults to `nil`.
    ///
    /// With a limit, ``ContractCheck/valueSizeLimit`` requires values of exactly this size to
    /// round-trip and one byte more to be refused with ``StoreError/Code/valueTooLarge``, whole or
    /// streamed, changing nothing and without the streamed source being read far past the limit.
    /// The other checks shrink the values they only need to be large (the 1 MiB binary value,
    /// the 64 MiB streamed one, …) to fit, and check that the sizes they would have used are
    /// refused with ``StoreError/Code/valueTooLarge``, so that a store never passes by ignoring
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
    /// Required for stores that claim ``StoreCapabilities/sharedAcrossProcesses``:
    /// ``ContractCheck/sharedAcrossInstances`` races compare-and-swap updates between the two
    /// instances. For a store that only claims ``StoreCapabilities/persistence`` it is used,
    /// when given, to check that written data is visible through the second instance.
    public var reopen: (@Sendable () async throws -> any KeyValueStore)?

    /// Measures how many bytes the store occupies on its medium (for a file store, the sizes of
    /// the regular files under its root). Defaults to `nil`.
    ///
    /// When given, ``ContractCheck/reclaimExpired`` checks that reclaiming expired entries frees
    /// their space; without it, that part of the check is left out.
    public var storageFootprint: (@Sendable () async throws -> Int64)?

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
    public init(
        clock: ManualWallClock? = nil,
        largeValueSize: Int = 64 << 20,
        maximumKeyByteCount: Int = StoreKey.maximumByteCount,
        maximumValueSize: Int? = nil,
        timestampTolerance: Duration = .seconds(60),
        reopen: (@Sendable () async throws -> any KeyValueStore)? = nil,
        storageFootprint: (@Sendable () async throws -> Int64)? = nil
    ) {
        self.clock = clock
        self.largeValueSize = largeValueSize
        self.maximumKeyByteCount = maximumKeyByteCount
        self.maximumValueSize = maximumValueSize
        self.timestampTolerance = timestampTolerance
        self.reopen = reopen
        self.storageFootprint = storageFootprint
    }
}
