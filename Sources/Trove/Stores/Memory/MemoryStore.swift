public import Foundation
import Synchronization

/// A store that keeps everything in this process's memory: the reference implementation of the
/// whole contract, expiry included.
///
/// Fast enough to be the cache tier of a layered store. Values vanish with the process.
///
///     let clock = ManualWallClock()
///     let store = MemoryStore(clock: clock.wallClock)
///
/// Capabilities: conditional writes and deletes, expiration, creation date (kept across
/// overwrites), retention, a new ETag on every write, atomic batches (one lock held for the
/// whole batch) and renewing an expiry within a read. Not persistent, not shared across
/// processes.
///
/// - Complexity: Reads and writes are O(1) on average. The first listing after `k` new keys
///   sorts only those and merges them into the sorted keys (O(n + k log k)), then pages by
///   binary search.
public final class MemoryStore: KeyValueStore {
    private struct Stored {
        var value: Data
        var etag: ETag
        var modificationDate: Date
        var creationDate: Date
        var expirationDate: Date?
    }

    private struct State: ~Copyable {
        var entries: [StoreKey: Stored] = [:]
        var order = SortedKeyIndex()
        var version: UInt64 = 0
    }

    private let state = Mutex(State())
    private let clock: WallClock
    private let name: String

    /// Creates an empty store.
    ///
    /// - Parameters:
    ///   - name: A name for messages, such as `"cache"`. Defaults to `"memory"`.
    ///   - clock: The clock that decides expiry. Defaults to ``WallClock/system``.
    public init(name: String = "memory", clock: WallClock = .system) {
        self.name = name
        self.clock = clock
    }

    /// `memory` followed by the store's name when it has one of its own.
    public var description: String { name == "memory" ? "memory" : "memory \(name)" }

    /// Conditional writes and deletes, expiration, creation date, retention, a new ETag on every
    /// write, atomic batches and renewing an expiry within a read.
    public var capabilities: StoreCapabilities {
        [.conditionalWrites, .conditionalDeletes, .expiration, .creationDate, .retention,
         .distinctETagPerWrite, .atomicBatches, .expiryRefreshOnRead, .modificationDate]
    }

    private static func metadata(_ key: StoreKey, _ stored: Stored) -> EntryMetadata {
        EntryMetadata(key: key, size: Int64(stored.value.count), etag: stored.etag,
                      modificationDate: stored.modificationDate, creationDate: stored.creationDate,
                      expirationDate: stored.expirationDate)
    }

    /// The live entry under `key`, removing it if it has expired.
    private static func live(_ key: StoreKey, in state: inout State, now: Date) -> Stored? {
        guard let stored = state.entries[key] else { return nil }
        if let expiry = stored.expirationDate, expiry <= now {
            state.entries[key] = nil
            state.order.removed()
            return nil
        }
        return stored
    }

    public func read(_ key: StoreKey) async throws -> StoreEntry? {
        let now = clock.now
        return state.withLock { state in
            Self.live(key, in: &state, now: now).map { StoreEntry(value: $0.value, metadata: Self.metadata(key, $0)) }
        }
    }

    public func metadata(for key: StoreKey) async throws -> EntryMetadata? {
        let now = clock.now
        return state.withLock { state in
            Self.live(key, in: &state, now: now).map { Self.metadata(key, $0) }
        }
    }

    public func write(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        let now = clock.now
        let expiration = options.expiry.expirationDate(writtenAt: now)
        let result: Result<EntryMetadata, StoreError> = state.withLock { state in
            let current = Self.live(key, in: &state, now: now)
            guard options.condition.isSatisfied(by: current.map { Self.metadata(key, $0) }) else {
                let holding = current.map { "holds version \($0.etag)" } ?? "holds no value"
                return .failure(StoreError(.conditionFailed, operation: .write, key: key, store: description,
                                           message: "condition \(options.condition) failed: the key \(holding)"))
            }
            state.version += 1
            let stored = Stored(value: value, etag: ETag("m\(String(state.version, radix: 36))"),
                                modificationDate: now, creationDate: current?.creationDate ?? now,
                                expirationDate: expiration)
            if current == nil, state.entries[key] == nil { state.order.inserted(key) }
            state.entries[key] = stored
            return .success(Self.metadata(key, stored))
        }
        return try result.get()
    }

    public func delete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool {
        let now = clock.now
        let result: Result<Bool, StoreError> = state.withLock { state in
            let current = Self.live(key, in: &state, now: now)
            guard condition.isSatisfied(by: current.map { Self.metadata(key, $0) }) else {
                return .failure(StoreError(.conditionFailed, operation: .delete, key: key, store: description,
                                           message: "condition \(condition) failed"))
            }
            guard current != nil else { return .success(false) }
            state.entries[key] = nil
            state.order.removed()
            return .success(true)
        }
        return try result.get()
    }

    public func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
        let now = clock.now
        return state.withLock { state in
            let entries = state.entries
            let keys = state.order.keys { entries[$0] != nil }
            return SortedListing.page(
                of: keys, query: query, after: cursor, limit: limit,
                metadata: { key in
                    guard let stored = state.entries[key] else { return nil }
                    if let expiry = stored.expirationDate, expiry <= now { return nil }
                    return Self.metadata(key, stored)
                })
        }
    }

    public func reclaimExpired() async throws -> Int {
        let now = clock.now
        return state.withLock { state in
            let expired = state.entries.filter { $0.value.expirationDate.map { $0 <= now } ?? false }.map(\.key)
            for key in expired { state.entries[key] = nil }
            if !expired.isEmpty { state.order.removed() }
            return expired.count
        }
    }

    /// The live entry under `key`, its expiry renewed first when `options` ask for it.
    private func liveEntry(_ key: StoreKey, options: ReadOptions) -> Stored? {
        let now = clock.now
        return state.withLock { state in
            guard var stored = Self.live(key, in: &state, now: now) else { return nil }
            if let renewal = options.refreshingExpiry {
                stored.expirationDate = renewal.expirationDate(writtenAt: now)
                state.entries[key] = stored
            }
            return stored
        }
    }

    public func read(_ key: StoreKey, options: ReadOptions) async throws -> ReadOutcome<StoreEntry>? {
        guard let stored = liveEntry(key, options: options) else { return nil }
        return options.outcome(of: StoreEntry(value: stored.value, metadata: Self.metadata(key, stored)))
    }

    public func readStream(_ key: StoreKey, chunkSize: Int, options: ReadOptions) async throws -> ReadOutcome<StreamedEntry>? {
        guard let outcome = try await read(key, options: options) else { return nil }
        return outcome.map { entry in
            StreamedEntry(metadata: entry.metadata, chunks: ValueChunks(chunksOf: entry.value, chunkSize: chunkSize))
        }
    }

    public func metadata(for key: StoreKey, options: ReadOptions) async throws -> EntryMetadata? {
        liveEntry(key, options: options).map { Self.metadata(key, $0) }
    }

    public func readBatch(_ keys: [StoreKey]) async throws -> [StoreEntry?] {
        let now = clock.now
        return state.withLock { state in
            keys.map { key in
                Self.live(key, in: &state, now: now).map { StoreEntry(value: $0.value, metadata: Self.metadata(key, $0)) }
            }
        }
    }

    /// Writes every entry under one lock: all of them, or none when one's condition fails.
    public func writeBatch(_ writes: [BatchWrite]) async throws -> [Result<EntryMetadata, StoreError>] {
        let now = clock.now
        let changes = writes.map { write in
            Change(key: write.key, condition: write.options.condition, expiry: write.options.expiry, value: write.value)
        }
        return applyAtomically(changes, now: now).map { $0.map { $0! } }
    }

    /// Deletes every key under one lock: all of them, or none when one's condition fails.
    public func deleteBatch(_ deletes: [BatchDelete]) async throws -> [Result<Void, StoreError>] {
        let now = clock.now
        let changes = deletes.map { delete in
            Change(key: delete.key, deleteCondition: delete.condition)
        }
        return applyAtomically(changes, now: now).map { $0.map { _ in () } }
    }

    /// One change of an atomic batch: a write (with a value) or a delete.
    private struct Change {
        var key: StoreKey
        var condition: WriteCondition = .always
        var deleteCondition: DeleteCondition = .always
        var expiry: Expiry = .never
        var value: Data?
    }

    /// Applies `changes` in order under one lock, each seeing the ones before it; commits them
    /// only if every condition holds.
    private func applyAtomically(_ changes: [Change], now: Date) -> [Result<EntryMetadata?, StoreError>] {
        state.withLock { state in
            var pending: [StoreKey: Stored?] = [:]
            var version = state.version
            var results: [Result<EntryMetadata?, StoreError>] = []
            for (index, change) in changes.enumerated() {
                let current = pending[change.key] ?? Self.live(change.key, in: &state, now: now)
                let currentMetadata = current.map { Self.metadata(change.key, $0) }
                if let value = change.value {
                    guard change.condition.isSatisfied(by: currentMetadata) else {
                        let holding = current.map { "holds version \($0.etag)" } ?? "holds no value"
                        return Self.aborted(changes, by: StoreError(
                            .conditionFailed, operation: .write, key: change.key, store: description,
                            message: "condition \(change.condition) failed: the key \(holding)"), at: index, store: description)
                    }
                    version += 1
                    let stored = Stored(value: value, etag: ETag("m\(String(version, radix: 36))"), modificationDate: now,
                                        creationDate: current?.creationDate ?? now,
                                        expirationDate: change.expiry.expirationDate(writtenAt: now))
                    pending[change.key] = .some(stored)
                    results.append(.success(Self.metadata(change.key, stored)))
                } else {
                    guard change.deleteCondition.isSatisfied(by: currentMetadata) else {
                        return Self.aborted(changes, by: StoreError(
                            .conditionFailed, operation: .delete, key: change.key, store: description,
                            message: "condition \(change.deleteCondition) failed"), at: index, store: description)
                    }
                    pending[change.key] = .some(nil)
                    results.append(.success(nil))
                }
            }
            for (key, stored) in pending {
                if state.entries[key] == nil, stored != nil { state.order.inserted(key) }
                if state.entries[key] != nil, stored == nil { state.order.removed() }
                state.entries[key] = stored
            }
            state.version = version
            return results
        }
    }

    private static func aborted(
        _ changes: [Change], by cause: StoreError, at failed: Int, store: String
    ) -> [Result<EntryMetadata?, StoreError>] {
        changes.enumerated().map { index, change in
            .failure(index == failed ? cause : StoreError.batchAborted(by: cause, key: change.key, store: store))
        }
    }

    /// Reclaims expired entries every `interval` until the calling task is cancelled.
    ///
    /// Run it in a task you own, for example in a task group beside your service:
    ///
    ///     group.addTask { try await store.runExpirySweeper(every: .seconds(60)) }
    public func runExpirySweeper(every interval: Duration) async throws {
        while true {
            try await Task.sleep(for: interval)
            _ = try await reclaimExpired()
        }
    }
}
