extension KeyValueStore {
    /// A namespace inside this store: every key is stored under `namespace/`, and listing shows
    /// only the namespace's keys, without the prefix. A ``PrefixedStore``, under the
    /// name that reads best at the start of a stack of layers:
    ///
    ///     let users = file.prefixed("app/").typed(as: User.self)   // "alice" is stored as app/alice
    ///
    /// `"app"` and `"app/"` name the same namespace (see ``KeyNamespace``).
    ///
    /// - Parameter namespace: The namespace.
    /// - Returns: A ``PrefixedStore`` over this store.
    public func prefixed(_ namespace: KeyNamespace) -> PrefixedStore<Self> {
        PrefixedStore(base: self, prefix: namespace.key)
    }
}
