extension TypedStore {
    /// The decoded values of `keys`, read in one batch with ``KeyValueStore/readBatch(_:)``.
    ///
    /// - Returns: One element per key, in order: the value, or `nil` for a key without one.
    /// - Throws: ``StoreError/Code/decodingFailed`` at the first value that does not decode;
    ///   any error of the store beneath.
    public func values(for keys: [StoreKey]) async throws -> [Value?] {
        let entries = try await base.readBatch(keys)
        var values: [Value?] = []
        values.reserveCapacity(keys.count)
        for (key, entry) in zip(keys, entries) {
            values.append(try entry.map { entry throws(StoreError) in try decode(entry.value, for: key, during: .read) })
        }
        return values
    }

    /// Encodes every value and writes them in one batch with ``KeyValueStore/writeBatch(_:)``.
    ///
    ///     let results = try await users.setBatch([("alice", alice), ("bob", bob)])
    ///
    /// - Parameters:
    ///   - items: The keys and values to store.
    ///   - options: The condition and expiry of every write. Defaults to ``WriteOptions/default``.
    /// - Returns: One result per item, in order (atomic where the store's batches are).
    /// - Throws: ``StoreError/Code/invalidArgument`` when a value does not encode (nothing is
    ///   written); a failure of the whole batch.
    public func setBatch(
        _ items: [(key: StoreKey, value: Value)], options: WriteOptions = .default
    ) async throws -> [Result<EntryMetadata, StoreError>] {
        let writes = try items.map { item throws(StoreError) in
            BatchWrite(item.key, try encode(item.value, for: item.key, during: .write), options: options)
        }
        return try await base.writeBatch(writes)
    }

    /// Deletes `keys` in one batch with ``KeyValueStore/deleteBatch(_:)``.
    @discardableResult
    public func deleteBatch(_ keys: [StoreKey]) async throws -> [Result<Void, StoreError>] {
        try await base.deleteBatch(keys)
    }
}
