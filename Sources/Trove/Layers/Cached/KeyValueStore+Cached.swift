extension KeyValueStore {
    /// This store with a cache in front of it.
    ///
    ///     let store = file.cached(in: BoundedMemoryStore(maximumBytes: 64 << 20, maximumEntries: 10_000), mode: .mutable)
    ///
    /// See ``CachedStore``.
    ///
    /// - Parameters:
    ///   - cache: The store that keeps the copies, such as a ``BoundedMemoryStore``; give it to
    ///     one cached store only.
    ///   - mode: Whether a cached value is confirmed with this store before it is served.
    ///     Defaults to ``CacheMode/mutable``.
    public func cached<Cache: KeyValueStore>(in cache: Cache, mode: CacheMode = .mutable) -> CachedStore<Self, Cache> {
        CachedStore(base: self, cache: cache, mode: mode)
    }
}
