public import Foundation

/// A namespace inside a shared store: every key is stored under `prefix/`, and listing shows
/// only this namespace's keys, without the prefix.
///
///     let users = store.prefixed("users")          // or PrefixedStore(base: store, prefix: "users")
///     try await users.set(data, for: "alice")       // stored as users/alice
///
/// Conditions, expiry, streaming and metadata pass through unchanged, so the capabilities are the
/// base store's. Metadata and listings report keys without the prefix.
public struct PrefixedStore<Base: KeyValueStore>: KeyValueStore {
    /// The store beneath.
    public let base: Base
    /// The namespace; keys are stored as `prefix/key`.
    public let prefix: StoreKey

    private let keyPrefix: String

    /// Creates a namespace `prefix` inside `base`.
    public init(base: Base, prefix: StoreKey) {
        self.base = base
        self.prefix = prefix
        self.keyPrefix = prefix.rawValue + "/"
    }

    /// The base store's description followed by the prefix.
    public var description: String { "\(base.description) prefix \(keyPrefix)" }

    /// The base store's capabilities.
    public var capabilities: StoreCapabilities { base.capabilities }

    private func inner(_ key: StoreKey) throws -> StoreKey {
        // Two valid keys joined by `/` form a valid key whenever the result is short enough.
        if keyPrefix.utf8.count + key.byteCount <= StoreKey.maximumByteCount {
            return StoreKey(unchecked: keyPrefix + key.rawValue)
        }
        do {
            return try prefix.appending(key)
        } catch {
            var relabeled = error.inStore(description, key: key)
            relabeled.message = "'\(key.escapedDescription)' is too long for namespace '\(keyPrefix)': "
                + "with the prefix it exceeds \(StoreKey.maximumByteCount) UTF-8 bytes"
            throw relabeled
        }
    }

    private func outer(_ key: StoreKey) -> StoreKey {
        StoreKey(unchecked: String(key.rawValue.utf8.dropFirst(keyPrefix.utf8.count))!)
    }

    private func outer(_ metadata: EntryMetadata) -> EntryMetadata {
        var copy = metadata
        copy.key = outer(metadata.key)
        return copy
    }

    /// `error` from the base store in this namespace's terms: the key without the prefix, and
    /// this store's description.
    private func relabeled(_ error: any Error, _ key: StoreKey?) -> any Error {
        guard var error = error as? StoreError else { return error }
        if let inner = error.key, inner.hasPrefix(keyPrefix) { error.key = outer(inner) }
        return error.relabeled(store: description, key: key)
    }

    /// Runs `body` on the base store, reporting its errors in this namespace's terms (see
    /// ``relabeled(_:_:)``). The most frequent calls catch in place instead, which saves a
    /// closure per call.
    private func forwarding<T>(_ key: StoreKey?, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw relabeled(error, key)
        }
    }

    public func read(_ key: StoreKey) async throws -> StoreEntry? {
        do {
            guard var entry = try await base.read(try inner(key)) else { return nil }
            entry.metadata.key = key
            return entry
        } catch {
            throw relabeled(error, key)
        }
    }

    public func readStream(_ key: StoreKey, chunkSize: Int) async throws -> StreamedEntry? {
        try await forwarding(key) {
            guard let entry = try await base.readStream(try inner(key), chunkSize: chunkSize) else { return nil }
            var metadata = entry.metadata
            metadata.key = key
            return StreamedEntry(metadata: metadata, chunks: entry.chunks)
        }
    }

    public func metadata(for key: StoreKey) async throws -> EntryMetadata? {
        do {
            guard var metadata = try await base.metadata(for: try inner(key)) else { return nil }
            metadata.key = key
            return metadata
        } catch {
            throw relabeled(error, key)
        }
    }

    public func write(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        do {
            var metadata = try await base.write(value, for: try inner(key), options: options)
            metadata.key = key
            return metadata
        } catch {
            throw relabeled(error, key)
        }
    }

    public func write<Chunks: AsyncSequence & Sendable>(
        contentsOf chunks: Chunks, for key: StoreKey, options: WriteOptions
    ) async throws -> EntryMetadata where Chunks.Element == Data {
        try await forwarding(key) {
            var metadata = try await base.write(contentsOf: chunks, for: try inner(key), options: options)
            metadata.key = key
            return metadata
        }
    }

    public func delete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool {
        do {
            return try await base.delete(try inner(key), condition: condition)
        } catch {
            throw relabeled(error, key)
        }
    }

    public func read(_ key: StoreKey, options: ReadOptions) async throws -> ReadOutcome<StoreEntry>? {
        try await forwarding(key) {
            try await base.read(try inner(key), options: options)?.mapMetadata { relabeled($0, key) }
        }
    }

    public func readStream(_ key: StoreKey, chunkSize: Int, options: ReadOptions) async throws -> ReadOutcome<StreamedEntry>? {
        try await forwarding(key) {
            try await base.readStream(try inner(key), chunkSize: chunkSize, options: options)?.mapMetadata { relabeled($0, key) }
        }
    }

    public func metadata(for key: StoreKey, options: ReadOptions) async throws -> EntryMetadata? {
        try await forwarding(key) {
            try await base.metadata(for: try inner(key), options: options).map { relabeled($0, key) }
        }
    }

    public func discard(_ key: StoreKey) async throws {
        try await forwarding(key) { try await base.discard(try inner(key)) }
    }

    /// The base store's count of `prefix/` followed by `prefix`.
    public func count(withPrefix prefix: String) async throws -> Int {
        let query = try ListQuery(prefix: prefix)
        let innerPrefix = keyPrefix + query.prefix
        guard innerPrefix.utf8.count <= StoreKey.maximumByteCount else { return 0 }
        return try await forwarding(nil) { try await base.count(withPrefix: innerPrefix) }
    }

    public func readBatch(_ keys: [StoreKey]) async throws -> [StoreEntry?] {
        try await forwarding(nil) {
            let entries = try await base.readBatch(try keys.map(inner))
            return zip(keys, entries).map { key, entry in
                entry.map { StoreEntry(value: $0.value, metadata: relabeled($0.metadata, key)) }
            }
        }
    }

    public func writeBatch(_ writes: [BatchWrite]) async throws -> [Result<EntryMetadata, StoreError>] {
        try await forwarding(nil) {
            let inners = try writes.map { BatchWrite(try inner($0.key), $0.value, options: $0.options) }
            return zip(writes, try await base.writeBatch(inners)).map { write, result in
                result.map { relabeled($0, write.key) }.mapError { relabeledStoreError($0, write.key) }
            }
        }
    }

    public func deleteBatch(_ deletes: [BatchDelete]) async throws -> [Result<Void, StoreError>] {
        try await forwarding(nil) {
            let inners = try deletes.map { BatchDelete(try inner($0.key), condition: $0.condition) }
            return zip(deletes, try await base.deleteBatch(inners)).map { delete, result in
                result.mapError { relabeledStoreError($0, delete.key) }
            }
        }
    }

    private func relabeled(_ metadata: EntryMetadata, _ key: StoreKey) -> EntryMetadata {
        var copy = metadata
        copy.key = key
        return copy
    }

    private func relabeledStoreError(_ error: StoreError, _ key: StoreKey) -> StoreError {
        var error = error
        error.key = key
        return error.relabeled(store: description, key: key)
    }

    public func url(for key: StoreKey, validFor lifetime: Duration) async throws -> URL? {
        try await forwarding(key) { try await base.url(for: try inner(key), validFor: lifetime) }
    }

    public func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
        let innerPrefix = keyPrefix + query.prefix
        guard innerPrefix.utf8.count <= StoreKey.maximumByteCount else {
            return ListPage(elements: [], nextCursor: nil)
        }
        return try await forwarding(nil) {
            let page = try await base.listPage(query.replacingPrefix(innerPrefix), after: cursor, limit: limit)
            return ListPage(elements: page.elements.map(outer), nextCursor: page.nextCursor)
        }
    }

    public func list(_ query: ListQuery, pageSize: Int) -> StoreListing {
        let innerPrefix = keyPrefix + query.prefix
        guard innerPrefix.utf8.count <= StoreKey.maximumByteCount else {
            return StoreListing { StoreListing.BatchSource { nil } }
        }
        return base.list(query.replacingPrefix(innerPrefix), pageSize: pageSize).mapElements { [self] element in
            outer(element)
        }
    }

    private func outer(_ element: ListElement) -> ListElement {
        switch element {
        case .entry(let key, let metadata):
            return .entry(outer(key), metadata.map(outer))
        case .commonPrefix(let name):
            return .commonPrefix(String(name.utf8.dropFirst(keyPrefix.utf8.count))!)
        }
    }

    /// Reclaims expired entries of the whole base store (expiry is a property of the medium, not
    /// of a namespace).
    public func reclaimExpired() async throws -> Int {
        try await forwarding(nil) { try await base.reclaimExpired() }
    }
}
