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
    /// Keys are listed in pages and each value is read when the iteration reaches it; a key
    /// deleted in between is skipped.
    ///
    ///     for try await user in try users.values() { print(user.name) }
    ///
    /// - Complexity: One listing plus one read per key.
    /// - Throws: ``StoreError/Code/invalidArgument`` for a bad prefix; iterating throws
    ///   ``StoreError/Code/decodingFailed`` at the first value that does not decode, and the
    ///   store's errors.
    public func values(withPrefix prefix: String = "") throws -> some AsyncSequence<Value, any Error> {
        try items(withPrefix: prefix).map(\.value)
    }

    /// The keys that start with `prefix` with their decoded values, in byte-wise key order.
    ///
    /// Keys are listed in pages and each value is read when the iteration reaches it; a key
    /// deleted in between is skipped.
    ///
    ///     for try await (key, user) in try users.items() { print(key, user.name) }
    ///
    /// - Complexity: One listing plus one read per key.
    /// - Throws: ``StoreError/Code/invalidArgument`` for a bad prefix; iterating throws
    ///   ``StoreError/Code/decodingFailed`` at the first value that does not decode, and the
    ///   store's errors.
    public func items(withPrefix prefix: String = "") throws -> some AsyncSequence<(key: StoreKey, value: Value), any Error> {
        base.list(try ListQuery(prefix: prefix)).compactMap { element -> (key: StoreKey, value: Value)? in
            guard let key = element.key, let entry = try await base.read(key) else { return nil }
            return (key: key, value: try decode(entry.value, for: key, during: .read))
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
