public import Foundation
public import Trove

extension SQLiteStore {
    /// Reads every key in one read transaction: one snapshot, one hop.
    ///
    /// - Returns: One element per key, in order; `nil` for a key without a live value.
    public func readBatch(_ keys: [StoreKey]) async throws -> [StoreEntry?] {
        guard !keys.isEmpty else { return [] }
        let now = clock.now
        return try await perform(.read, nil, writes: false, heavy: keys.count > 64) { [self] connection in
            try connection.readTransaction { try keys.map { try entry(connection, $0, now: now) } }
        }
    }

    /// Writes every entry in one transaction, each condition judged after the entries before
    /// it: all of them, or none when one fails (`StoreCapabilities.atomicBatches`).
    ///
    /// - Returns: One result per write; when an entry fails, its own error, and for every other
    ///   entry an error made by `StoreError.batchAborted(by:key:store:)`.
    /// - Throws: `StoreError` when the transaction cannot run or commit.
    public func writeBatch(_ writes: [BatchWrite]) async throws -> [Result<EntryMetadata, StoreError>] {
        guard !writes.isEmpty else { return [] }
        let now = clock.now
        let heavy = writes.count > 64 || writes.reduce(0, { $0 + $1.value.count }) > Self.inlineIOLimit
        do {
            let written = try await perform(.write, nil, writes: true, heavy: heavy) { [self] connection in
                try connection.writeTransaction {
                    try writes.enumerated().map { index, write in
                        try failingAt(index) { try self.write(connection, write.value, write.key, options: write.options, now: now) }
                    }
                }
            }
            return written.map { .success($0) }
        } catch let failure as BatchEntryFailure {
            return aborted(writes.map(\.key), by: failure)
        }
    }

    /// Deletes every key in one transaction, each condition judged after the entries before it:
    /// all of them, or none when one condition fails.
    ///
    /// - Returns: One result per delete, as ``writeBatch(_:)`` gives them.
    public func deleteBatch(_ deletes: [BatchDelete]) async throws -> [Result<Void, StoreError>] {
        guard !deletes.isEmpty else { return [] }
        let now = clock.now
        do {
            try await perform(.delete, nil, writes: true, heavy: deletes.count > 64) { [self] connection in
                try connection.writeTransaction {
                    for (index, delete) in deletes.enumerated() {
                        _ = try failingAt(index) { try deleteRow(connection, delete.key, condition: delete.condition, now: now) }
                    }
                }
            }
            return deletes.map { _ in .success(()) }
        } catch let failure as BatchEntryFailure {
            return aborted(deletes.map(\.key), by: failure).map { $0.map { _ in () } }
        }
    }

    /// Runs one entry of a batch, marking its ``StoreError`` with the entry's place so that the
    /// transaction rolls back and the batch can say which entry failed.
    private func failingAt<T>(_ index: Int, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as StoreError {
            throw CallerError(error: BatchEntryFailure(index: index, error: error.inStore(description)))
        }
    }

    private func aborted(_ keys: [StoreKey], by failure: BatchEntryFailure) -> [Result<EntryMetadata, StoreError>] {
        keys.enumerated().map { index, key in
            .failure(index == failure.index ? failure.error : StoreError.batchAborted(by: failure.error, key: key, store: description))
        }
    }

    /// Writes every value in one transaction: all of them, or none when one fails (a condition,
    /// say). A key written twice keeps its last value.
    ///
    ///     try await store.writeAll([("a", Data("1".utf8)), ("b", Data("2".utf8))])
    ///
    /// - Returns: The metadata of each write, in order.
    /// - Throws: The first write's `StoreError`; nothing is written then.
    @discardableResult
    public func writeAll(
        _ entries: [(key: StoreKey, value: Data)], options: WriteOptions = WriteOptions()
    ) async throws -> [EntryMetadata] {
        let now = clock.now
        let heavy = entries.count > 64 || entries.reduce(0, { $0 + $1.value.count }) > Self.inlineIOLimit
        return try await perform(.write, nil, writes: true, heavy: heavy) { [self] connection in
            try connection.writeTransaction {
                try entries.map { try write(connection, $0.value, $0.key, options: options, now: now) }
            }
        }
    }

    /// The live entries of `keys`, read in one snapshot; keys without a live value are left out.
    public func readAll(_ keys: [StoreKey]) async throws -> [StoreKey: StoreEntry] {
        let now = clock.now
        return try await perform(.read, nil, writes: false, heavy: keys.count > 64) { [self] connection in
            try connection.readTransaction {
                var found: [StoreKey: StoreEntry] = [:]
                for key in keys {
                    if let entry = try entry(connection, key, now: now) { found[key] = entry }
                }
                return found
            }
        }
    }

    /// Deletes every key in one transaction.
    ///
    /// - Returns: How many of them held a live value.
    @discardableResult
    public func deleteAll(_ keys: [StoreKey]) async throws -> Int {
        let now = clock.now
        return try await perform(.delete, nil, writes: true, heavy: keys.count > 64) { [self] connection in
            try connection.writeTransaction {
                try keys.reduce(0) { count, key in
                    count + (try deleteRow(connection, key, condition: .always, now: now) ? 1 : 0)
                }
            }
        }
    }

    /// Runs `body` in one write transaction of this store: every read in it sees the writes
    /// before it, other connections see all of its writes or none, and a throw from `body`
    /// undoes them all.
    ///
    ///     let moved = try await store.transaction { transaction in
    ///         guard let entry = try transaction.read("inbox/1") else { return false }
    ///         try transaction.write(entry.value, for: "done/1")
    ///         return try transaction.delete("inbox/1")
    ///     }
    ///
    /// `body` is synchronous and holds the database's write lock: keep it short. It may run on
    /// another thread than the caller's. Do not keep the transaction beyond `body`.
    ///
    /// - Throws: `StoreError` when the transaction cannot run or commit, or when an operation
    ///   of `body` fails and `body` throws that error on; any other error that `body` throws,
    ///   as it is.
    public func transaction<T: Sendable>(_ body: @escaping @Sendable (SQLiteTransaction) throws -> T) async throws -> T {
        let now = clock.now
        return try await perform(.write, nil, writes: true) { [self] connection in
            try connection.writeTransaction {
                do {
                    return try body(SQLiteTransaction(store: self, connection: connection, now: now))
                } catch let error as StoreError {
                    throw error
                } catch let failure as SQLiteFailure {
                    throw failure
                } catch {
                    throw CallerError(error: error)
                }
            }
        }
    }
}

/// The entry of an atomic batch that failed, and why; the batch was rolled back.
struct BatchEntryFailure: Error {
    let index: Int
    let error: StoreError
}

/// An error thrown by the caller's own code (the body of a transaction), which the store
/// throws on as it is rather than as a ``StoreError``.
struct CallerError: Error {
    let error: any Error
}

/// The operations of an ``SQLiteStore`` inside ``SQLiteStore/transaction(_:)``: synchronous,
/// on the transaction's connection, at the time the transaction began.
public struct SQLiteTransaction {
    private let store: SQLiteStore
    private let connection: SQLiteConnection
    private let now: Date

    init(store: SQLiteStore, connection: SQLiteConnection, now: Date) {
        self.store = store
        self.connection = connection
        self.now = now
    }

    /// The live entry under `key`, or `nil`.
    public func read(_ key: StoreKey) throws -> StoreEntry? {
        try store.entry(connection, key, now: now)
    }

    /// The live metadata of `key`, or `nil`.
    public func metadata(for key: StoreKey) throws -> EntryMetadata? {
        try store.metadataRow(connection, key, now: now)
    }

    /// Stores `value` under `key` if `condition` holds.
    ///
    /// - Throws: `StoreError.Code.conditionFailed` when it does not; throwing it on from the
    ///   transaction's body undoes the transaction.
    @discardableResult
    public func write(
        _ value: Data, for key: StoreKey, condition: WriteCondition = .always, expiry: Expiry = .never
    ) throws -> EntryMetadata {
        try store.write(connection, value, key, options: WriteOptions(condition: condition, expiry: expiry), now: now)
    }

    /// Deletes `key` if `condition` holds; returns whether it held a live value.
    @discardableResult
    public func delete(_ key: StoreKey, condition: DeleteCondition = .always) throws -> Bool {
        try store.deleteRow(connection, key, condition: condition, now: now)
    }
}
