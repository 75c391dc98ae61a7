public import Foundation

extension KeyValueStore {
    /// Deletes every key that starts with `prefix` (all of them for `""`), in batches of up to
    /// 1,000 through ``KeyValueStore/deleteBatch(_:)``: Python's `dict.clear()` for a namespace.
    ///
    /// Not one atomic step: a key written meanwhile may survive, and if a batch fails the keys
    /// before it stay deleted.
    ///
    /// - Returns: How many keys were listed and deleted.
    /// - Throws: ``StoreError/Code/invalidArgument`` for a bad prefix; the first failed
    ///   delete's ``StoreError``.
    @discardableResult
    public func removeAll(withPrefix prefix: String = "") async throws -> Int {
        let query = try ListQuery(prefix: prefix)
        var removed = 0
        var cursor: ListCursor?
        repeat {
            // Listing restarts from the cursor after each batch, so that deleting cannot
            // disturb a stateful walk of the same keys.
            let page = try await listPage(query, after: cursor, limit: 1000)
            let keys = page.elements.compactMap(\.key)
            if !keys.isEmpty {
                for result in try await deleteBatch(keys) { try result.get() }
                removed += keys.count
            }
            cursor = page.nextCursor
        } while cursor != nil
        return removed
    }

    /// Deletes the value under `key` and returns it, as one atomic step: Python's `dict.pop`.
    ///
    /// A compare-and-swap loop: reads the entry, then deletes it only if its ETag is still the
    /// one read, retrying when another writer came between.
    ///
    /// - Returns: The value that was deleted, or `nil` if the key held none.
    /// - Throws: ``StoreError/Code/notSupported`` without ``StoreCapabilities/conditionalDeletes``;
    ///   ``StoreError/Code/conditionFailed`` when other writers won `maxAttempts` times.
    public func removeValue(for key: StoreKey, maxAttempts: Int = 100, backoff: Backoff = .default) async throws -> Data? {
        guard capabilities.contains(.conditionalDeletes) else {
            throw StoreError(.notSupported, operation: .delete, key: key, store: description,
                             message: "removing a value atomically needs conditional deletes, which this store does not have")
        }
        var attempt = 0
        while true {
            try Task.checkCancellation()
            guard let entry = try await read(key) else { return nil }
            do {
                _ = try await delete(key, condition: .ifMatches(entry.metadata.etag))
                return entry.value
            } catch let error as StoreError where error.code == .conditionFailed {
                attempt += 1
                guard attempt < maxAttempts else { throw error }
                try await backoff.pause(afterConflict: attempt)
            }
        }
    }

    /// The value under `key`; if there is none, stores `defaultValue` there first, as one atomic
    /// step: Python's `dict.setdefault`.
    ///
    /// The write is conditional on absence, so when several callers race, one value wins and
    /// every caller gets that value back.
    ///
    ///     let sessionID = try await store.value(for: "sessions/current", default: Data(UUID().uuidString.utf8))
    ///
    /// - Parameters:
    ///   - key: The key to read.
    ///   - defaultValue: The value to store when the key holds none; evaluated only then.
    ///   - expiry: The expiry of an inserted value. Defaults to ``Expiry/never``.
    /// - Returns: The value now stored under `key`.
    /// - Throws: ``StoreError/Code/notSupported`` without ``StoreCapabilities/conditionalWrites``.
    public func value(
        for key: StoreKey, default defaultValue: @autoclosure () throws -> Data, expiry: Expiry = .never
    ) async throws -> Data {
        guard capabilities.contains(.conditionalWrites) else {
            throw StoreError(.notSupported, operation: .write, key: key, store: description,
                             message: "get-or-insert needs conditional writes, which this store does not have")
        }
        for _ in 0..<100 {
            if let existing = try await read(key) { return existing.value }
            let value = try defaultValue()
            do {
                _ = try await write(value, for: key, options: WriteOptions(condition: .ifAbsent, expiry: expiry))
                return value
            } catch let error as StoreError where error.code == .conditionFailed {
                continue  // another writer inserted first: read theirs
            }
        }
        throw StoreError(.conditionFailed, operation: .write, key: key, store: description,
                         message: "the key kept appearing and disappearing while a default was inserted")
    }

    /// Adds `delta` to the integer stored under `key` (0 when absent) and returns the sum, as
    /// one atomic step.
    ///
    /// The value is the integer in decimal ASCII (`"42"`), the form Redis's `INCRBY` keeps, so
    /// other programs can read it. A compare-and-swap loop keeps the entry's expiry.
    ///
    ///     let visits = try await store.increment("counters/visits")
    ///
    /// - Parameters:
    ///   - key: The counter's key.
    ///   - delta: What to add. Defaults to 1.
    /// - Returns: The new value.
    /// - Throws: ``StoreError/Code/decodingFailed`` when the stored value is not a decimal
    ///   integer; ``StoreError/Code/invalidArgument`` when the sum overflows `Int64`;
    ///   ``StoreError/Code/notSupported`` without ``StoreCapabilities/conditionalWrites``.
    @discardableResult
    public func increment(_ key: StoreKey, by delta: Int64 = 1) async throws -> Int64 {
        var result: Int64 = 0
        try await update(key) { current in
            var value: Int64 = 0
            if let current {
                guard let text = String(data: current, encoding: .utf8),
                      let parsed = Int64(text.trimmingCharacters(in: .whitespaces)) else {
                    throw StoreError(.decodingFailed, operation: .update, key: key, store: description,
                                     message: "the value is not a decimal integer (\(current.count) bytes), so it cannot be incremented")
                }
                value = parsed
            }
            let (sum, overflow) = value.addingReportingOverflow(delta)
            if overflow {
                throw StoreError(.invalidArgument, operation: .update, key: key, store: description,
                                 message: "adding \(delta) to \(value) overflows a 64-bit integer")
            }
            result = sum
            return .set(Data(String(sum).utf8))
        }
        return result
    }

    /// The values of the keys that start with `prefix`, in byte-wise key order, read in batches
    /// with ``readBatch(_:)``.
    ///
    /// - Parameters:
    ///   - prefix: The bytes keys must start with. Defaults to `""`, every key.
    ///   - batchSize: How many keys each batched read takes. Defaults to 100.
    public func values(withPrefix prefix: String = "", batchSize: Int = 100) throws -> some AsyncSequence<Data, any Error> {
        try entries(withPrefix: prefix, batchSize: batchSize).map(\.value)
    }

    /// The entries (value and metadata) of the keys that start with `prefix`, in byte-wise key
    /// order, read in batches with ``readBatch(_:)``.
    ///
    /// A key deleted between the listing and its batch is skipped.
    ///
    /// - Complexity: One listing, plus one batched read per `batchSize` keys.
    public func entries(withPrefix prefix: String = "", batchSize: Int = 100) throws -> StoreEntries {
        StoreEntries(store: self, listing: list(try ListQuery(prefix: prefix), pageSize: Swift.max(batchSize, 1000)),
                     batchSize: batchSize)
    }
}

/// The entries of a listing, read in batches as the iteration goes.
public struct StoreEntries: AsyncSequence, Sendable {
    public typealias Element = StoreEntry
    public typealias Failure = any Error

    private let store: any KeyValueStore
    private let listing: StoreListing
    private let batchSize: Int

    init(store: any KeyValueStore, listing: StoreListing, batchSize: Int) {
        self.store = store
        self.listing = listing
        self.batchSize = Swift.max(1, batchSize)
    }

    /// Iterates over the entries, a batch at a time.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let store: any KeyValueStore
        var keys: StoreListing.AsyncIterator
        let batchSize: Int
        var buffer: [StoreEntry] = []
        var index = 0
        var exhausted = false

        /// The next entry, reading the next batch when the current one is used up.
        public mutating func next() async throws -> StoreEntry? {
            while index == buffer.count {
                if exhausted { return nil }
                var batch: [StoreKey] = []
                while batch.count < batchSize {
                    guard let element = try await keys.next() else { exhausted = true; break }
                    if let key = element.key { batch.append(key) }
                }
                buffer = batch.isEmpty ? [] : try await store.readBatch(batch).compactMap { $0 }
                index = 0
            }
            defer { index += 1 }
            return buffer[index]
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(store: store, keys: listing.makeAsyncIterator(), batchSize: batchSize)
    }
}
