public import Foundation

/// A persistent dictionary from ``StoreKey`` to bytes: the contract every Trove store honours.
///
/// A backend implements a few complete operations; everything else (subscripts, `contains`,
/// `count`, `update`, key and value sequences, sub-stores) is written once, in extensions, on
/// top of these. Layers implement every requirement, forwarding what they leave alone, so an
/// inner store's better version is never bypassed.
///
/// Requirements with a default (the read options, batches, ``count(withPrefix:)``,
/// ``discard(_:)``) exist so that a store's native version (a transaction, a pipeline, an SQL
/// `COUNT`) is reached through every layer and through `any KeyValueStore`: a layer forwards
/// them, a store overrides the defaults it can do better.
///
/// The contract, which the `TroveConformance` library checks:
/// - A missing key reads as `nil`, never as an error.
/// - One call is one atomic operation: a reader sees the old value or the new one, never a mix.
/// - Writes take a ``WriteCondition``; a failed condition throws
///   ``StoreError/Code/conditionFailed`` and changes nothing.
/// - Writes may take an ``Expiry``; an expired entry is invisible to every read and listing.
/// - Listing is in byte-wise key order, paged, and may stop early.
/// - Every store is `Sendable` and safe to use from many tasks at once.
public protocol KeyValueStore: Sendable, CustomStringConvertible {
    /// What this store can do and which metadata it keeps.
    var capabilities: StoreCapabilities { get }

    /// Reads the value and metadata stored under `key`.
    ///
    /// - Returns: The entry, or `nil` if the key holds no live value.
    /// - Throws: ``StoreError`` when the store cannot be read.
    func read(_ key: StoreKey) async throws -> StoreEntry?

    /// Reads the value under `key` as a sequence of chunks of about `chunkSize` bytes.
    ///
    /// Stores with ``StoreCapabilities/streaming`` never hold the whole value in memory.
    /// A default implementation reads the whole value and slices it. What the stream holds
    /// open is released at its end, by ``StreamedEntry/close()``, or when it is dropped;
    /// ``withReadStream(_:chunkSize:options:_:)`` scopes it.
    ///
    /// - Returns: The opened entry, or `nil` if the key holds no live value.
    func readStream(_ key: StoreKey, chunkSize: Int) async throws -> StreamedEntry?

    /// Reads the metadata of `key` without its value.
    ///
    /// - Returns: The metadata, or `nil` if the key holds no live value.
    func metadata(for key: StoreKey) async throws -> EntryMetadata?

    /// Reads `key` under `options`: a range of the value, nothing when its ETag is
    /// ``ReadOptions/ifNoneMatch``, a renewed expiry in the same step.
    ///
    /// A default implementation reads the whole value with ``read(_:)`` and applies the range
    /// and the ETag comparison to it; it throws ``StoreError/Code/notSupported`` for
    /// ``ReadOptions/refreshingExpiry``, which needs the store's own version (and
    /// ``StoreCapabilities/expiryRefreshOnRead``).
    ///
    /// - Returns: The value (or its range) with the metadata, ``ReadOutcome/unchanged(_:)``
    ///   with the metadata alone, or `nil` if the key holds no live value.
    func read(_ key: StoreKey, options: ReadOptions) async throws -> ReadOutcome<StoreEntry>?

    /// Opens `key` for reading in chunks under `options` (see ``read(_:options:)``).
    ///
    /// A default implementation opens the whole value with ``readStream(_:chunkSize:)``,
    /// skips to the range and stops after it.
    func readStream(_ key: StoreKey, chunkSize: Int, options: ReadOptions) async throws -> ReadOutcome<StreamedEntry>?

    /// Reads the metadata of `key`, renewing its expiry in the same step when `options` say so.
    ///
    /// ``ReadOptions/range`` and ``ReadOptions/ifNoneMatch`` do not change what metadata
    /// returns. A default implementation calls ``metadata(for:)`` and throws
    /// ``StoreError/Code/notSupported`` for ``ReadOptions/refreshingExpiry``.
    func metadata(for key: StoreKey, options: ReadOptions) async throws -> EntryMetadata?

    /// Stores `value` under `key` if `options.condition` holds, as one atomic step.
    ///
    /// - Returns: The new entry's metadata, with its new ETag.
    /// - Throws: ``StoreError`` (``StoreError/Code/conditionFailed`` when the condition does not
    ///   hold, ``StoreError/Code/notSupported`` for an option the store cannot honour, …).
    func write(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata

    /// Stores the bytes of `chunks` under `key` if `options.condition` holds, as one atomic step.
    ///
    /// Stores with ``StoreCapabilities/streaming`` write the chunks as they come, never holding
    /// the whole value; readers see the previous value until the last chunk is committed. A
    /// default implementation collects the chunks and calls ``write(_:for:options:)``.
    /// When ``WriteOptions/expectedSize`` is given, chunks adding up to another size fail the
    /// write with ``StoreError/Code/invalidArgument`` and nothing is written.
    func write<Chunks: AsyncSequence & Sendable>(
        contentsOf chunks: Chunks, for key: StoreKey, options: WriteOptions
    ) async throws -> EntryMetadata where Chunks.Element == Data

    /// Deletes the value under `key` if `condition` holds.
    ///
    /// - Returns: Whether a live value was deleted. Deleting a missing key with
    ///   ``DeleteCondition/always`` returns `false`.
    /// - Throws: ``StoreError/Code/conditionFailed`` when an ETag condition does not hold
    ///   (a missing key does not match any ETag).
    func delete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool

    /// Deletes the value under `key` if there is one, without finding out whether there was.
    ///
    /// Stores that cannot tell cheaply whether a key held a value (an object store's delete
    /// answers the same either way) implement this instead of paying for a lookup. A default
    /// implementation calls ``delete(_:condition:)``.
    func discard(_ key: StoreKey) async throws

    /// Lists one page of at most `limit` elements, starting after `cursor`.
    ///
    /// Elements come in byte-wise order of their names. Pass the page's
    /// ``ListPage/nextCursor`` back to continue; `nil` starts from the beginning. Callers
    /// usually iterate ``list(_:)`` instead, which pages under the hood. A cursor is a position
    /// in key order, not a snapshot (see ``ListCursor``).
    func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage

    /// Lists what `query` selects as an async sequence, fetching about `pageSize` elements at
    /// a time.
    ///
    /// A default implementation pages through ``listPage(_:after:limit:)``; stores whose listing
    /// keeps state between batches (a directory walk) provide their own.
    func list(_ query: ListQuery, pageSize: Int) -> StoreListing

    /// The number of live keys that start with `prefix`.
    ///
    /// A default implementation counts a listing of the prefix; stores that can count without
    /// listing (an SQL `COUNT`) provide their own.
    ///
    /// - Throws: ``StoreError/Code/invalidArgument`` when `prefix` cannot be a listing prefix.
    func count(withPrefix prefix: String) async throws -> Int

    /// Reads many keys at once.
    ///
    /// A default implementation reads them one after the other; stores with a native batch (a
    /// transaction, a pipeline, a multi-row query) read them in one round trip. Keys may
    /// repeat.
    ///
    /// - Returns: One element per key, in the order of `keys`: the entry, or `nil` for a key
    ///   without a live value.
    /// - Throws: ``StoreError`` when the batch cannot be read.
    func readBatch(_ keys: [StoreKey]) async throws -> [StoreEntry?]

    /// Writes many entries at once, each with its own condition and expiry.
    ///
    /// With ``StoreCapabilities/atomicBatches`` the batch is applied whole or not at all: when
    /// one entry fails, every entry's result is a failure (the others' made by
    /// ``StoreError/batchAborted(by:key:store:)``). Without it each entry succeeds or fails on
    /// its own. A key written twice in one batch ends with the later value. A default
    /// implementation writes the entries one after the other.
    ///
    /// - Returns: One result per write, in order: the new metadata, or the entry's error.
    /// - Throws: ``StoreError`` for a failure of the whole batch (the store cannot be reached),
    ///   after which any entry may or may not have been written.
    func writeBatch(_ writes: [BatchWrite]) async throws -> [Result<EntryMetadata, StoreError>]

    /// Deletes many keys at once, each under its own condition, without reporting whether
    /// a key held a value.
    ///
    /// Atomic as ``writeBatch(_:)`` is, with ``StoreCapabilities/atomicBatches``. A default
    /// implementation deletes the keys one after the other.
    ///
    /// - Returns: One result per delete, in order; a failed condition is that entry's
    ///   ``StoreError/Code/conditionFailed``.
    func deleteBatch(_ deletes: [BatchDelete]) async throws -> [Result<Void, StoreError>]

    /// A URL from which the value under `key` can be fetched directly for `lifetime`,
    /// bypassing the store, where the store has one (an object store's presigned URL, say).
    ///
    /// The URL says nothing about whether the key holds a value; a URL that needs no signature
    /// (a file's) may stay valid longer than `lifetime`. A default implementation returns
    /// `nil`, which is right for stores whose values cannot be fetched by URL, and for layers
    /// that transform values (signing, encryption, typed envelopes).
    func url(for key: StoreKey, validFor lifetime: Duration) async throws -> URL?

    /// Deletes every expired entry and frees its space.
    ///
    /// - Returns: The number of entries deleted. Stores without expiry return 0.
    func reclaimExpired() async throws -> Int
}

extension KeyValueStore {
    /// No URL: the value can be fetched only through the store.
    public func url(for key: StoreKey, validFor lifetime: Duration) async throws -> URL? { nil }

    /// A URL from which the value under `key` can be fetched directly for an hour, where the
    /// store has one (see ``url(for:validFor:)``).
    public func url(for key: StoreKey) async throws -> URL? {
        try await url(for: key, validFor: .seconds(3600))
    }

    /// Reads the whole value and yields it in chunks (for stores that cannot stream).
    public func readStream(_ key: StoreKey, chunkSize: Int) async throws -> StreamedEntry? {
        guard let entry = try await read(key) else { return nil }
        return StreamedEntry(metadata: entry.metadata, chunks: ValueChunks(chunksOf: entry.value, chunkSize: chunkSize))
    }

    /// Reads the whole value with ``read(_:)`` and applies `options` to it.
    public func read(_ key: StoreKey, options: ReadOptions) async throws -> ReadOutcome<StoreEntry>? {
        if options.refreshingExpiry != nil { throw Self.refreshNotSupported(self, key, .read) }
        guard let entry = try await read(key) else { return nil }
        return options.outcome(of: entry)
    }

    /// Opens the whole value with ``readStream(_:chunkSize:)`` and applies `options` to it.
    public func readStream(_ key: StoreKey, chunkSize: Int, options: ReadOptions) async throws -> ReadOutcome<StreamedEntry>? {
        if options.refreshingExpiry != nil { throw Self.refreshNotSupported(self, key, .read) }
        guard let entry = try await readStream(key, chunkSize: chunkSize) else { return nil }
        return await options.outcome(of: entry)
    }

    /// The metadata from ``metadata(for:)``; renewing an expiry is not supported.
    public func metadata(for key: StoreKey, options: ReadOptions) async throws -> EntryMetadata? {
        if options.refreshingExpiry != nil { throw Self.refreshNotSupported(self, key, .metadata) }
        return try await metadata(for: key)
    }

    static func refreshNotSupported(_ store: Self, _ key: StoreKey, _ operation: StoreOperation) -> StoreError {
        StoreError(.notSupported, operation: operation, key: key, store: store.description,
                   message: "this store cannot renew an expiry within a read (it lacks expiryRefreshOnRead)")
    }

    /// Collects the chunks and writes them in one call (for stores that cannot stream).
    public func write<Chunks: AsyncSequence & Sendable>(
        contentsOf chunks: Chunks, for key: StoreKey, options: WriteOptions
    ) async throws -> EntryMetadata where Chunks.Element == Data {
        var value = Data()
        if let expected = options.expectedSize, expected <= Int64(Int.max) { value.reserveCapacity(Int(min(expected, 1 << 26))) }
        for try await chunk in chunks {
            value.append(chunk)
            try options.checkSize(soFar: Int64(value.count), isComplete: false, key: key, store: description)
        }
        try options.checkSize(soFar: Int64(value.count), isComplete: true, key: key, store: description)
        return try await write(value, for: key, options: options)
    }

    /// Deletes with ``delete(_:condition:)`` and ignores what it reports.
    public func discard(_ key: StoreKey) async throws {
        _ = try await delete(key, condition: .always)
    }

    /// Counts a listing of the prefix (see ``countByListing(withPrefix:)``).
    public func count(withPrefix prefix: String) async throws -> Int {
        try await countByListing(withPrefix: prefix)
    }

    /// Counts the keys of a listing of the prefix: the default of ``count(withPrefix:)``, for
    /// layers that must see every key to count it.
    public func countByListing(withPrefix prefix: String) async throws -> Int {
        var total = 0
        for try await element in list(try ListQuery(prefix: prefix), pageSize: 1000) where element.key != nil { total += 1 }
        return total
    }

    /// Reads the keys one after the other (see ``readEachInTurn(_:)``).
    public func readBatch(_ keys: [StoreKey]) async throws -> [StoreEntry?] {
        try await readEachInTurn(keys)
    }

    /// Writes the entries one after the other (see ``writeEachInTurn(_:)``).
    public func writeBatch(_ writes: [BatchWrite]) async throws -> [Result<EntryMetadata, StoreError>] {
        try await writeEachInTurn(writes)
    }

    /// Deletes the keys one after the other (see ``deleteEachInTurn(_:)``).
    public func deleteBatch(_ deletes: [BatchDelete]) async throws -> [Result<Void, StoreError>] {
        try await deleteEachInTurn(deletes)
    }
}
