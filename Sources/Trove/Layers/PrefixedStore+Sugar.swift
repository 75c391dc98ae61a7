extension KeyValueStore {
    /// A namespace inside this store: every key is stored under `prefix/`, and listing shows only
    /// the namespace's keys, without the prefix. The same view as ``subStore(_:)``, under the name
    /// that reads best at the start of a stack of layers:
    ///
    ///     let users = file.prefixed("app").typed(as: User.self)   // "alice" is stored as app/alice
    ///
    /// The prefix is a key, so it is written without the separating slash: `"app"` and
    /// `"app/v2"` are prefixes, `"app/"` is not a valid key (an invalid literal stops the program,
    /// as every invalid ``StoreKey`` literal does).
    ///
    /// - Parameter prefix: The namespace.
    /// - Returns: A ``PrefixedStore`` over this store.
    public func prefixed(_ prefix: StoreKey) -> PrefixedStore<Self> {
        PrefixedStore(base: self, prefix: prefix)
    }
}
