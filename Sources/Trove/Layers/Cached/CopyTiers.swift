import Foundation

/// The faster tiers of a caching layer (fastest first) and the steps that change a key through
/// them and the durable store below, with errors re-labelled in the layer's terms.
///
/// Writes and deletes go from the durable store up to the fastest tier: a tier is handed the
/// new value only after the durable store has committed it. Before a whole-value write each
/// tier's entry is replaced by a placeholder (never by the value), so that a failed durable
/// write leaves no tier with a copy of the value, and readers that race the write cannot
/// install a copy that the write has made stale (see ``CopyTier``).
struct CopyTiers: Sendable {
    /// The tiers, fastest first.
    let tiers: [CopyTier]
    /// The layer's description, for errors.
    let layer: String
    /// What errors call each tier, such as `faster tier 1 (memory)`.
    let tierNames: [String]

    /// Creates the tiers of a layer described as `layer`, naming each tier in errors as
    /// `tierName` returns.
    init(tiers: [any KeyValueStore], layer: String, tierName: (Int, any KeyValueStore) -> String) {
        self.tiers = tiers.map { CopyTier(store: $0) }
        self.layer = layer
        self.tierNames = tiers.enumerated().map { tierName($0.offset, $0.element) }
    }

    /// Runs `body` on the durable store, naming the caller's key and the layer in its errors.
    func onDurable<T>(_ key: StoreKey?, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch var error as StoreError {
            if key != nil { error.key = key }
            error.store = layer
            throw error
        }
    }

    /// Runs `body` on tier `index`, naming the caller's key, the layer and the tier in its errors;
    /// `committed` says that the durable store has already committed the change.
    func onTier<T>(_ index: Int, _ key: StoreKey?, committed: Bool = false, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch var error as StoreError {
            if key != nil { error.key = key }
            error.store = layer
            let tier = tierNames[index]
            error.message = committed
                ? "the durable store committed the change, but \(tier) could not be brought up to date: \(error.message)"
                : "\(tier): \(error.message)"
            throw error
        }
    }

    /// Writes `value` through `durableWrite`, then installs the copy in every tier, slowest first.
    ///
    /// - Throws: The durable store's error (after replacing every tier's entry with a
    ///   placeholder), or a tier's error, which says whether the durable store had committed.
    func write(_ value: Data, for key: StoreKey, durableWrite: () async throws -> EntryMetadata) async throws -> EntryMetadata {
        var conditions = [WriteCondition](repeating: .always, count: tiers.count)
        for index in tiers.indices.reversed() {
            conditions[index] = try await onTier(index, key) { try await tiers[index].invalidate(key) }
        }
        let metadata = try await invalidatingOnFailure(key, durableWrite)
        let entry = StoreEntry(value: value, metadata: metadata)
        for index in tiers.indices.reversed() {
            try await onTier(index, key, committed: true) {
                try await tiers[index].settle(key, with: entry, condition: conditions[index])
            }
        }
        return metadata
    }

    /// Changes the durable entry through `durableChange` (a streamed write, a delete), then
    /// replaces every tier's entry with a placeholder, slowest first.
    func change<T>(_ key: StoreKey, durableChange: () async throws -> T) async throws -> T {
        let result = try await invalidatingOnFailure(key, durableChange)
        for index in tiers.indices.reversed() {
            _ = try await onTier(index, key, committed: true) { try await tiers[index].invalidate(key) }
        }
        return result
    }

    /// Changes many durable entries through `durableChange` (a batch of writes or deletes), then
    /// replaces every tier's entry of each key with a placeholder, slowest first, whatever each
    /// entry's result: the next read of a key installs what the durable store holds.
    func changeBatch<T>(_ keys: [StoreKey], durableChange: () async throws -> T) async throws -> T {
        let result: T
        do {
            result = try await onDurable(nil, durableChange)
        } catch {
            for key in keys {
                for tier in tiers.reversed() { _ = try? await tier.invalidate(key) }
            }
            throw error
        }
        for key in keys {
            for index in tiers.indices.reversed() {
                _ = try await onTier(index, key, committed: true) { try await tiers[index].invalidate(key) }
            }
        }
        return result
    }

    /// A read under `options` through the layer's own `read`: the range and the ETag
    /// comparison applied to what it returns; renewing an expiry refused (see
    /// ``refreshRefused(_:_:)``).
    func read(
        _ key: StoreKey, options: ReadOptions, through read: (StoreKey) async throws -> StoreEntry?
    ) async throws -> ReadOutcome<StoreEntry>? {
        if options.refreshingExpiry != nil { throw refreshRefused(key, .read) }
        return try await read(key).map(options.outcome(of:))
    }

    /// A stream under `options` through the layer's own `readStream`, as ``read(_:options:through:)``.
    func readStream(
        _ key: StoreKey, options: ReadOptions, through open: (StoreKey) async throws -> StreamedEntry?
    ) async throws -> ReadOutcome<StreamedEntry>? {
        if options.refreshingExpiry != nil { throw refreshRefused(key, .read) }
        guard let entry = try await open(key) else { return nil }
        return await options.outcome(of: entry)
    }

    /// Metadata under `options` through the layer's own `metadata(for:)`.
    func metadata(
        for key: StoreKey, options: ReadOptions, through look: (StoreKey) async throws -> EntryMetadata?
    ) async throws -> EntryMetadata? {
        if options.refreshingExpiry != nil { throw refreshRefused(key, .metadata) }
        return try await look(key)
    }

    /// The error for a read that would renew an expiry: the copies in the tiers would keep the
    /// old one, so a caching layer does not offer it.
    func refreshRefused(_ key: StoreKey, _ operation: StoreOperation) -> StoreError {
        StoreError(.notSupported, operation: operation, key: key, store: layer,
                   message: "renewing an expiry within a read is not supported through a cache: the cached copies would keep the old expiry")
    }

    /// Runs `body` on the durable store; if it fails (a failed condition, or an error after which
    /// the write may or may not have landed), replaces every tier's entry with a placeholder so
    /// that no tier keeps a copy the durable store no longer holds, then rethrows.
    private func invalidatingOnFailure<T>(_ key: StoreKey, _ body: () async throws -> T) async throws -> T {
        do {
            return try await onDurable(key, body)
        } catch {
            for tier in tiers.reversed() {
                // Best effort: the error being reported is the durable store's.
                _ = try? await tier.invalidate(key)
            }
            throw error
        }
    }

    /// Reclaims the expired copies and placeholders of every tier; their counts are not the
    /// layer's, whose entries are the durable store's.
    func reclaimExpired() async throws {
        for index in tiers.indices {
            _ = try await onTier(index, nil) { try await tiers[index].store.reclaimExpired() }
        }
    }

    /// `chunks` with the errors they throw re-labelled in the layer's terms.
    func labeling(_ chunks: ValueChunks, key: StoreKey, tier: Int?) -> ValueChunks {
        let labels = self
        return ValueChunks {
            var iterator = chunks.makeAsyncIterator()
            return ValueChunks.ChunkSource {
                if let tier {
                    return try await labels.onTier(tier, key) { try await iterator.next() }
                }
                return try await labels.onDurable(key) { try await iterator.next() }
            }
        }
    }

    /// The durable store's listing with its errors re-labelled in the layer's terms.
    func labeling(_ listing: StoreListing) -> StoreListing {
        let labels = self
        return StoreListing {
            var iterator = listing.makeAsyncIterator()
            return StoreListing.BatchSource {
                try await labels.onDurable(nil) { try await iterator.next().map { [$0] } }
            }
        }
    }
}
