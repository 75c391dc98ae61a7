extension KeyValueStore {
    /// A view of this store that can only be read: every write, delete and reclaim throws
    /// ``StoreError`` with code ``StoreError/Code/readOnly``.
    ///
    ///     let archive = FileSystemStore(root: directory).readOnly()
    ///
    /// - Returns: A ``ReadOnlyStore`` over this store.
    public func readOnly() -> ReadOnlyStore<Self> {
        ReadOnlyStore(base: self)
    }
}
