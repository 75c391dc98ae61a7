import Foundation

/// A faster tier of a ``TieredStore`` or the cache of a ``CachedStore``: a store that keeps
/// copies of a durable store's entries in ``CacheEnvelope``s, and the protocol that keeps those
/// copies from going stale.
///
/// The protocol, for a tier with conditional writes:
/// - A reader that misses *reserves* the key before asking the tier below: it keeps the tier's
///   ETag of the placeholder (or unusable entry) it saw, or writes a placeholder `ifAbsent` and
///   keeps that one's ETag. After reading the value below, it *fills* the tier with
///   `ifMatches(reserved ETag)`.
/// - A writer replaces the tier's entry with a fresh placeholder before the durable write, and
///   afterwards *settles* it: it fills it with the new copy `ifMatches(its placeholder's ETag)`,
///   and writes a fresh placeholder unconditionally when that fails. Deletes, streamed writes
///   and failed writes write a fresh placeholder after the durable operation.
///
/// Every change to the durable entry is followed by a change of the tier's entry, so a reader
/// whose value predates that change finds the ETag it reserved gone and fills nothing; a tier
/// that evicts or expires an entry only makes fills fail. Stores never reuse an ETag for a key,
/// so a copy can be installed only over the entry its installer saw. A tier without conditional
/// writes is written unconditionally, so concurrent writers of one key may leave a stale copy
/// in it.
///
/// A key the tier cannot hold (it refuses it with ``StoreError/Code/invalidKey``, as a
/// namespace with less room than 1,024 bytes does for the longest keys) is never cached there:
/// the tier reads as holding nothing for it and is left alone.
struct CopyTier: Sendable {
    /// The store holding the copies.
    let store: any KeyValueStore
    /// `store`, when it is a ``BoundedMemoryStore``: one that can be read without suspending.
    private let memory: BoundedMemoryStore?

    /// A tier keeping its copies in `store`.
    init(store: any KeyValueStore) {
        self.store = store
        self.memory = store as? BoundedMemoryStore
    }

    /// How long a placeholder lives in a tier that keeps expiry, so that placeholders of keys
    /// that are never read again do not pile up.
    static let placeholderLifetime: Duration = .seconds(600)

    private var isConditional: Bool { store.capabilities.contains(.conditionalWrites) }
    private var canExpire: Bool { store.capabilities.contains(.expiration) }

    /// What the tier holds for a key.
    enum Slot: Sendable {
        /// Nothing.
        case absent
        /// A placeholder, or bytes that are not an envelope, with the tier's ETag for them.
        case placeholder(ETag)
        /// A copy of a durable entry (metadata as the durable tier reported it), with the tier's
        /// own ETag for it.
        case copy(StoreEntry, ETag)

        /// The tier's ETag of what it holds.
        var tierETag: ETag? {
            switch self {
            case .absent: return nil
            case .placeholder(let etag), .copy(_, let etag): return etag
            }
        }
    }

    /// What the tier holds for `key` when it can tell without suspending (a
    /// ``BoundedMemoryStore`` tier, which cannot fail either); `nil` when ``look(_:)`` must ask.
    func lookImmediately(_ key: StoreKey) -> Slot? {
        memory?.lookCopy(key)
    }

    /// Reads what the tier holds for `key`.
    func look(_ key: StoreKey) async throws -> Slot {
        if let slot = lookImmediately(key) { return slot }
        guard let entry = try await holding(else: nil, { try await store.read(key) }) else { return .absent }
        switch CacheEnvelope.decode(entry.value, key: key) {
        case .copy(let copy): return .copy(copy, entry.metadata.etag)
        case .placeholder, .malformed: return .placeholder(entry.metadata.etag)
        }
    }

    /// The durable metadata of the copy the tier holds for `key`, read from the envelope's
    /// header without reading the value where the tier streams; `nil` when it holds no copy.
    func lookMetadata(_ key: StoreKey) async throws -> EntryMetadata? {
        guard let stream = try await holding(else: nil, { try await store.readStream(key, chunkSize: 1024) }) else {
            return nil
        }
        var bytes = Data()
        for try await chunk in stream.chunks {
            bytes.append(chunk)
            switch CacheEnvelope.header(of: bytes, key: key) {
            case .needsBytes: continue
            case .copy(let metadata, _): return metadata
            case .placeholder, .malformed: return nil
            }
        }
        return nil
    }

    /// The copy the tier holds for `key`, opened for reading in chunks of about `chunkSize`
    /// bytes, with the tier's ETag for it; `nil` when it holds no copy (or the copy changed while
    /// it was being opened).
    ///
    /// The header is read through one stream and the value through a second, checked to be the
    /// same version of the tier's entry, so a tier that streams never holds the value whole.
    func lookStream(_ key: StoreKey, chunkSize: Int) async throws -> (entry: StreamedEntry, tierETag: ETag)? {
        guard let probe = try await holding(else: nil, { try await store.readStream(key, chunkSize: 1024) }) else {
            return nil
        }
        var bytes = Data()
        var parsed: (EntryMetadata, Int)?
        scan: for try await chunk in probe.chunks {
            bytes.append(chunk)
            switch CacheEnvelope.header(of: bytes, key: key) {
            case .needsBytes: continue
            case .copy(let metadata, let offset): parsed = (metadata, offset); break scan
            case .placeholder, .malformed: return nil
            }
        }
        guard let (metadata, headerLength) = parsed,
              let stream = try await store.readStream(key, chunkSize: chunkSize),
              stream.metadata.etag == probe.metadata.etag,
              stream.metadata.size == Int64(headerLength) + metadata.size else { return nil }
        let inner = stream.chunks
        let tier = store.description
        let chunks = ValueChunks {
            var iterator = inner.makeAsyncIterator()
            var skip = headerLength
            var produced: Int64 = 0
            return ValueChunks.ChunkSource {
                while let chunk = try await iterator.next() {
                    if skip >= chunk.count {
                        skip -= chunk.count
                        continue
                    }
                    let value = skip == 0 ? chunk : Data(chunk.dropFirst(skip))
                    skip = 0
                    produced += Int64(value.count)
                    return value
                }
                guard produced == metadata.size else {
                    throw StoreError(.integrity, operation: .read, key: key, store: tier,
                                     message: "the cached copy ended after \(produced) of its \(metadata.size) bytes")
                }
                return nil
            }
        }
        return (StreamedEntry(metadata: metadata, chunks: chunks), stream.metadata.etag)
    }

    /// The condition under which a copy read from below may later be installed over what the
    /// reader saw (`seen`), writing a placeholder first when the tier held nothing; `nil` when
    /// another task wrote the key meanwhile and the copy must not be installed.
    func reserve(_ key: StoreKey, seen: Slot) async throws -> WriteCondition? {
        guard isConditional else { return .always }
        if let etag = seen.tierETag { return .ifMatches(etag) }
        do {
            let placeholder = try await holding(else: nil) {
                try await store.write(CacheEnvelope.placeholder, for: key, options: placeholderOptions(.ifAbsent))
            }
            return placeholder.map { .ifMatches($0.etag) }
        } catch let error as StoreError where error.code == .conditionFailed {
            return nil
        }
    }

    /// Installs a copy of `entry` under `condition` (from ``reserve(_:seen:)`` or
    /// ``invalidate(_:)``).
    ///
    /// - Returns: Whether the copy was installed: `false` when the condition failed, the entry
    ///   is too large for the tier, or it expires and the tier keeps no expiry.
    func fill(_ key: StoreKey, with entry: StoreEntry, condition: WriteCondition) async throws -> Bool {
        var expiry = Expiry.never
        if let expires = entry.metadata.expirationDate {
            guard canExpire else { return false }
            expiry = .at(expires)
        }
        guard let envelope = CacheEnvelope.encode(entry.value, metadata: entry.metadata) else { return false }
        do {
            return try await holding(else: false) {
                _ = try await store.write(envelope, for: key, options: WriteOptions(condition: condition, expiry: expiry))
                return true
            }
        } catch let error as StoreError where error.code == .conditionFailed || error.code == .valueTooLarge {
            return false
        }
    }

    /// Replaces whatever the tier holds for `key` with a fresh placeholder.
    ///
    /// - Returns: The condition under which a copy may replace that placeholder.
    @discardableResult
    func invalidate(_ key: StoreKey) async throws -> WriteCondition {
        guard isConditional else {
            _ = try await holding(else: false) { try await store.delete(key, condition: .always) }
            return .always
        }
        let placeholder = try await holding(else: nil) {
            try await store.write(CacheEnvelope.placeholder, for: key, options: placeholderOptions(.always))
        }
        return placeholder.map { .ifMatches($0.etag) } ?? .always
    }

    /// After a durable write: installs `entry` under `condition` (from ``invalidate(_:)``),
    /// or, when there is no entry to install or it cannot be installed, replaces whatever the
    /// tier holds with a fresh placeholder.
    func settle(_ key: StoreKey, with entry: StoreEntry?, condition: WriteCondition) async throws {
        if let entry, try await fill(key, with: entry, condition: condition) { return }
        try await invalidate(key)
    }

    /// Removes the copy the tier holds for `key` if it is still the one with tier ETag `etag`.
    func drop(_ key: StoreKey, ifStill etag: ETag) async throws {
        do {
            if store.capabilities.contains(.conditionalDeletes) {
                _ = try await store.delete(key, condition: .ifMatches(etag))
            } else if isConditional {
                _ = try await store.write(CacheEnvelope.placeholder, for: key,
                                          options: placeholderOptions(.ifMatches(etag)))
            } else {
                _ = try await store.delete(key, condition: .always)
            }
        } catch let error as StoreError where error.code == .conditionFailed {
            // Another task replaced the copy meanwhile; what it wrote is newer.
        }
    }

    /// Runs `body` on the tier, or returns `fallback` when the tier cannot hold the key.
    private func holding<T>(else fallback: T, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as StoreError where error.code == .invalidKey {
            return fallback
        }
    }

    private func placeholderOptions(_ condition: WriteCondition) -> WriteOptions {
        WriteOptions(condition: condition, expiry: canExpire ? .after(Self.placeholderLifetime) : .never)
    }
}
