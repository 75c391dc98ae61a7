public import Foundation

/// A persistent dictionary from ``StoreKey`` to bytes: the contract every Trove store honours.
///
/// A backend implements a few complete operations; everything else (subscripts, `contains`,
/// `count`, `update`, key and value sequences, sub-stores) is written once, in extensions, on
/// top of these. Layers implement every requirement, forwarding what they leave alone, so an
/// inner store's better version is never bypassed.
///
/// The contract, which ``TroveConformance`` checks:
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
    /// A default implementation reads the whole value and slices it.
    ///
    /// - Returns: The opened entry, or `nil` if the key holds no live value.
    func readStream(_ key: StoreKey, chunkSize: Int) async throws -> StreamedEntry?

    /// Reads the metadata of `key` without its value.
    ///
    /// - Returns: The metadata, or `nil` if the key holds no live value.
    func metadata(for key: StoreKey) async throws -> EntryMetadata?

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
    func write<Chunks: AsyncSequence>(
        contentsOf chunks: Chunks, for key: StoreKey, options: WriteOptions
    ) async throws -> EntryMetadata where Chunks.Element == Data

    /// Deletes the value under `key` if `condition` holds.
    ///
    /// - Returns: Whether a live value was deleted. Deleting a missing key with
    ///   ``DeleteCondition/always`` returns `false`.
    /// - Throws: ``StoreError/Code/conditionFailed`` when an ETag condition does not hold
    ///   (a missing key does not match any ETag).
    func delete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool

    /// Lists one page of at most `limit` elements, starting after `cursor`.
    ///
    /// Elements come in byte-wise order of their names. Pass the page's
    /// ``ListPage/nextCursor`` back to continue; `nil` starts from the beginning. Callers
    /// usually iterate ``list(_:)`` instead, which pages under the hood.
    func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage

    /// Lists what `query` selects as an async sequence, fetching about `pageSize` elements at
    /// a time.
    ///
    /// A default implementation pages through ``listPage(_:after:limit:)``; stores whose listing
    /// keeps state between batches (a directory walk) provide their own.
    func list(_ query: ListQuery, pageSize: Int) -> StoreListing

    /// A URL from which the value under `key` can be fetched directly, bypassing the store, where
    /// the store has one (an object store's presigned URL, say).
    ///
    /// The URL says nothing about whether the key holds a value. A default implementation
    /// returns `nil`, which is right for stores whose values cannot be fetched by URL, and for
    /// layers that transform values (signing, encryption, typed envelopes).
    func url(for key: StoreKey) async throws -> URL?

    /// Deletes every expired entry and frees its space.
    ///
    /// - Returns: The number of entries deleted. Stores without expiry return 0.
    func reclaimExpired() async throws -> Int
}

extension KeyValueStore {
    /// No URL: the value can be fetched only through the store.
    public func url(for key: StoreKey) async throws -> URL? { nil }

    /// Reads the whole value and yields it in chunks (for stores that cannot stream).
    public func readStream(_ key: StoreKey, chunkSize: Int) async throws -> StreamedEntry? {
        guard let entry = try await read(key) else { return nil }
        return StreamedEntry(metadata: entry.metadata, chunks: ValueChunks(chunksOf: entry.value, chunkSize: chunkSize))
    }

    /// Collects the chunks and writes them in one call (for stores that cannot stream).
    public func write<Chunks: AsyncSequence>(
        contentsOf chunks: Chunks, for key: StoreKey, options: WriteOptions
    ) async throws -> EntryMetadata where Chunks.Element == Data {
        var value = Data()
        for try await chunk in chunks { value.append(chunk) }
        return try await write(value, for: key, options: options)
    }
}
