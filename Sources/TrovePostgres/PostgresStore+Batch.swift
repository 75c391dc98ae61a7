public import Foundation
public import PostgresNIO
public import Trove

extension PostgresStore {
    /// Reads every key in one statement (`key = ANY($1)`), so in one snapshot and one round trip.
    ///
    /// - Returns: One element per key, in order; `nil` for a key without a live value.
    public func readBatch(_ keys: [StoreKey]) async throws -> [StoreEntry?] {
        guard !keys.isEmpty else { return [] }
        // Keys compare by their bytes (StoreKey), not as Swift strings, which equate "é" and "e\u{301}".
        let distinct = Set(keys).map(\.rawValue)
        let rows = try await rows(.read, nil, try Self.query(sql.readMany) { try $0.append(distinct) })
        var found: [StoreKey: StoreEntry] = [:]
        try decoding(.read, nil) {
            for row in rows {
                let cells = row.makeRandomAccess()
                let name = try cells[0].decode(String.self)
                guard let key = try? StoreKey(validating: name) else { continue }
                found[key] = StoreEntry(value: try cells[1].decode(Data.self), metadata: try Self.metadata(cells, from: 2, key: key))
            }
        }
        return keys.map { found[$0] }
    }

    /// Writes every entry in one transaction: all of them, or none when one fails
    /// (`StoreCapabilities.atomicBatches`). Unconditional writes of distinct keys go in one
    /// multi-row statement; otherwise each entry is a statement of the transaction, its condition
    /// judged after the entries before it.
    ///
    /// - Returns: One result per write; when an entry fails, its own error, and for every other
    ///   entry an error made by `StoreError.batchAborted(by:key:store:)`.
    /// - Throws: `StoreError` when the transaction cannot run or commit.
    public func writeBatch(_ writes: [BatchWrite]) async throws -> [Result<EntryMetadata, StoreError>] {
        guard !writes.isEmpty else { return [] }
        if let index = writes.firstIndex(where: { $0.value.count > options.maximumValueSize }) {
            return aborted(writes.map(\.key), by: BatchEntryFailure(index: index, error: tooLarge(Int64(writes[index].value.count), writes[index].key)))
        }
        if writes.allSatisfy(\.options.condition.isAlways), Set(writes.map(\.key)).count == writes.count {
            return try await writeInOneStatement(writes).map { .success($0) }
        }
        do {
            let written = try await inTransaction(.write) { connection in
                var written: [EntryMetadata] = []
                for (index, write) in writes.enumerated() {
                    written.append(try await self.failingAt(index) {
                        try await self.write(write.value, for: write.key, options: write.options, on: connection)
                    })
                }
                return written
            }
            return written.map { .success($0) }
        } catch let failure as BatchEntryFailure {
            return aborted(writes.map(\.key), by: failure)
        }
    }

    /// Deletes every key in one transaction, each condition judged after the entries before it:
    /// all of them, or none when one condition fails. Unconditional deletes are one statement.
    ///
    /// - Returns: One result per delete, as ``writeBatch(_:)`` gives them.
    public func deleteBatch(_ deletes: [BatchDelete]) async throws -> [Result<Void, StoreError>] {
        guard !deletes.isEmpty else { return [] }
        if deletes.allSatisfy({ $0.condition == .always }) {
            let keys = Set(deletes.map(\.key)).map(\.rawValue)
            _ = try await rows(.delete, nil, try Self.query(sql.discardMany) { try $0.append(keys) })
            return deletes.map { _ in .success(()) }
        }
        do {
            try await inTransaction(.delete) { connection in
                for (index, delete) in deletes.enumerated() {
                    _ = try await self.failingAt(index) {
                        try await self.delete(delete.key, condition: delete.condition, on: connection)
                    }
                }
            }
            return deletes.map { _ in .success(()) }
        } catch let failure as BatchEntryFailure {
            return aborted(deletes.map(\.key), by: failure).map { $0.map { _ in () } }
        }
    }

    /// Runs `body` in one transaction of this store: every read in it sees the writes before
    /// it, other clients see all of its writes or none, and a throw from `body` undoes them all.
    ///
    ///     let moved = try await store.transaction { transaction in
    ///         guard let entry = try await transaction.read("inbox/1") else { return false }
    ///         try await transaction.write(entry.value, for: "done/1")
    ///         return try await transaction.delete("inbox/1")
    ///     }
    ///
    /// The transaction holds one connection of the pool, and the row locks of what it writes,
    /// until `body` returns: keep it short. Every call in it sees the server's clock as it was
    /// when the transaction began (`now()`), so expiry is judged at one moment throughout. It
    /// runs at PostgreSQL's default isolation, read committed: a read sees what other clients had
    /// committed when the read began, and a conditional write waits for a row another transaction
    /// is writing, then checks its condition against the committed row. Do not keep the
    /// transaction beyond `body`.
    ///
    /// - Throws: `StoreError` when the transaction cannot begin or commit, or when an operation
    ///   of `body` fails and `body` throws that error on; any other error that `body` throws, as
    ///   it is. Either way nothing of the transaction is kept.
    public func transaction<T>(_ body: (PostgresTransaction) async throws -> T) async throws -> T {
        try await inTransaction(.write) { connection in
            try await body(PostgresTransaction(store: self, connection: connection))
        }
    }

    /// Runs `body` between `BEGIN` and `COMMIT` on one connection of the pool, rolling back
    /// when it throws.
    func inTransaction<T>(_ operation: StoreOperation, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        var outcome: Result<T, any Error>?
        do {
            // A connection that the server closed before the pool noticed is passed over, as in
            // rows(_:_:_:on:prepared:): nothing was sent on it.
            var unsent = 0
            while outcome == nil {
                outcome = try await client.withConnection { connection -> Result<T, any Error>? in
                    do {
                        _ = try await PostgresStatement.runSimple("BEGIN", on: connection, client: client, logger: logger)
                    } catch is ClosedBeforeSending where unsent < Self.closedConnectionsSkipped {
                        unsent += 1
                        return nil
                    }
                    do {
                        let value = try await body(connection)
                        _ = try await rows(operation, nil, "COMMIT", on: connection, prepared: false)
                        return .success(value)
                    } catch {
                        _ = try? await rows(operation, nil, "ROLLBACK", on: connection, prepared: false)
                        return .failure(error)
                    }
                }
            }
        } catch let error as StoreError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw storeError(error, operation, nil)
        }
        return try outcome!.get()
    }

    /// Writes unconditional entries of distinct keys with one `INSERT … SELECT FROM unnest(…)`.
    private func writeInOneStatement(_ writes: [BatchWrite]) async throws -> [EntryMetadata] {
        var absolutes: [Double] = [], lifetimes: [Double] = []
        for write in writes {
            let (absolute, microseconds) = Self.expiryParameters(write.options.expiry)
            absolutes.append(absolute?.timeIntervalSince1970 ?? .nan)
            lifetimes.append(microseconds ?? .nan)
        }
        let query = try Self.query(sql.writeMany) { bindings in
            try bindings.append(writes.map(\.key.rawValue))
            bindings.append(writes.map { ByteBuffer(bytes: $0.value) })
            bindings.append(writes.map { Int64($0.value.count) })
            try bindings.append(writes.map { _ in nextETag() })
            bindings.append(absolutes)
            bindings.append(lifetimes)
        }
        let rows = try await rows(.write, nil, query)
        var written: [StoreKey: EntryMetadata] = [:]
        try decoding(.write, nil) {
            for row in rows {
                let cells = row.makeRandomAccess()
                let key = try StoreKey(validating: try cells[0].decode(String.self))
                written[key] = try Self.metadata(cells, from: 1, key: key)
            }
        }
        return try writes.map { write in
            guard let metadata = written[write.key] else {
                throw StoreError(.io, operation: .write, key: write.key, store: description,
                                 message: "the server returned no row for a key of the batch")
            }
            return metadata
        }
    }

    /// Runs one entry of a batch, marking its ``StoreError`` with the entry's place so that the
    /// transaction rolls back and the batch can say which entry failed.
    private func failingAt<T>(_ index: Int, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as StoreError {
            throw BatchEntryFailure(index: index, error: error.inStore(description))
        }
    }

    private func aborted(_ keys: [StoreKey], by failure: BatchEntryFailure) -> [Result<EntryMetadata, StoreError>] {
        keys.enumerated().map { index, key in
            .failure(index == failure.index ? failure.error : StoreError.batchAborted(by: failure.error, key: key, store: description))
        }
    }
}

/// The entry of an atomic batch that failed, and why; the batch was rolled back.
struct BatchEntryFailure: Error {
    let index: Int
    let error: StoreError
}

/// The operations of a ``PostgresStore`` inside ``PostgresStore/transaction(_:)``: statements on
/// the transaction's connection, at the server's clock as it was when the transaction began.
public struct PostgresTransaction {
    private let store: PostgresStore
    private let connection: PostgresConnection

    init(store: PostgresStore, connection: PostgresConnection) {
        self.store = store
        self.connection = connection
    }

    /// The live entry under `key`, or `nil`.
    public func read(_ key: StoreKey) async throws -> StoreEntry? {
        try await store.read(key, on: connection)
    }

    /// The live metadata of `key`, or `nil`.
    public func metadata(for key: StoreKey) async throws -> EntryMetadata? {
        try await store.metadata(for: key, on: connection)
    }

    /// Stores `value` under `key` if `condition` holds.
    ///
    /// - Throws: `StoreError.Code.conditionFailed` when it does not; throwing it on from the
    ///   transaction's body undoes the transaction.
    @discardableResult
    public func write(
        _ value: Data, for key: StoreKey, condition: WriteCondition = .always, expiry: Expiry = .never
    ) async throws -> EntryMetadata {
        try await store.write(value, for: key, options: WriteOptions(condition: condition, expiry: expiry), on: connection)
    }

    /// Deletes `key` if `condition` holds; returns whether it held a live value.
    @discardableResult
    public func delete(_ key: StoreKey, condition: DeleteCondition = .always) async throws -> Bool {
        try await store.delete(key, condition: condition, on: connection)
    }
}
