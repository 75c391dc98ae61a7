extension KeyValueStore {
    /// This store with caps on key length and value size, as small embedded stores impose.
    ///
    ///     let store = MemoryStore().limited(keyLength: 32, valueSize: 16 << 10)
    ///
    /// - Parameters:
    ///   - keyLength: The longest key accepted, in UTF-8 bytes. Defaults to `nil`: the contract's
    ///     1,024 bytes.
    ///   - valueSize: The largest value accepted, in bytes. Defaults to `nil`: no cap.
    /// - Returns: A ``LimitedStore`` over this store; see it for what each cap refuses and how.
    public func limited(keyLength: Int? = nil, valueSize: Int? = nil) -> LimitedStore<Self> {
        LimitedStore(base: self, maximumKeyLength: keyLength ?? StoreKey.maximumByteCount, maximumValueSize: valueSize ?? .max)
    }
}
