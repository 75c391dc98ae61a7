extension KeyValueStore {
    /// This store as the durable tier below faster stores that keep copies of its entries.
    ///
    ///     let store = s3.tiered(below: BoundedMemoryStore(maximumBytes: 64 << 20, maximumEntries: 10_000), localDisk)
    ///
    /// Reads try the faster tiers in the order given, then this store; writes and deletes go to
    /// this store first. See ``TieredStore``.
    ///
    /// - Parameters:
    ///   - fasterTiers: The faster stores, fastest first.
    ///   - promotesOnRead: Whether a read served by a lower tier installs its copy in the tiers
    ///     above. Defaults to `true`.
    public func tiered(below fasterTiers: any KeyValueStore..., promotesOnRead: Bool = true) -> TieredStore<Self> {
        TieredStore(fasterTiers: fasterTiers, durable: self, promotesOnRead: promotesOnRead)
    }
}
