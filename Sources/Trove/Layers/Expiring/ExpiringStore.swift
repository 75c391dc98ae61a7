public import Foundation

/// Expiry, fixed or sliding, on any store: entries vanish from every read, listing and count once
/// their time is up, and their space is reclaimed.
///
///     let sessions = FileSystemStore(root: directory).expiring(after: .seconds(1800), sliding: true)
///     try await sessions.set(token, for: "alice")                          // expires 30 min after the last read
///     try await sessions.set(token, for: "bob", expiry: .after(.seconds(60)))   // its own lifetime
///
/// **Default lifetime.** A write that asks for no expiry (``Expiry/never``, the default of every
/// write) gets `defaultLifetime` when the store has one; a write with its own ``Expiry`` keeps it.
/// With a default lifetime every entry written through the layer expires: to keep one for good,
/// write it with `.at(.distantFuture)`, or write it to the base.
///
/// **Sliding expiry.** In sliding mode an entry written with a relative expiry (its own
/// `.after(_:)` or the default lifetime) lives that long after its *last read*: every
/// ``read(_:)`` and ``readStream(_:chunkSize:)`` pushes its deadline to `now + lifetime`. An
/// entry written with `.at(_:)` keeps its fixed deadline. Metadata lookups, `contains` and
/// listings do not count as reads. A refresh rewrites the whole entry (for a streamed read, the
/// value is streamed through a second time), so sliding expiry suits small values such as
/// sessions. ``KeyValueStore/update(_:maxAttempts:backoff:_:)`` rewrites an entry with its current
/// deadline as `.at(_:)`, which makes a sliding entry a fixed one.
///
/// **How expiry is kept.** Two ways, chosen when the layer is made (``delegatesExpiryToBase``):
/// - *Delegation*, when the base has native expiry (``StoreCapabilities/expiration``) and the
///   mode is fixed: every call is forwarded with the write's expiry (or the default lifetime)
///   and the base enforces it. The medium (a file's header, a database column, a server's TTL)
///   keeps the deadline for every process, sweeps on its own, values stay the caller's bytes,
///   ETags and ``url(for:)`` are the base's. The base's clock decides; this layer's clock is
///   unused.
/// - *Envelope*, for a base without native expiry, or in sliding mode (which must keep each
///   entry's lifetime and rewrite its deadline without changing its version): every value is
///   stored behind a 48-byte header holding a version token, the time of the write, the
///   deadline and the sliding lifetime. The header travels with the value in one atomic write, so
///   a value and its deadline can never disagree, across processes too, and no side entries
///   clutter the base's keys. Where the base has native expiry the deadline is also given to it,
///   so the medium reclaims the space by itself; give the base and this layer the same clock.
///
/// The two ways store entries differently: do not switch the mode (or the base's kind) over
/// existing data. In envelope mode a value that lacks the header (written to the base directly)
/// reads as ``StoreError/Code/integrity``.
///
/// **ETags.** With delegation they are the base's. In envelope mode the ETag is the version
/// token from the header: random, 128 bits, new on every write through the layer. A sliding
/// refresh keeps it, since the value did not change, so an ETag from a read stays good for
/// ``WriteCondition/ifMatches(_:)`` even after other readers refreshed the entry. Conditions are
/// checked against that token and carried out on the base with the base's own ETag as one
/// atomic conditional write or delete, retried when a refresh slipped in between. A streamed
/// conditional write cannot be retried (its chunks are read once): if another writer or a
/// refresh changes the entry while it streams, it fails with ``StoreError/Code/conditionFailed``.
///
/// **Costs in envelope mode.** A conditional write, any delete and a metadata lookup read the
/// header first (a streamed read of 48 bytes). Listings read the header of every key they
/// return, a few at a time, and check that each common prefix still holds a live key. Expired
/// entries are deleted when a read, a listing or a write finds them (best effort, with a
/// conditional delete, so a newer value is never lost) and by ``reclaimExpired()``, which walks
/// the whole base. ``url(for:)`` is `nil`, since stored bytes carry the header.
///
/// **Requirements.** Conditions and sliding expiry need the base's conditional writes; deleting
/// expired entries needs its conditional deletes. Without them, a sliding write, a conditional
/// write or delete throw ``StoreError/Code/notSupported``; expired entries are left in place
/// (still invisible), and ``reclaimExpired()`` throws ``StoreError/Code/notSupported`` unless
/// the base reclaims them natively.
///
/// **Read options and batches.** With delegation they go to the base as they are, so a range,
/// an `ifNoneMatch` revalidation, an expiry renewed within a read and a native batch cost what
/// they cost there. In envelope mode a read with options reads the entry and applies them,
/// batches run entry by entry, and renewing an expiry within a read is not offered. Sliding
/// mode keeps an envelope because each entry slides by its own lifetime, which the entry must
/// carry; a store-wide sliding lifetime with a single round trip per read is a store's own
/// option where its server has one.
///
/// Capabilities: the base's, plus ``StoreCapabilities/expiration``; in envelope mode without
/// ``StoreCapabilities/atomicBatches`` and ``StoreCapabilities/expiryRefreshOnRead``.
public struct ExpiringStore<Base: KeyValueStore>: KeyValueStore {
    /// The store beneath.
    public let base: Base
    /// The lifetime of entries written without an expiry of their own, or `nil` for none.
    public let defaultLifetime: Duration?
    /// Whether reads push the deadline of entries with a relative lifetime.
    public let isSliding: Bool
    /// Whether the base's native expiry does the work (fixed mode over a base with
    /// ``StoreCapabilities/expiration``); `false` when entries are kept in an envelope.
    public let delegatesExpiryToBase: Bool

    /// The clock that decides expiry in envelope mode.
    let clock: WallClock
    /// Whether the base has native expiry, to which envelope mode also gives each deadline.
    let baseExpires: Bool

    /// How many times a conditional operation or a sliding refresh is tried when concurrent
    /// refreshes or writes keep changing the entry underneath.
    static var maximumAttempts: Int { 1000 }

    /// Creates an expiring view of `base`.
    ///
    /// - Parameters:
    ///   - base: The store that keeps the entries.
    ///   - defaultLifetime: The lifetime of entries written without an expiry of their own.
    ///     Defaults to `nil`: such entries never expire.
    ///   - sliding: Whether each read extends an entry's life by its lifetime. Defaults to `false`.
    ///   - clock: The clock that decides expiry in envelope mode; tests pass a
    ///     ``ManualWallClock``'s. Defaults to ``WallClock/system``.
    public init(base: Base, defaultLifetime: Duration? = nil, sliding: Bool = false, clock: WallClock = .system) {
        self.base = base
        self.defaultLifetime = defaultLifetime
        self.isSliding = sliding
        self.clock = clock
        self.baseExpires = base.capabilities.contains(.expiration)
        self.delegatesExpiryToBase = baseExpires && !sliding
    }

    /// The base store's description followed by `expiring` and the mode, such as
    /// `memory expiring(after 60.0 seconds, sliding)`.
    public var description: String {
        var details: [String] = []
        if let defaultLifetime { details.append("after \(defaultLifetime)") }
        if isSliding { details.append("sliding") }
        return "\(base.description) expiring" + (details.isEmpty ? "" : "(\(details.joined(separator: ", ")))")
    }

    /// The base store's capabilities, plus ``StoreCapabilities/expiration``; in envelope mode
    /// without atomic batches and renewing an expiry within a read.
    public var capabilities: StoreCapabilities {
        let capabilities = base.capabilities.union(.expiration)
        return delegatesExpiryToBase ? capabilities : capabilities.subtracting([.atomicBatches, .expiryRefreshOnRead])
    }

    /// Reads `key` under `options`: forwarded with delegation; in envelope mode, the entry is
    /// read as ``read(_:)`` does and the options applied to it.
    ///
    /// - Throws: In envelope mode ``StoreError/Code/notSupported`` for
    ///   ``ReadOptions/refreshingExpiry``.
    public func read(_ key: StoreKey, options: ReadOptions) async throws -> ReadOutcome<StoreEntry>? {
        try await forwarding(key) {
            if delegatesExpiryToBase { return try await base.read(key, options: options) }
            try refuseRefreshInEnvelope(options, key)
            return try await envelopeRead(key).map(options.outcome(of:))
        }
    }

    /// Opens `key` under `options`: forwarded with delegation; applied to the opened entry in
    /// envelope mode.
    public func readStream(_ key: StoreKey, chunkSize: Int, options: ReadOptions) async throws -> ReadOutcome<StreamedEntry>? {
        try await forwarding(key) {
            if delegatesExpiryToBase { return try await base.readStream(key, chunkSize: chunkSize, options: options) }
            try refuseRefreshInEnvelope(options, key)
            guard let entry = try await envelopeReadStream(key, chunkSize: chunkSize) else { return nil }
            return await options.outcome(of: entry)
        }
    }

    /// The metadata of `key` under `options`: forwarded with delegation.
    public func metadata(for key: StoreKey, options: ReadOptions) async throws -> EntryMetadata? {
        try await forwarding(key) {
            if delegatesExpiryToBase { return try await base.metadata(for: key, options: options) }
            try refuseRefreshInEnvelope(options, key)
            return try await envelopeMetadata(key)
        }
    }

    /// Deletes `key` without reporting whether it held a live value.
    public func discard(_ key: StoreKey) async throws {
        try await forwarding(key) {
            if delegatesExpiryToBase { return try await base.discard(key) }
            _ = try await envelopeDelete(key, condition: .always)
        }
    }

    /// The number of live keys under `prefix`: the base's count with delegation; a listing of
    /// live entries in envelope mode.
    public func count(withPrefix prefix: String) async throws -> Int {
        try await forwarding(nil) {
            delegatesExpiryToBase ? try await base.count(withPrefix: prefix) : try await countByListing(withPrefix: prefix)
        }
    }

    /// The base's batched read with delegation; entry by entry in envelope mode.
    public func readBatch(_ keys: [StoreKey]) async throws -> [StoreEntry?] {
        try await forwarding(nil) {
            delegatesExpiryToBase ? try await base.readBatch(keys) : try await readEachInTurn(keys)
        }
    }

    /// The base's batched write with delegation (each write given its expiry or the default
    /// lifetime); entry by entry in envelope mode.
    public func writeBatch(_ writes: [BatchWrite]) async throws -> [Result<EntryMetadata, StoreError>] {
        try await forwarding(nil) {
            guard delegatesExpiryToBase else { return try await writeEachInTurn(writes) }
            return try await base.writeBatch(writes.map { write in
                var options = write.options
                options.expiry = effectiveExpiry(options.expiry)
                return BatchWrite(write.key, write.value, options: options)
            })
        }
    }

    /// The base's batched delete with delegation; entry by entry in envelope mode.
    public func deleteBatch(_ deletes: [BatchDelete]) async throws -> [Result<Void, StoreError>] {
        try await forwarding(nil) {
            delegatesExpiryToBase ? try await base.deleteBatch(deletes) : try await deleteEachInTurn(deletes)
        }
    }

    private func refuseRefreshInEnvelope(_ options: ReadOptions, _ key: StoreKey) throws(StoreError) {
        guard options.refreshingExpiry != nil else { return }
        throw StoreError(.notSupported, operation: .read, key: key, store: description,
                         message: "renewing an expiry within a read is not supported when expiry is kept in an envelope; use sliding mode")
    }

    /// Reads the live value under `key`; in sliding mode, pushes its deadline (see the type's
    /// documentation).
    ///
    /// - Returns: The entry, or `nil` if the key holds no value or it has expired.
    /// - Throws: ``StoreError`` from the base, relabelled with this layer; in envelope mode
    ///   ``StoreError/Code/integrity`` for a stored value without a valid expiry envelope.
    public func read(_ key: StoreKey) async throws -> StoreEntry? {
        try await forwarding(key) {
            delegatesExpiryToBase ? try await base.read(key) : try await envelopeRead(key)
        }
    }

    /// Opens the live value under `key` for reading in chunks of at most `chunkSize` bytes; in
    /// sliding mode, pushes its deadline first.
    ///
    /// - Returns: The opened entry, or `nil` if the key holds no value or it has expired.
    public func readStream(_ key: StoreKey, chunkSize: Int) async throws -> StreamedEntry? {
        try await forwarding(key) {
            delegatesExpiryToBase
                ? try await base.readStream(key, chunkSize: chunkSize)
                : try await envelopeReadStream(key, chunkSize: chunkSize)
        }
    }

    /// The metadata of the live entry under `key`, with its expiration date; never extends it.
    public func metadata(for key: StoreKey) async throws -> EntryMetadata? {
        try await forwarding(key) {
            delegatesExpiryToBase ? try await base.metadata(for: key) : try await envelopeMetadata(key)
        }
    }

    /// Stores `value` under `key` with the write's expiry, or the default lifetime when it gives
    /// none, as one atomic step.
    ///
    /// - Returns: The new entry's metadata, with its expiration date.
    /// - Throws: ``StoreError/Code/conditionFailed`` when the condition does not hold (an expired
    ///   entry counts as absent); ``StoreError/Code/notSupported`` for a condition or a sliding
    ///   lifetime the base cannot support.
    public func write(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        try await forwarding(key) {
            if delegatesExpiryToBase {
                var options = options
                options.expiry = effectiveExpiry(options.expiry)
                return try await base.write(value, for: key, options: options)
            }
            return try await envelopeWrite(value, for: key, options: options)
        }
    }

    /// Stores the bytes of `chunks` under `key` with the write's expiry, or the default lifetime,
    /// streaming them where the base can.
    ///
    /// - Throws: As ``write(_:for:options:)``; in envelope mode also
    ///   ``StoreError/Code/conditionFailed`` when the entry changes while a conditional value
    ///   streams (its chunks cannot be replayed).
    public func write<Chunks: AsyncSequence & Sendable>(
        contentsOf chunks: Chunks, for key: StoreKey, options: WriteOptions
    ) async throws -> EntryMetadata where Chunks.Element == Data {
        try await forwarding(key) {
            if delegatesExpiryToBase {
                var options = options
                options.expiry = effectiveExpiry(options.expiry)
                return try await base.write(contentsOf: chunks, for: key, options: options)
            }
            return try await envelopeWrite(contentsOf: chunks, for: key, options: options)
        }
    }

    /// Deletes the value under `key` if `condition` holds; an expired entry counts as absent.
    ///
    /// - Returns: Whether a live value was deleted.
    /// - Throws: ``StoreError/Code/conditionFailed`` when an ETag condition does not hold.
    public func delete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool {
        try await forwarding(key) {
            delegatesExpiryToBase
                ? try await base.delete(key, condition: condition)
                : try await envelopeDelete(key, condition: condition)
        }
    }

    /// Lists one page of live entries; in envelope mode, reads each listed key's header (see the
    /// type's documentation) and fills the page from further base pages when entries expired.
    public func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
        try await forwarding(nil) {
            delegatesExpiryToBase
                ? try await base.listPage(query, after: cursor, limit: limit)
                : try await envelopeListPage(query, after: cursor, limit: limit)
        }
    }

    /// Lists the live entries `query` selects, about `pageSize` at a time.
    public func list(_ query: ListQuery, pageSize: Int) -> StoreListing {
        delegatesExpiryToBase ? base.list(query, pageSize: pageSize) : envelopeList(query, pageSize: pageSize)
    }

    /// The base's URL for `key` with delegation; `nil` in envelope mode, where stored bytes carry
    /// the envelope.
    public func url(for key: StoreKey, validFor lifetime: Duration) async throws -> URL? {
        guard delegatesExpiryToBase else { return nil }
        return try await forwarding(key) { try await base.url(for: key, validFor: lifetime) }
    }

    /// Deletes every expired entry and frees its space.
    ///
    /// With delegation, the base does it. In envelope mode, the base first reclaims what its
    /// native expiry covers (if it has any), then every key of the base is checked and each
    /// expired entry deleted with a conditional delete, so a value written meanwhile survives.
    ///
    /// - Returns: The number of expired entries deleted.
    /// - Throws: ``StoreError/Code/notSupported`` in envelope mode over a base with neither
    ///   conditional deletes nor native expiry.
    public func reclaimExpired() async throws -> Int {
        try await forwarding(nil) {
            delegatesExpiryToBase ? try await base.reclaimExpired() : try await envelopeReclaimExpired()
        }
    }

    // MARK: Support

    /// Runs `body`, reporting its errors in this layer's terms: this store's description, and
    /// `key` where the error names none.
    func forwarding<T>(_ key: StoreKey?, _ body: () async throws -> T) async throws -> T {
        try await StoreError.relabeling(store: description, key: key, body)
    }

    /// The expiry a write gets: its own, or the default lifetime for a write that gives none.
    func effectiveExpiry(_ expiry: Expiry) -> Expiry {
        guard expiry.isNever, let defaultLifetime else { return expiry }
        return .after(defaultLifetime)
    }
}
