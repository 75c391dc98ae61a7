extension KeyValueStore {
    /// A view of this store in which each key is written once: a second write is refused with
    /// ``StoreError/Code/alreadyExists``, or ignored when it brings the same bytes.
    ///
    ///     let blobs = FileSystemStore(root: directory).writeOnce()
    ///     let log = FileSystemStore(root: directory).writeOnce(appendOnly: true)   // deletes refused too
    ///
    /// - Parameters:
    ///   - consistencyCheckProbability: How likely a write of a taken key is to read the stored
    ///     value and compare it with its own. Defaults to 1 (always).
    ///   - appendOnly: Whether deletes (``StoreError/Code/readOnly``) and expiry
    ///     (``StoreError/Code/notSupported``) are refused too. Defaults to `false`.
    /// - Returns: A ``WriteOnceStore`` over this store.
    public func writeOnce(consistencyCheckProbability: Double = 1, appendOnly: Bool = false) -> WriteOnceStore<Self> {
        WriteOnceStore(base: self, consistencyCheckProbability: consistencyCheckProbability, appendOnly: appendOnly)
    }
}
