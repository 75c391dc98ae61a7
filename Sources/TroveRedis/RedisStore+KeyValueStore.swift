public import Foundation
public import Trove
import NIOCore
import TroveRedisClient

extension RedisStore {
    // MARK: Reads

    public func read(_ key: StoreKey) async throws -> StoreEntry? {
        if layout.isPlain { return try await plainRead(key, refresh: nil, withValue: true, renews: true) }
        if expiration.isSliding {
            return try await whole(key) {
                try await mapping(.read, key) {
                    try fetched(from: try await client.run(RedisStoreScripts.read, keys: scriptKeys(key), arguments: [key.rawValue, "s", "0", "1"]), key)
                }
            }
        }
        return try await whole(key) { try await mapping(.read, key) { try hashEntry(from: try await client.send(readCommand(key)), key) } }
    }

    public func read(_ key: StoreKey, options: ReadOptions) async throws -> ReadOutcome<StoreEntry>? {
        guard let refresh = options.refreshingExpiry else {
            guard let entry = try await read(key) else { return nil }
            return options.outcome(of: entry)
        }
        if layout.isPlain {
            guard let entry = try await plainRead(key, refresh: refresh, withValue: true, renews: true) else { return nil }
            return options.outcome(of: entry)
        }
        let mode = refreshArguments(refresh)
        let entry = try await whole(key) {
            try await mapping(.read, key) {
                try fetched(from: try await client.run(RedisStoreScripts.read, keys: scriptKeys(key), arguments: [key.rawValue, mode.0, mode.1, "1"]), key)
            }
        }
        guard let entry else { return nil }
        return options.outcome(of: entry)
    }

    public func metadata(for key: StoreKey) async throws -> EntryMetadata? {
        try await metadata(for: key, options: .none)
    }

    public func metadata(for key: StoreKey, options: ReadOptions) async throws -> EntryMetadata? {
        if layout.isPlain {
            return try await plainRead(key, refresh: options.refreshingExpiry, withValue: false, renews: options.refreshingExpiry != nil)?.metadata
        }
        let mode = options.refreshingExpiry.map(refreshArguments) ?? ("", "0")
        let reply = try await mapping(.metadata, key) {
            try await client.run(RedisStoreScripts.read, keys: scriptKeys(key), arguments: [key.rawValue, mode.0, mode.1, "0"])
        }
        guard reply.isNull == false else { return nil }
        guard let fields = reply.array, fields.count == 8, let size = fields[0].int64 else { throw unexpected(reply, .metadata, key) }
        return try metadata(key, size: size, etag: fields[1], modified: fields[2], created: fields[3], expiry: fields[4])
    }

    public func readBatch(_ keys: [StoreKey]) async throws -> [StoreEntry?] {
        guard !keys.isEmpty else { return [] }
        if layout.isPlain { return try await plainReadBatch(keys) }
        var found: [Fetched?]
        if expiration.isSliding {
            let replies = try await mapping(.read, nil) {
                try await runScripts(RedisStoreScripts.read, keys.map { (scriptKeys($0), [$0.rawValue, "s", "0", "1"]) })
            }
            found = try zip(keys, replies).map { key, reply in try fetched(from: try serverReply(reply, .read, key), key) }
        } else {
            let replies = try await mapping(.read, nil) { try await client.pipeline(keys.map(readCommand)) }
            found = try zip(keys, replies).map { key, reply in try hashEntry(from: try serverReply(reply, .read, key), key) }
        }
        var entries: [StoreEntry?] = []
        entries.reserveCapacity(keys.count)
        for (key, item) in zip(keys, found) {
            switch item {
            case nil: entries.append(nil)
            case .entry(let entry)?: entries.append(entry)
            case .chunked(let metadata, let chunks)?:
                // A value in chunks: its chunks next; if they went meanwhile, the entry again.
                if let value = try await readChunks(chunks, of: key) {
                    entries.append(StoreEntry(value: value, metadata: metadata))
                } else {
                    entries.append(try await read(key))
                }
            }
        }
        return entries
    }

    /// Opens `key` for reading in chunks. A value within ``chunkByteCount`` comes in one reply;
    /// a longer one is read a chunk (1 MiB) at a time as the stream is read, each of the version
    /// the stream opened (its chunks are never rewritten). A value replaced or deleted more than
    /// ``chunkGraceMilliseconds`` before its stream reaches the end fails the stream with
    /// `StoreError.Code.conditionFailed`: read it again. With ``Layout/plain`` the value is read
    /// whole.
    public func readStream(_ key: StoreKey, chunkSize: Int) async throws -> StreamedEntry? {
        if layout.isPlain {
            guard let entry = try await read(key) else { return nil }
            return StreamedEntry(metadata: entry.metadata, chunks: ValueChunks(chunksOf: entry.value, chunkSize: chunkSize))
        }
        let found: Fetched?
        if expiration.isSliding {
            found = try await mapping(.read, key) {
                try fetched(from: try await client.run(RedisStoreScripts.read, keys: scriptKeys(key), arguments: [key.rawValue, "s", "0", "1"]), key)
            }
        } else {
            found = try await mapping(.read, key) { try hashEntry(from: try await client.send(readCommand(key)), key) }
        }
        switch found {
        case nil: return nil
        case .entry(let entry)?:
            return StreamedEntry(metadata: entry.metadata, chunks: ValueChunks(chunksOf: entry.value, chunkSize: chunkSize))
        case .chunked(let metadata, let chunks)?:
            return StreamedEntry(metadata: metadata, chunks: streamChunks(chunks, of: key, chunkSize: chunkSize))
        }
    }

    private func readCommand(_ key: StoreKey) -> RedisCommand {
        RedisCommand("HMGET", serverKey(key), "v", "e", "m", "c", "x", "g", "n", "s")
    }

    private func refreshArguments(_ expiry: Expiry) -> (String, String) {
        if expiry.isNever { return ("p", "0") }
        let server = serverExpiry(for: expiry)
        return (server.kind, String(server.milliseconds))
    }

    /// What a read found in an entry's hash: the entry, or its metadata and where the chunks of
    /// its value are.
    enum Fetched {
        case entry(StoreEntry)
        case chunked(EntryMetadata, ChunkedValue)
    }

    /// The entry that `fetch` finds, its chunks read when its value is in chunks; when they are
    /// gone (the value was replaced or deleted meanwhile, longer ago than the chunks' grace),
    /// `fetch` once more.
    private func whole(_ key: StoreKey, _ fetch: () async throws -> Fetched?) async throws -> StoreEntry? {
        for _ in 0..<2 {
            switch try await fetch() {
            case nil: return nil
            case .entry(let entry)?: return entry
            case .chunked(let metadata, let chunks)?:
                if let value = try await readChunks(chunks, of: key) { return StoreEntry(value: value, metadata: metadata) }
            }
        }
        throw chunksGone(key)
    }

    /// An entry from an `HMGET v e m c x g n s` reply.
    private func hashEntry(from reply: RESPValue, _ key: StoreKey) throws -> Fetched? {
        guard let fields = reply.array, fields.count == 8 else { throw unexpected(reply, .read, key) }
        if fields[1].isNull { return nil }
        return try fetched(fields, key)
    }

    /// An entry from the read script's `{value, etag, modified, created, expiry, generation,
    /// chunks, size}`.
    private func fetched(from reply: RESPValue, _ key: StoreKey) throws -> Fetched? {
        if reply.isNull { return nil }
        guard let fields = reply.array, fields.count == 8 else { throw unexpected(reply, .read, key) }
        return try fetched(fields, key)
    }

    /// The entry of the eight fields both replies have: value, etag, modified, created,
    /// expiry, generation, chunks, size.
    private func fetched(_ fields: [RESPValue], _ key: StoreKey) throws -> Fetched {
        if let chunks = try chunkedValue(generation: fields[5], count: fields[6], size: fields[7], key) {
            let metadata = try metadata(key, size: chunks.size, etag: fields[1], modified: fields[2], created: fields[3], expiry: fields[4])
            return .chunked(metadata, chunks)
        }
        guard let value = fields[0].bytes else { throw unexpected(.array(fields), .read, key) }
        let metadata = try metadata(key, size: Int64(value.readableBytes), etag: fields[1], modified: fields[2], created: fields[3],
                                    expiry: fields[4])
        return .entry(StoreEntry(value: Data(value.readableBytesView), metadata: metadata))
    }

    func metadata(_ key: StoreKey, size: Int64, etag: RESPValue, modified: RESPValue, created: RESPValue, expiry: RESPValue) throws -> EntryMetadata {
        guard let etag = etag.string, let modified = modified.int64 else {
            throw StoreError(.integrity, operation: .read, key: key, store: description,
                             message: "the entry's hash at '\(serverKey(key))' lacks its ETag or modification time: it was not written by a RedisStore")
        }
        let expiresAt = expiry.isNull ? nil : expiry.int64.flatMap { $0 < 0 ? nil : $0 }
        return EntryMetadata(key: key, size: size, etag: ETag(etag), modificationDate: Self.date(modified),
                             creationDate: created.int64.map(Self.date), expirationDate: expiresAt.map(Self.date))
    }

    static func date(_ milliseconds: Int64) -> Date { Date(timeIntervalSince1970: Double(milliseconds) / 1000) }

    /// The reply itself, or the ``StoreError`` of an error reply.
    func serverReply(_ reply: RESPValue, _ operation: StoreOperation, _ key: StoreKey?) throws(StoreError) -> RESPValue {
        if case .error(let error) = reply {
            throw storeError(RedisClientError(.server, error.message, serverError: error), operation, key)
        }
        return reply
    }

    /// Runs `script` once per element of `calls` in one pipeline, running again in full
    /// (`EVAL`) those the server did not have yet.
    func runScripts(_ script: RedisScript, _ calls: [([String], [any RESPArgument & Sendable])]) async throws -> [RESPValue] {
        try await pipelineLoadingScripts(calls.map { script.command(keys: $0.0, arguments: $0.1) }) {
            script.command(keys: calls[$0].0, arguments: calls[$0].1, loading: true)
        }
    }

    /// Sends `commands` in one pipeline, then again in one more the commands that the server
    /// answered `NOSCRIPT`, each as `inFull(index)` makes it (an `EVAL`, which loads the script).
    func pipelineLoadingScripts(_ commands: [RedisCommand], inFull: (Int) -> RedisCommand) async throws -> [RESPValue] {
        var replies = try await client.pipeline(commands)
        let missing = replies.indices.filter { if case .error(let error) = replies[$0] { return error.prefix == "NOSCRIPT" }; return false }
        if !missing.isEmpty {
            let again = try await client.pipeline(missing.map(inFull))
            for (index, reply) in zip(missing, again) { replies[index] = reply }
        }
        return replies
    }

    // MARK: Writes

    public func write(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        if layout.isPlain { return try await plainWrite(value, for: key, options: options) }
        if value.count > Self.chunkByteCount { return try await writeChunked(value, for: key, options: options) }
        let etag = makeETag()
        let reply = try await mapping(.write, key) {
            try await client.run(RedisStoreScripts.write, keys: scriptKeys(key), arguments: writeArguments(value, key, options, etag))
        }
        return try written(reply, key, size: Int64(value.count), etag: etag, options: options).get()
    }

    /// Writes the bytes of `chunks` as they come, holding at most about one chunk
    /// (``chunkByteCount``) of them: a longer value is staged a chunk at a time and made the
    /// entry's value in one step at the end, so readers see the previous value until then.
    /// With ``Layout/plain`` the chunks are collected and written whole.
    public func write<Chunks: AsyncSequence & Sendable>(
        contentsOf chunks: Chunks, for key: StoreKey, options: WriteOptions
    ) async throws -> EntryMetadata where Chunks.Element == Data {
        if layout.isPlain {
            var value = Data()
            for try await piece in ValueChunks(chunks, checkedAgainst: options, key: key, store: description) { value.append(piece) }
            return try await plainWrite(value, for: key, options: options)
        }
        return try await writeStreamed(chunks, for: key, options: options)
    }

    public func writeBatch(_ writes: [BatchWrite]) async throws -> [Result<EntryMetadata, StoreError>] {
        guard !writes.isEmpty else { return [] }
        if layout.isPlain { return try await plainWriteBatch(writes) }
        if writes.contains(where: { $0.value.count > Self.chunkByteCount }) {
            // Values in chunks are written one at a time, in the batch's order, beside a batch of
            // the rest.
            let small = writes.indices.filter { writes[$0].value.count <= Self.chunkByteCount }
            var results = [Result<EntryMetadata, StoreError>?](repeating: nil, count: writes.count)
            for (index, result) in zip(small, try await writeBatch(small.map { writes[$0] })) { results[index] = result }
            for index in writes.indices where results[index] == nil {
                do {
                    results[index] = .success(try await write(writes[index].value, for: writes[index].key, options: writes[index].options))
                } catch let error as StoreError {
                    results[index] = .failure(error)
                }
            }
            return results.map { $0! }
        }
        let etags = writes.map { _ in makeETag() }
        let replies = try await mapping(.write, nil) {
            try await runScripts(RedisStoreScripts.write, zip(writes, etags).map { write, etag in
                (scriptKeys(write.key), writeArguments(write.value, write.key, write.options, etag))
            })
        }
        return zip(writes, zip(etags, replies)).map { write, pair in
            do {
                return try written(try serverReply(pair.1, .write, write.key), write.key, size: Int64(write.value.count), etag: pair.0,
                                   options: write.options)
            } catch let error as StoreError {
                return .failure(error)
            } catch {
                return .failure(StoreError(.io, operation: .write, key: nil, store: description, message: "\(error)"))
            }
        }
    }

    /// A write condition as the write scripts take it: `n` (absent), `m` and the expected
    /// ETag, or `a` (always).
    func scriptCondition(_ condition: WriteCondition) -> (code: String, expected: String) {
        if condition.requiresAbsence { return ("n", "") }
        if let etag = condition.expectedETag { return ("m", etag.rawValue) }
        return ("a", "")
    }

    private func writeArguments(_ value: Data, _ key: StoreKey, _ options: WriteOptions, _ etag: ETag) -> [any RESPArgument & Sendable] {
        let (condition, expected) = scriptCondition(options.condition)
        let expiry = serverExpiry(for: options.expiry)
        return [key.rawValue, value, etag.rawValue, condition, expected, expiry.kind, String(expiry.milliseconds),
                String(expiry.slidingMilliseconds)]
    }

    func written(_ reply: RESPValue, _ key: StoreKey, size: Int64, etag: ETag, options: WriteOptions) throws(StoreError) -> Result<EntryMetadata, StoreError> {
        guard let fields = reply.array, let status = fields.first?.int64 else { throw unexpected(reply, .write, key) }
        if status == 0 {
            let why = options.condition.requiresAbsence ? "the key already holds a value" : "the key's current ETag is not \(options.condition.expectedETag?.rawValue ?? "")"
            return .failure(StoreError(.conditionFailed, operation: .write, key: key, store: description,
                                       message: "the write's condition \(options.condition) does not hold: \(why)"))
        }
        guard fields.count == 4, let now = fields[1].int64, let created = fields[2].int64, let expiry = fields[3].int64 else {
            throw unexpected(reply, .write, key)
        }
        return .success(EntryMetadata(key: key, size: size, etag: etag, modificationDate: Self.date(now),
                                      creationDate: Self.date(created), expirationDate: expiry < 0 ? nil : Self.date(expiry)))
    }

    // MARK: Deletes

    public func delete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool {
        if layout.isPlain { return try await plainDelete(key, condition: condition) }
        let reply = try await mapping(.delete, key) {
            try await client.run(RedisStoreScripts.delete, keys: scriptKeys(key), arguments: [key.rawValue, condition.expectedETag?.rawValue ?? ""])
        }
        return try deleted(reply, key, condition).get()
    }

    public func deleteBatch(_ deletes: [BatchDelete]) async throws -> [Result<Void, StoreError>] {
        guard !deletes.isEmpty else { return [] }
        if layout.isPlain { return try await plainDeleteBatch(deletes) }
        let replies = try await mapping(.delete, nil) {
            try await runScripts(RedisStoreScripts.delete, deletes.map {
                (scriptKeys($0.key), [$0.key.rawValue, $0.condition.expectedETag?.rawValue ?? ""])
            })
        }
        return zip(deletes, replies).map { delete, reply in
            do {
                return try deleted(try serverReply(reply, .delete, delete.key), delete.key, delete.condition).map { _ in () }
            } catch let error as StoreError {
                return .failure(error)
            } catch {
                return .failure(StoreError(.io, operation: .write, key: nil, store: description, message: "\(error)"))
            }
        }
    }

    private func deleted(_ reply: RESPValue, _ key: StoreKey, _ condition: DeleteCondition) throws(StoreError) -> Result<Bool, StoreError> {
        guard let count = reply.int64 else { throw unexpected(reply, .delete, key) }
        if count < 0 {
            return .failure(StoreError(.conditionFailed, operation: .delete, key: key, store: description,
                                       message: "the delete's condition \(condition) does not hold: the key is missing or has another ETag"))
        }
        return .success(count > 0)
    }

    // MARK: Counting, counters, expiry

    public func count(withPrefix prefix: String) async throws -> Int {
        let query = try ListQuery(prefix: prefix)
        if layout.isPlain { return try await plainCount(withPrefix: query.prefix) }
        _ = try await purgeExpired(.count)
        let range = Self.range(of: query.prefix)
        let replies = try await mapping(.list, nil) {
            try await client.pipeline(buckets.map { RedisCommand("ZLEXCOUNT", $0.indexKey, range.start, range.end) })
        }
        var total = 0
        for reply in replies {
            guard let count = try serverReply(reply, .list, nil).int64 else { throw unexpected(reply, .list, nil) }
            total += Int(count)
        }
        return total
    }

    /// Drops expired keys from the indexes and returns how many; the server reclaims their
    /// entries itself. With ``Layout/plain`` there is no index, so nothing to do: 0.
    public func reclaimExpired() async throws -> Int {
        if layout.isPlain { return 0 }
        return try await purgeExpired(.reclaim)
    }

    /// Drops every expired key from the indexes, 1,000 per bucket and script call (the
    /// buckets' calls in one pipeline), and returns how many.
    private func purgeExpired(_ operation: StoreOperation) async throws -> Int {
        var total = 0
        var due = Array(buckets.indices)
        while !due.isEmpty {
            let replies = try await mapping(operation, nil) {
                try await runScripts(RedisStoreScripts.purge, due.map { index in
                    let bucket = buckets[index]
                    return ([bucket.indexKey, bucket.indexKey, bucket.expiryKey], [bucket.entryPrefix])
                })
            }
            var next: [Int] = []
            for (index, reply) in zip(due, replies) {
                guard let count = try serverReply(reply, operation, nil).int64 else { throw unexpected(reply, operation, nil) }
                total += Int(count)
                if count >= 1000 { next.append(index) }
            }
            due = next
        }
        return total
    }

    /// Adds `delta` to the decimal integer under `key` (0 when absent) on the server, in one
    /// step (`HINCRBY` inside a script that also gives the entry a new ETag and modification
    /// time; `INCRBY` on a ``Layout/plain`` string), and returns the sum. A new counter gets the
    /// store's default expiry; an existing one keeps its own.
    ///
    /// This is reached only through a `RedisStore` itself: through `any KeyValueStore` or a
    /// layer, `KeyValueStore.increment(_:by:)` runs its compare-and-swap loop instead.
    ///
    /// - Throws: `StoreError.Code.decodingFailed` when the value is not a decimal integer;
    ///   `StoreError.Code.invalidArgument` when the sum overflows `Int64`.
    @discardableResult
    public func increment(_ key: StoreKey, by delta: Int64 = 1) async throws -> Int64 {
        let expiry = serverExpiry(for: .never)
        let etag = makeETag()
        let reply: RESPValue
        do {
            if layout.isPlain {
                reply = try await plainIncrementReply(key, by: delta)
            } else {
                reply = try await client.run(RedisStoreScripts.increment, keys: scriptKeys(key),
                                             arguments: [key.rawValue, delta, etag.rawValue, expiry.kind, String(expiry.milliseconds),
                                                         String(expiry.slidingMilliseconds)])
            }
        } catch let error as RedisClientError where error.code == .server {
            let message = error.serverError?.message ?? ""
            if message.contains("overflow") {
                throw StoreError(.invalidArgument, operation: .update, key: key, store: description,
                                 message: "adding \(delta) overflows a 64-bit integer", underlying: error)
            }
            if message.contains("not an integer") {
                throw StoreError(.decodingFailed, operation: .update, key: key, store: description,
                                 message: "the value is not a decimal integer, so it cannot be incremented", underlying: error)
            }
            throw storeError(error, .update, key)
        } catch let error as RedisClientError {
            throw storeError(error, .update, key)
        }
        guard let sum = reply.int64 else { throw unexpected(reply, .update, key) }
        return sum
    }
}

