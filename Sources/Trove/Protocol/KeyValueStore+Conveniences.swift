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
    public func set<Chunks: AsyncSequence & Sendable>(
        contentsOf chunks: Chunks, for key: StoreKey, condition: WriteCondition = .always, expiry: Expiry = .never,
        expectedSize: Int64? = nil
    ) async throws -> EntryMetadata where Chunks.Element == Data {
        try await write(contentsOf: chunks, for: key,
                        options: WriteOptions(condition: condition, expiry: expiry, expectedSize: expectedSize))
    }

    /// Opens the value under `key` for reading in chunks of 1 MiB.
    public func readStream(_ key: StoreKey) async throws -> StreamedEntry? {
        try await readStream(key, chunkSize: 1 << 20)
    }

    /// Opens the value under `key` for reading in chunks, runs `body` with it, and releases
    /// what the store held open for the stream when `body` returns or throws, whether or not
    /// it read the chunks to the end.
    ///
    ///     let digest = try await store.withReadStream("videos/intro") { stream in
    ///         guard let stream else { return nil }
    ///         var hasher = SHA256()
    ///         for try await chunk in stream.chunks { hasher.update(data: chunk) }
    ///         return hasher.finalize()
    ///     }
    ///
    /// - Parameters:
    ///   - key: The key to read.
    ///   - chunkSize: About how many bytes each chunk holds. Defaults to 1 MiB.
    ///   - options: A range, or an expiry to renew. Defaults to ``ReadOptions/none``.
    ///     With ``ReadOptions/ifNoneMatch`` matching, `body` receives `nil`.
    ///   - body: Receives the stream, or `nil` if the key holds no live value (or is unchanged).
    /// - Returns: What `body` returns.
    public func withReadStream<T>(
        _ key: StoreKey,
        chunkSize: Int = 1 << 20,
        options: ReadOptions = .none,
        _ body: (StreamedEntry?) async throws -> T
    ) async throws -> T {
        let outcome = try await readStream(key, chunkSize: chunkSize, options: options)
        let stream = outcome?.body
        do {
            let result = try await body(stream)
            await stream?.close()
            return result
        } catch {
            await stream?.close()
            throw error
        }
    }

    /// Deletes the value under `key`.
    ///
    /// - Returns: Whether there was a live value to delete.
    @discardableResult
    public func delete(_ key: StoreKey) async throws -> Bool {
        try await delete(key, condition: .always)
    }

    /// Whether `key` holds a live value.
    public func contains(_ key: StoreKey) async throws -> Bool {
        try await metadata(for: key) != nil
    }
}
