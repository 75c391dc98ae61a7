extension TypedStore {
    /// The keys that start with `prefix`, in byte-wise order.
    ///
    /// - Parameter prefix: The bytes keys must start with. Defaults to `""`, every key.
    /// - Throws: ``StoreError/Code/invalidArgument`` when `prefix` cannot be a listing prefix;
    ///   iterating throws the store's errors.
    public func keys(withPrefix prefix: String = "") throws -> some AsyncSequence<StoreKey, any Error> {
        base.list(try ListQuery(prefix: prefix)).compactMap(\.key)
    }

    /// The decoded values of the keys that start with `prefix`, in byte-wise key order.
    ///
    /// Keys are listed in pages and their values read in batches of `batchSize` with
    /// ``KeyValueStore/readBatch(_:)``; a key deleted in between is skipped.
    ///
    ///     for try await user in try users.values() { print(user.name) }
    ///
    /// - Complexity: One listing plus one batched read per `batchSize` keys.
    /// - Throws: ``StoreError/Code/invalidArgument`` for a bad prefix; iterating throws
    ///   ``StoreError/Code/decodingFailed`` at the first value that does not decode, and the
    ///   store's errors.
    public func values(withPrefix prefix: String = "", batchSize: Int = 100) throws -> some AsyncSequence<Value, any Error> {
        try items(withPrefix: prefix, batchSize: batchSize).map(\.value)
    }

    /// The keys that start with `prefix` with their decoded values, in byte-wise key order.
    ///
    /// Keys are listed in pages and their values read in batches of `batchSize` with
    /// ``KeyValueStore/readBatch(_:)``; a key deleted in between is skipped.
    ///
    ///     for try await (key, user) in try users.items() { print(key, user.name) }
    ///
    /// - Complexity: One listing plus one batched read per `batchSize` keys.
    /// - Throws: ``StoreError/Code/invalidArgument`` for a bad prefix; iterating throws
    ///   ``StoreError/Code/decodingFailed`` at the first value that does not decode, and the
    ///   store's errors.
    public func items(
        withPrefix prefix: String = "", batchSize: Int = 100
    ) throws -> some AsyncSequence<(key: StoreKey, value: Value), any Error> {
        try base.entries(withPrefix: prefix, batchSize: batchSize).map { entry -> (key: StoreKey, value: Value) in
            (key: entry.metadata.key, value: try decode(entry.value, for: entry.metadata.key, during: .read))
        }
    }

    /// The number of live keys that start with `prefix`. Reads no value.
    ///
    /// - Complexity: A full listing of the prefix.
    public func count(withPrefix prefix: String = "") async throws -> Int {
        try await base.count(withPrefix: prefix)
    }

    /// Whether no live key starts with `prefix`. Reads no value.
    public func isEmpty(withPrefix prefix: String = "") async throws -> Bool {
        try await base.isEmpty(withPrefix: prefix)
    }
}
