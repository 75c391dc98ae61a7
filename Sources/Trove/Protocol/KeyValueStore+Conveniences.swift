public import Foundation

extension KeyValueStore {
    /// The value stored under `key`, or `nil` if there is none.
    ///
    ///     if let bytes = try await store["users/alice"] { … }
    public subscript(key: StoreKey) -> Data? {
        get async throws { try await read(key)?.value }
    }

    /// The value stored under `key`, or `nil` if there is none.
    public func value(for key: StoreKey) async throws -> Data? {
        try await read(key)?.value
    }

    /// Stores `value` under `key`.
    ///
    /// - Parameters:
    ///   - value: The bytes to store.
    ///   - key: Where to store them.
    ///   - condition: When to write. Defaults to ``WriteCondition/always``.
    ///   - expiry: When the entry expires. Defaults to ``Expiry/never``.
    /// - Returns: The new entry's metadata.
    /// - Throws: ``StoreError/Code/conditionFailed`` when `condition` does not hold.
    @discardableResult
    public func set(
        _ value: Data, for key: StoreKey, condition: WriteCondition = .always, expiry: Expiry = .never
    ) async throws -> EntryMetadata {
        try await write(value, for: key, options: WriteOptions(condition: condition, expiry: expiry))
    }

    /// Stores the chunks of `chunks` under `key`, streaming where the store can.
    @discardableResult
    public func set<Chunks: AsyncSequence>(
        contentsOf chunks: Chunks, for key: StoreKey, condition: WriteCondition = .always, expiry: Expiry = .never
    ) async throws -> EntryMetadata where Chunks.Element == Data {
        try await write(contentsOf: chunks, for: key, options: WriteOptions(condition: condition, expiry: expiry))
    }

    /// Opens the value under `key` for reading in chunks of 1 MiB.
    public func readStream(_ key: StoreKey) async throws -> StreamedEntry? {
        try await readStream(key, chunkSize: 1 << 20)
    }

    /// Deletes the value under `key`.
    ///
    /// - Returns: Whether there was a live value to delete.
    @discardableResult
    public func delete(_ key: StoreKey) async throws -> Bool {
        try await delete(key, condition: .always)
    }

    /// Deletes the value under `key` if there is one, and says nothing either way.
    public func discard(_ key: StoreKey) async throws {
        _ = try await delete(key, condition: .always)
    }

    /// Whether `key` holds a live value.
    public func contains(_ key: StoreKey) async throws -> Bool {
        try await metadata(for: key) != nil
    }

    /// A view of the keys under `prefix/`, with `prefix/` removed (persidict's sub-dictionary).
    ///
    ///     let alice = store.subStore("users/alice")
    ///     try await alice.set(data, for: "avatar")   // stores users/alice/avatar
    public func subStore(_ prefix: StoreKey) -> PrefixedStore<Self> {
        PrefixedStore(base: self, prefix: prefix)
    }
}
