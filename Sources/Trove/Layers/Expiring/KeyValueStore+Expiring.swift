extension KeyValueStore {
    /// This store with expiry: entries written without an expiry of their own live `lifetime`
    /// (from their write, or in sliding mode from their last read), then vanish.
    ///
    ///     let cache = FileSystemStore(root: directory).expiring(after: .seconds(3600))
    ///     let sessions = MemoryStore().expiring(after: .seconds(1800), sliding: true)
    ///
    /// On a base with native expiry and in fixed mode, the base's expiry does the work; otherwise
    /// each value is kept behind a small envelope (see ``ExpiringStore``).
    ///
    /// - Parameters:
    ///   - lifetime: The lifetime of entries written without an expiry of their own.
    ///   - sliding: Whether each read extends an entry's life by its lifetime. Defaults to `false`.
    ///   - clock: The clock that decides expiry in envelope mode. Defaults to ``WallClock/system``.
    /// - Returns: An ``ExpiringStore`` over this store.
    public func expiring(after lifetime: Duration, sliding: Bool = false, clock: WallClock = .system) -> ExpiringStore<Self> {
        ExpiringStore(base: self, defaultLifetime: lifetime, sliding: sliding, clock: clock)
    }

    /// This store with expiry for the writes that ask for it (``Expiry/after(_:)``,
    /// ``Expiry/at(_:)``), on any base, including one without native expiry; other entries never
    /// expire.
    ///
    ///     let store = backend.expiring()   // a backend without native expiry gains it
    ///     try await store.set(data, for: "k", expiry: .after(.seconds(60)))
    ///
    /// - Parameters:
    ///   - sliding: Whether each read extends the life of entries written with `.after(_:)`.
    ///     Defaults to `false`.
    ///   - clock: The clock that decides expiry in envelope mode. Defaults to ``WallClock/system``.
    /// - Returns: An ``ExpiringStore`` over this store, without a default lifetime.
    public func expiring(sliding: Bool = false, clock: WallClock = .system) -> ExpiringStore<Self> {
        ExpiringStore(base: self, defaultLifetime: nil, sliding: sliding, clock: clock)
    }
}
