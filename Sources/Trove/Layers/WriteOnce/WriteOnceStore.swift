public import Foundation

/// A store in which each key is written once: a second write of a key is refused, or ignored
/// when it brings the same bytes (persidict's `WriteOnceDict`). Suits content-addressed data,
/// caches of pure computations and logs.
///
///     let blobs = FileSystemStore(root: directory).writeOnce()
///     try await blobs.set(bytes, for: "sha256/9f86d0")   // stores
///     try await blobs.set(bytes, for: "sha256/9f86d0")   // same bytes: ignored, returns the stored metadata
///     try await blobs.set(other, for: "sha256/9f86d0")   // throws StoreError, code alreadyExists
///
/// **Writes.** A write without a condition is made with ``WriteCondition/ifAbsent`` underneath,
/// so of several writers racing on one key, across processes too where the base is shared,
/// exactly one stores its value. The others find the key taken and then, with probability
/// ``consistencyCheckProbability``, read the stored value: the same bytes make the write an
/// idempotent re-put that returns the stored entry's metadata (its ETag unchanged, nothing
/// written), different bytes throw ``StoreError/Code/alreadyExists``. Without the check (the rest
/// of the time, always at probability 0) nothing is read and compared: the write is skipped and
/// the stored metadata returned. A re-put's expiry is ignored with it.
///
/// An explicit ``WriteCondition/ifAbsent`` keeps the contract's meaning: a taken key throws
/// ``StoreError/Code/conditionFailed``, even for the same bytes. ``WriteCondition/ifMatches(_:)``
/// with the current ETag is judged as a re-put, always with the check: the same bytes return the
/// stored metadata, others throw ``StoreError/Code/alreadyExists``; a stale ETag or an absent key
/// throws ``StoreError/Code/conditionFailed``.
///
/// **Streamed writes** look before they write: if the key is taken, the chunks are compared with
/// the stored value as both stream (at most the stored size is read from the source), or, without
/// the check, not read at all. If another writer takes the key while a value is streaming in,
/// the chunks are gone and cannot be compared: the write throws
/// ``StoreError/Code/alreadyExists`` even if the bytes were the same.
///
/// **Deletes** are forwarded, after which the key can be written again; an entry that expired
/// counts as absent. With ``isAppendOnly``, nothing is ever removed: every delete throws
/// ``StoreError/Code/readOnly`` (the entries are read-only; new keys are still accepted), and a
/// write with an expiry throws ``StoreError/Code/notSupported``.
///
/// Needs a base with conditional writes; over one without, every write throws
/// ``StoreError/Code/notSupported``.
///
/// Capabilities: the base's; when append-only, without ``StoreCapabilities/conditionalDeletes``
/// and ``StoreCapabilities/expiration``.
public struct WriteOnceStore<Base: KeyValueStore>: KeyValueStore {
    /// The store beneath.
    public let base: Base
    /// The probability, from 0 to 1, that a write of a taken key reads the stored value to
    /// compare it with its own.
    public let consistencyCheckProbability: Double
    /// Whether deletes and expiry are refused, so that no entry is ever removed.
    public let isAppendOnly: Bool

    private let randomSource: @Sendable () -> Double

    /// How many times a write tries when the key keeps being created and deleted underneath.
    private static var maximumAttempts: Int { 100 }

    /// Creates a write-once view of `base`.
    ///
    /// - Parameters:
    ///   - base: The store that keeps the entries; it needs conditional writes.
    ///   - consistencyCheckProbability: How likely a write of a taken key is to compare bytes
    ///     (clamped to 0...1). Defaults to 1: every re-put is checked, so a different value never
    ///     goes unnoticed. (persidict's default is 0, which trusts the caller.)
    ///   - appendOnly: Whether deletes and expiry are refused too. Defaults to `false`.
    ///   - randomSource: Numbers uniformly distributed in `0..<1`, one drawn per write of a taken
    ///     key when the probability is strictly between 0 and 1; tests pass a fixed sequence.
    ///     Defaults to the system's generator.
    public init(
        base: Base,
        consistencyCheckProbability: Double = 1,
        appendOnly: Bool = false,
        randomSource: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.base = base
        self.consistencyCheckProbability = consistencyCheckProbability.isNaN ? 1 : Swift.min(1, Swift.max(0, consistencyCheckProbability))
        self.isAppendOnly = appendOnly
        self.randomSource = randomSource
    }

    /// The base store's description followed by `write-once` or `append-only`.
    public var description: String { "\(base.description) \(isAppendOnly ? "append-only" : "write-once")" }

    /// The base store's capabilities, without ``StoreCapabilities/atomicBatches`` (a batch is
    /// written entry by entry, each judged as a write of its own); when append-only, also
    /// without conditional deletes and anything to do with expiry.
    public var capabilities: StoreCapabilities {
        let capabilities = base.capabilities.subtracting(.atomicBatches)
        return isAppendOnly ? capabilities.subtracting([.conditionalDeletes, .expiration, .expiryRefreshOnRead]) : capabilities
    }

    /// The base's entry under `key`.
    public func read(_ key: StoreKey) async throws -> StoreEntry? {
        try await forwarding(key) { try await base.read(key) }
    }

    /// The base's entry under `key`, in chunks of about `chunkSize` bytes.
    public func readStream(_ key: StoreKey, chunkSize: Int) async throws -> StreamedEntry? {
        try await forwarding(key) { try await base.readStream(key, chunkSize: chunkSize) }
    }

    /// The base's metadata for `key`.
    public func metadata(for key: StoreKey) async throws -> EntryMetadata? {
        try await forwarding(key) { try await base.metadata(for: key) }
    }

    /// The base's entry under `key` under `options`.
    ///
    /// - Throws: ``StoreError/Code/notSupported`` for renewing an expiry on an append-only store.
    public func read(_ key: StoreKey, options: ReadOptions) async throws -> ReadOutcome<StoreEntry>? {
        try refuseRefreshIfAppendOnly(options, key)
        return try await forwarding(key) { try await base.read(key, options: options) }
    }

    /// The base's stream of `key` under `options`.
    public func readStream(_ key: StoreKey, chunkSize: Int, options: ReadOptions) async throws -> ReadOutcome<StreamedEntry>? {
        try refuseRefreshIfAppendOnly(options, key)
        return try await forwarding(key) { try await base.readStream(key, chunkSize: chunkSize, options: options) }
    }

    /// The base's metadata for `key` under `options`.
    public func metadata(for key: StoreKey, options: ReadOptions) async throws -> EntryMetadata? {
        try refuseRefreshIfAppendOnly(options, key)
        return try await forwarding(key) { try await base.metadata(for: key, options: options) }
    }

    /// The base's count.
    public func count(withPrefix prefix: String) async throws -> Int {
        try await forwarding(nil) { try await base.count(withPrefix: prefix) }
    }

    /// The base's batched read.
    public func readBatch(_ keys: [StoreKey]) async throws -> [StoreEntry?] {
        try await forwarding(nil) { try await base.readBatch(keys) }
    }

    /// Writes the entries one after the other, each as ``write(_:for:options:)`` would (a
    /// re-put of a taken key needs its own look at the stored value).
    public func writeBatch(_ writes: [BatchWrite]) async throws -> [Result<EntryMetadata, StoreError>] {
        try await writeEachInTurn(writes)
    }

    /// The base's batched delete.
    ///
    /// - Throws: ``StoreError/Code/readOnly`` on an append-only store, before anything is deleted.
    public func deleteBatch(_ deletes: [BatchDelete]) async throws -> [Result<Void, StoreError>] {
        try refuseDeleteIfAppendOnly(deletes.first?.key)
        return try await forwarding(nil) { try await base.deleteBatch(deletes) }
    }

    /// Deletes `key` in the base without reporting whether it held a value.
    ///
    /// - Throws: ``StoreError/Code/readOnly`` on an append-only store.
    public func discard(_ key: StoreKey) async throws {
        try refuseDeleteIfAppendOnly(key)
        try await forwarding(key) { try await base.discard(key) }
    }

    private func refuseDeleteIfAppendOnly(_ key: StoreKey?) throws(StoreError) {
        guard isAppendOnly else { return }
        throw StoreError(.readOnly, operation: .delete, key: key, store: description,
                         message: "the store is append-only: its entries are never deleted")
    }

    private func refuseRefreshIfAppendOnly(_ options: ReadOptions, _ key: StoreKey) throws(StoreError) {
        guard isAppendOnly, options.refreshingExpiry != nil else { return }
        throw StoreError(.notSupported, operation: .read, key: key, store: description,
                         message: "renewing an expiry is not supported by an append-only store, whose entries never expire")
    }

    /// Stores `value` under `key` if the key holds no value; otherwise treats the write as a
    /// re-put (see the type's documentation).
    ///
    /// - Returns: The new entry's metadata, or the stored entry's for an ignored re-put.
    /// - Throws: ``StoreError/Code/alreadyExists`` when the key holds other bytes (found by the
    ///   check); ``StoreError/Code/conditionFailed`` for a failed explicit condition;
    ///   ``StoreError/Code/notSupported`` for an expiry on an append-only store or a base
    ///   without conditional writes.
    public func write(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        try await forwarding(key) {
            try refuseExpiryIfAppendOnly(options.expiry, key)
            if options.condition.requiresAbsence {
                return try await base.write(value, for: key, options: options)
            }
            if let expected = options.condition.expectedETag {
                guard let current = try await base.read(key), current.metadata.etag == expected else {
                    throw conditionFailed(options.condition, key)
                }
                guard current.value == value else { throw alreadyExists(key) }
                return current.metadata
            }
            for _ in 1...Self.maximumAttempts {
                try Task.checkCancellation()
                do {
                    return try await base.write(value, for: key, options: WriteOptions(condition: .ifAbsent, expiry: options.expiry))
                } catch let error as StoreError where error.code == .conditionFailed {
                    // Taken: a re-put.
                }
                if drawsCheck() {
                    guard let current = try await base.read(key) else { continue }  // deleted meanwhile
                    guard current.value == value else { throw alreadyExists(key) }
                    return current.metadata
                }
                guard let current = try await base.metadata(for: key) else { continue }
                return current
            }
            throw gaveUp(key)
        }
    }

    /// Streams the bytes of `chunks` under `key` if the key holds no value; otherwise treats the
    /// write as a re-put, comparing the chunks with the stored value as both stream.
    ///
    /// - Throws: As ``write(_:for:options:)``; also ``StoreError/Code/alreadyExists`` when another
    ///   writer took the key while the chunks were streaming in.
    public func write<Chunks: AsyncSequence & Sendable>(
        contentsOf chunks: Chunks, for key: StoreKey, options: WriteOptions
    ) async throws -> EntryMetadata where Chunks.Element == Data {
        try await forwarding(key) {
            try refuseExpiryIfAppendOnly(options.expiry, key)
            if options.condition.requiresAbsence {
                return try await base.write(contentsOf: chunks, for: key, options: options)
            }
            if let expected = options.condition.expectedETag {
                guard let stored = try await base.readStream(key, chunkSize: Self.comparisonChunkSize),
                      stored.metadata.etag == expected else {
                    throw conditionFailed(options.condition, key)
                }
                guard try await Self.sameBytes(chunks, as: stored) else { throw alreadyExists(key) }
                return stored.metadata
            }
            for _ in 1...Self.maximumAttempts {
                try Task.checkCancellation()
                if let existing = try await base.metadata(for: key) {
                    guard drawsCheck() else { return existing }
                    guard let stored = try await base.readStream(key, chunkSize: Self.comparisonChunkSize) else { continue }
                    guard try await Self.sameBytes(chunks, as: stored) else { throw alreadyExists(key) }
                    return stored.metadata
                }
                do {
                    return try await base.write(contentsOf: chunks, for: key,
                                                options: WriteOptions(condition: .ifAbsent, expiry: options.expiry))
                } catch let error as StoreError where error.code == .conditionFailed {
                    throw StoreError(.alreadyExists, operation: .write, key: key, store: description,
                                     message: "another writer stored a value under the key while this one was streaming in; "
                                         + "its chunks are consumed and could not be compared", underlying: error)
                }
            }
            throw gaveUp(key)
        }
    }

    /// Deletes the value under `key` in the base, after which the key can be written again.
    ///
    /// - Throws: ``StoreError/Code/readOnly`` on an append-only store, whatever the key holds.
    public func delete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool {
        try refuseDeleteIfAppendOnly(key)
        return try await forwarding(key) { try await base.delete(key, condition: condition) }
    }

    /// One page of the base's listing.
    public func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
        try await forwarding(nil) { try await base.listPage(query, after: cursor, limit: limit) }
    }

    /// The base's listing.
    public func list(_ query: ListQuery, pageSize: Int) -> StoreListing {
        base.list(query, pageSize: pageSize)
    }

    /// The base's URL for `key`.
    public func url(for key: StoreKey, validFor lifetime: Duration) async throws -> URL? {
        try await forwarding(key) { try await base.url(for: key, validFor: lifetime) }
    }

    /// Reclaims the base's expired entries (an append-only store writes none, but its base may
    /// hold some).
    public func reclaimExpired() async throws -> Int {
        try await forwarding(nil) { try await base.reclaimExpired() }
    }

    // MARK: Support

    /// The chunk size in which stored values are read for comparison.
    private static var comparisonChunkSize: Int { 64 << 10 }

    /// Whether this re-put compares bytes.
    private func drawsCheck() -> Bool {
        if consistencyCheckProbability >= 1 { return true }
        if consistencyCheckProbability <= 0 { return false }
        return randomSource() < consistencyCheckProbability
    }

    private func refuseExpiryIfAppendOnly(_ expiry: Expiry, _ key: StoreKey) throws(StoreError) {
        guard isAppendOnly, !expiry.isNever else { return }
        throw StoreError(.notSupported, operation: .write, key: key, store: description,
                         message: "option expiry (\(expiry)) is not supported by an append-only store, whose entries are never removed")
    }

    private func alreadyExists(_ key: StoreKey) -> StoreError {
        StoreError(.alreadyExists, operation: .write, key: key, store: description,
                   message: "the key was written before with different bytes, and a write-once key cannot change")
    }

    private func conditionFailed(_ condition: WriteCondition, _ key: StoreKey) -> StoreError {
        StoreError(.conditionFailed, operation: .write, key: key, store: description,
                   message: "condition \(condition) failed: the key does not hold that version")
    }

    private func gaveUp(_ key: StoreKey) -> StoreError {
        StoreError(.conditionFailed, operation: .write, key: key, store: description,
                   message: "gave up after \(Self.maximumAttempts) attempts: the key kept being created and deleted underneath",
                   isRetryable: true)
    }

    /// Runs `body`, reporting its errors in this layer's terms.
    private func forwarding<T>(_ key: StoreKey?, _ body: () async throws -> T) async throws -> T {
        try await StoreError.relabeling(store: description, key: key, body)
    }
}
