public import Foundation
import Synchronization

/// A store in this process's memory that holds at most a given number of bytes and of entries,
/// evicting the least recently used entries to make room: the cache tier of a ``CachedStore``
/// or a ``TieredStore``.
///
///     let cache = BoundedMemoryStore(maximumBytes: 64 << 20, maximumEntries: 10_000)
///     let store = file.cached(in: cache, mode: .mutable)
///
/// Within its bounds it honours the whole contract, as ``MemoryStore`` does: conditional writes
/// and deletes, expiry decided by an injectable ``WallClock``, creation dates (kept across
/// overwrites), listing in byte-wise key order. What it holds may vanish to make room for a
/// write, so use it for data that can be fetched again. Values vanish with the process.
///
/// **Bounds.** An entry counts the bytes of its value plus the UTF-8 bytes of its key against
/// ``maximumBytes``, and one against ``maximumEntries``. A write that takes the store over either
/// bound evicts least recently used entries (never the one being written) until both hold again;
/// a value that cannot fit even in an empty store is refused with
/// ``StoreError/Code/valueTooLarge``. Writes and reads of the value (``read(_:)``,
/// ``readStream(_:chunkSize:)``) make an entry the most recently used; ``metadata(for:)``,
/// `contains` and listings do not. Expired entries are invisible at once and count against the
/// bounds until they are read, evicted or reclaimed (``reclaimExpired()``).
///
/// Capabilities: conditional writes and deletes, expiration, creation date, retention. Not
/// persistent, not shared across processes.
///
/// - Complexity: Reads, writes, deletes and evictions are O(1) on average. Listing sorts the
///   keys once after they change (O(n log n)), then pages by binary search.
public final class BoundedMemoryStore: KeyValueStore {
    /// The most bytes of keys and values held at once.
    public let maximumBytes: Int
    /// The most entries held at once.
    public let maximumEntries: Int

    let state = Mutex(Contents())
    private let clock: WallClock
    private let name: String

    /// Creates an empty store.
    ///
    /// Bounds below 1 are a programmer error and stop the program.
    ///
    /// - Parameters:
    ///   - maximumBytes: The most bytes of keys and values to hold, such as `64 << 20`.
    ///   - maximumEntries: The most entries to hold, such as `10_000`.
    ///   - name: A name for messages. Defaults to `"bounded memory"`.
    ///   - clock: The clock that decides expiry. Defaults to ``WallClock/system``.
    public init(maximumBytes: Int, maximumEntries: Int, name: String = "bounded memory", clock: WallClock = .system) {
        precondition(maximumBytes > 0, "BoundedMemoryStore needs maximumBytes of at least 1")
        precondition(maximumEntries > 0, "BoundedMemoryStore needs maximumEntries of at least 1")
        self.maximumBytes = maximumBytes
        self.maximumEntries = maximumEntries
        self.name = name
        self.clock = clock
    }

    /// The name followed by the bounds, such as `bounded memory (67108864 bytes, 10000 entries)`.
    public var description: String { "\(name) (\(maximumBytes) bytes, \(maximumEntries) entries)" }

    /// Conditional writes and deletes, expiration, creation date, retention and a new ETag on
    /// every write.
    public var capabilities: StoreCapabilities {
        [.conditionalWrites, .conditionalDeletes, .expiration, .creationDate, .retention, .distinctETagPerWrite, .modificationDate]
    }

    /// The entry under `key`, made the most recently used.
    ///
    /// - Returns: The entry, or `nil` if the key holds no live value (never held one, expired,
    ///   deleted or evicted).
    public func read(_ key: StoreKey) async throws -> StoreEntry? {
        state.withLock { contents in
            guard let slot = contents.live(key, clock: clock) else { return nil }
            contents.touch(slot)
            let entry = contents.slots[slot]
            return StoreEntry(value: entry.value, metadata: entry.metadata())
        }
    }

    /// What a ``CopyTier`` keeps under `key`, read without suspending: its envelope's header is
    /// parsed once after each write rather than on every hit. Makes the entry the most recently
    /// used, as ``read(_:)`` does.
    func lookCopy(_ key: StoreKey) -> CopyTier.Slot {
        state.withLock { contents in
            guard let slot = contents.live(key, clock: clock) else { return .absent }
            contents.touch(slot)
            let etag = contents.slots[slot].etag
            switch contents.envelope(slot) {
            case .copy(let metadata, let valueOffset):
                let value = CacheEnvelope.value(in: contents.slots[slot].value, at: valueOffset)
                return .copy(StoreEntry(value: value, metadata: metadata), etag)
            case .placeholder, .malformed:
                return .placeholder(etag)
            }
        }
    }

    /// The entry under `key` in chunks of `chunkSize` bytes, made the most recently used.
    ///
    /// The value is in memory already; the chunks are slices of it.
    public func readStream(_ key: StoreKey, chunkSize: Int) async throws -> StreamedEntry? {
        guard let entry = try await read(key) else { return nil }
        return StreamedEntry(metadata: entry.metadata, chunks: ValueChunks(chunksOf: entry.value, chunkSize: chunkSize))
    }

    /// The metadata of `key`, leaving its recency alone.
    public func metadata(for key: StoreKey) async throws -> EntryMetadata? {
        let now = clock.now
        return state.withLock { contents in
            contents.live(key, now: now).map { contents.slots[$0].metadata() }
        }
    }

    /// Stores `value` under `key` if `options.condition` holds, as the most recently used entry,
    /// evicting least recently used entries to stay within the bounds.
    ///
    /// - Returns: The new entry's metadata.
    /// - Throws: ``StoreError`` with code ``StoreError/Code/valueTooLarge`` when the key and value
    ///   exceed ``maximumBytes`` on their own, ``StoreError/Code/conditionFailed`` when the
    ///   condition does not hold; nothing is written or evicted then.
    public func write(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        let cost = Contents.cost(of: key, value)
        guard cost <= maximumBytes else {
            throw StoreError(.valueTooLarge, operation: .write, key: key, store: description,
                             message: "the key and value take \(cost) bytes, more than the store's \(maximumBytes)")
        }
        let now = clock.now
        let expiration = options.expiry.expirationDate(writtenAt: now)
        let result: Result<EntryMetadata, StoreError> = state.withLock { contents in
            let current = contents.live(key, now: now).map { contents.slots[$0] }
            guard options.condition.isSatisfied(by: current?.metadata()) else {
                let holding = current.map { "holds version \($0.etag)" } ?? "holds no value"
                return .failure(StoreError(.conditionFailed, operation: .write, key: key, store: description,
                                           message: "condition \(options.condition) failed: the key \(holding)"))
            }
            let slot = contents.store(key, value, etag: contents.nextETag(), now: now,
                                      creationDate: current?.creationDate ?? now, expirationDate: expiration)
            contents.evict(toFit: maximumBytes, maximumEntries, keeping: slot, now: now)
            return .success(contents.slots[slot].metadata())
        }
        return try result.get()
    }

    /// Collects the chunks and stores them in one step, as ``write(_:for:options:)`` does; the
    /// value is held whole, as it will be once stored.
    public func write<Chunks: AsyncSequence & Sendable>(
        contentsOf chunks: Chunks, for key: StoreKey, options: WriteOptions
    ) async throws -> EntryMetadata where Chunks.Element == Data {
        var value = Data()
        for try await chunk in ValueChunks(chunks, checkedAgainst: options, key: key, store: description) {
            value.append(chunk)
            if Contents.cost(of: key, value) > maximumBytes {
                throw StoreError(.valueTooLarge, operation: .write, key: key, store: description,
                                 message: "the key and value take more than the store's \(maximumBytes) bytes")
            }
        }
        return try await write(value, for: key, options: options)
    }

    /// Deletes the value under `key` if `condition` holds.
    ///
    /// - Returns: Whether a live value was deleted.
    /// - Throws: ``StoreError/Code/conditionFailed`` when an ETag condition does not hold (an
    ///   evicted or expired entry matches no ETag).
    public func delete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool {
        let now = clock.now
        let result: Result<Bool, StoreError> = state.withLock { contents in
            let slot = contents.live(key, now: now)
            guard condition.isSatisfied(by: slot.map { contents.slots[$0].metadata() }) else {
                return .failure(StoreError(.conditionFailed, operation: .delete, key: key, store: description,
                                           message: "condition \(condition) failed"))
            }
            guard let slot else { return .success(false) }
            contents.remove(slot)
            return .success(true)
        }
        return try result.get()
    }

    /// One page of the live keys `query` selects, in byte-wise order, leaving recency alone.
    public func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
        let now = clock.now
        return state.withLock { contents in
            let keys = contents.keysInOrder()
            return SortedListing.page(of: keys, query: query, after: cursor, limit: limit) { key in
                guard let slot = contents.index[key], !contents.slots[slot].isExpired(at: now) else { return nil }
                return contents.slots[slot].metadata()
            }
        }
    }

    /// Pages through ``listPage(_:after:limit:)``.
    public func list(_ query: ListQuery, pageSize: Int) -> StoreListing {
        StoreListing(paging: self, query: query, pageSize: pageSize)
    }

    /// No URL: the values live in this process only.
    public func url(for key: StoreKey, validFor lifetime: Duration) async throws -> URL? { nil }

    /// Deletes every expired entry and frees its bytes.
    ///
    /// - Returns: The number of entries deleted.
    /// - Complexity: O(n) in the number of entries held.
    public func reclaimExpired() async throws -> Int {
        let now = clock.now
        return state.withLock { $0.removeExpired(now: now) }
    }
}
