public import Foundation
public import Trove
import TroveS3Client
import Synchronization

extension S3Store {
    /// The longest object key S3 accepts, in UTF-8 bytes.
    static let maximumObjectKeyByteCount = 1024

    /// The longest segment of a key that SeaweedFS takes, in UTF-8 bytes: a file name's.
    static let maximumSeaweedFSSegmentByteCount = 255

    /// The object key of `key`, refused with ``StoreError/Code/invalidKey`` before any request
    /// when the prefix makes it longer than S3's 1,024 bytes, or when the server would not keep
    /// it as it is (``Options/KeyRules``; a key that could need the server's rules waits for
    /// them to be known, every other key goes at once).
    func checkedObjectKey(_ key: StoreKey, _ operation: StoreOperation) async throws -> String {
        let name = objectKey(key)
        guard name.utf8.count <= Self.maximumObjectKeyByteCount else {
            throw StoreError(.invalidKey, operation: operation, key: key, store: description,
                             message: "the key and the prefix '\(prefix)' make an object key of \(name.utf8.count) bytes; S3 takes at most 1,024")
        }
        let backslash = key.rawValue.utf8.contains(UInt8(ascii: "\\"))
        let longestSegment = key.rawValue.utf8.split(separator: UInt8(ascii: "/")).lazy.map(\.count).max() ?? 0
        guard backslash || longestSegment > Self.maximumSeaweedFSSegmentByteCount else { return name }
        guard try await effectiveKeyRules(operation) == .seaweedFS else { return name }
        let reason = backslash
            ? "it holds a backslash, which SeaweedFS stores as a slash (the key would become another one)"
            : "it has a segment of \(longestSegment) bytes between slashes, and SeaweedFS takes at most \(Self.maximumSeaweedFSSegmentByteCount)"
        throw StoreError(.invalidKey, operation: operation, key: key, store: description,
                         message: "this server cannot keep the key as it is: \(reason)")
    }

    func metadata(_ key: StoreKey, _ head: S3ObjectHead) -> EntryMetadata {
        EntryMetadata(key: key, size: head.size, etag: ETag(Self.quoted(head.etag)),
                      modificationDate: head.lastModified ?? Date())
    }

    /// An ETag with its quotes, as S3 sends it in headers (some servers leave them out in
    /// listings).
    static func quoted(_ etag: String) -> String {
        etag.hasPrefix("\"") || etag.hasPrefix("W/") ? etag : "\"" + etag + "\""
    }

    public func read(_ key: StoreKey) async throws -> StoreEntry? {
        let name = try await checkedObjectKey(key, .read)
        return try await mapErrors(.read, key: key) {
            guard case .found(let head, _, let body)? = try await client.getObject(bucket: bucket, key: name) else { return nil }
            return StoreEntry(value: body, metadata: metadata(key, head))
        }
    }

    public func metadata(for key: StoreKey) async throws -> EntryMetadata? {
        let name = try await checkedObjectKey(key, .metadata)
        return try await mapErrors(.metadata, key: key) {
            try await client.headObject(bucket: bucket, key: name).map { metadata(key, $0) }
        }
    }

    /// Reads `key` under `options` in one GET: the range as a `Range` header, the ETag as
    /// `If-None-Match`. An unchanged answer (304) carries no size, so it costs a HEAD for the
    /// metadata; so does an empty range.
    ///
    /// - Throws: `StoreError.Code.notSupported` for `ReadOptions.refreshingExpiry`.
    public func read(_ key: StoreKey, options: ReadOptions) async throws -> ReadOutcome<StoreEntry>? {
        if options.refreshingExpiry != nil { throw refreshNotSupported(key) }
        let name = try await checkedObjectKey(key, .read)
        return try await mapErrors(.read, key: key) {
            if options.range != nil && options.range?.httpRangeValue == nil {
                // An empty range: the metadata, and no bytes.
                guard let head = try await client.headObject(bucket: bucket, key: name) else { return nil }
                if let ifNoneMatch = options.ifNoneMatch, ETag(Self.quoted(head.etag)) == ifNoneMatch { return .unchanged(metadata(key, head)) }
                return .value(StoreEntry(value: Data(), metadata: metadata(key, head)))
            }
            let outcome = try await client.getObject(bucket: bucket, key: name, range: options.range?.httpRangeValue,
                                                     ifNoneMatch: options.ifNoneMatch?.rawValue)
            switch outcome {
            case nil: return nil
            case .found(let head, _, let body)?:
                return .value(StoreEntry(value: body, metadata: metadata(key, head)))
            case .notModified?, .rangeNotSatisfiable?:
                guard let head = try await client.headObject(bucket: bucket, key: name) else { return nil }
                let entry = metadata(key, head)
                if let ifNoneMatch = options.ifNoneMatch, entry.etag == ifNoneMatch { return .unchanged(entry) }
                return .value(StoreEntry(value: Data(), metadata: entry))
            }
        }
    }

    public func metadata(for key: StoreKey, options: ReadOptions) async throws -> EntryMetadata? {
        if options.refreshingExpiry != nil { throw refreshNotSupported(key) }
        return try await metadata(for: key)
    }

    /// Opens `key` with one GET whose body streams in chunks of about `chunkSize` bytes.
    public func readStream(_ key: StoreKey, chunkSize: Int) async throws -> StreamedEntry? {
        try await readStream(key, chunkSize: chunkSize, options: .none)?.body
    }

    public func readStream(_ key: StoreKey, chunkSize: Int, options: ReadOptions) async throws -> ReadOutcome<StreamedEntry>? {
        if options.refreshingExpiry != nil { throw refreshNotSupported(key) }
        let name = try await checkedObjectKey(key, .read)
        let storeName = description
        return try await mapErrors(.read, key: key) {
            if options.range != nil && options.range?.httpRangeValue == nil {
                return try await read(key, options: options).map { outcome in
                    outcome.map { StreamedEntry(metadata: $0.metadata, chunks: ValueChunks(chunksOf: $0.value, chunkSize: chunkSize)) }
                }
            }
            let outcome = try await client.getObjectStream(bucket: bucket, key: name, range: options.range?.httpRangeValue,
                                                           ifNoneMatch: options.ifNoneMatch?.rawValue)
            switch outcome {
            case nil: return nil
            case .found(let head, _, let body)?:
                let chunks = ValueChunks(rechunking: body, chunkSize: chunkSize, key: key, store: storeName, map: { error in
                    (error as? S3Error).map { storeError($0, .read, key: key) } ?? error
                })
                return .value(StreamedEntry(metadata: metadata(key, head), chunks: chunks))
            case .notModified?, .rangeNotSatisfiable?:
                guard let head = try await client.headObject(bucket: bucket, key: name) else { return nil }
                let entry = metadata(key, head)
                if let ifNoneMatch = options.ifNoneMatch, entry.etag == ifNoneMatch { return .unchanged(entry) }
                return .value(StreamedEntry(metadata: entry, chunks: ValueChunks(chunksOf: Data(), chunkSize: chunkSize)))
            }
        }
    }

    func refreshNotSupported(_ key: StoreKey) -> StoreError {
        StoreError(.notSupported, operation: .read, key: key, store: description,
                   message: "S3 objects have no expiry to renew (the store lacks expiryRefreshOnRead)")
    }

    /// Writes `value` as the object's bytes in one PUT, conditional as `options` say.
    ///
    /// - Throws: `StoreError.Code.conditionFailed` when the condition does not hold,
    ///   `StoreError.Code.notSupported` for an expiry.
    public func write(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        guard options.expiry.isNever else { throw expiryNotSupported(key) }
        let name = try await checkedObjectKey(key, .write)
        return try await mapErrors(.write, key: key) {
            try await conditionally(options) {
                let result = try await client.putObject(bucket: bucket, key: name, body: value,
                                                        ifNoneMatch: options.condition.requiresAbsence ? "*" : nil,
                                                        ifMatch: options.condition.expectedETag?.rawValue)
                return EntryMetadata(key: key, size: Int64(value.count), etag: ETag(Self.quoted(result.etag)),
                                     modificationDate: result.date ?? Date())
            }
        }
    }

    /// Writes the bytes of `chunks` as the object's.
    ///
    /// - Unconditional writes stream through a multipart upload (parts of 8 MiB, or more for a
    ///   large `WriteOptions.expectedSize`), ``Options/concurrentParts`` parts in flight at
    ///   once and about one more in memory, aborted on failure and cancellation so that nothing
    ///   is written; a value that fits in one part goes in one PUT.
    /// - Conditional writes go in one PUT (S3's conditions apply to single PUTs on every
    ///   server): with an `WriteOptions.expectedSize` the bytes stream as they come (signed
    ///   chunk by chunk, `aws-chunked`, when the client signs payloads), holding none of the
    ///   value; without one the value is collected first, since S3 needs a PUT's length before
    ///   its first byte.
    ///
    /// When the failure is the server itself (it died, or the network to it broke), the abort
    /// cannot reach it either: nothing is written, but the upload stays open on the server with
    /// the parts it received, until the client aborts it once the server answers again
    /// (`S3Client.abandonedUploads`), or ``abortIncompleteUploads(startedBefore:)`` (or a
    /// lifecycle rule) removes it.
    ///
    /// - Throws: `StoreError.Code.invalidArgument` when the chunks do not add up to
    ///   `WriteOptions.expectedSize` (nothing is written); `StoreError.Code.notSupported` for
    ///   an expiry.
    public func write<Chunks: AsyncSequence & Sendable>(
        contentsOf chunks: Chunks, for key: StoreKey, options: WriteOptions
    ) async throws -> EntryMetadata where Chunks.Element == Data {
        guard options.expiry.isNever else { throw expiryNotSupported(key) }
        let name = try await checkedObjectKey(key, .write)
        let checked = ValueChunks(chunks, checkedAgainst: options, key: key, store: description)
        guard options.condition.isAlways else {
            guard let size = options.expectedSize, size <= S3Client.maximumSinglePutSize else {
                return try await write(try await checked.collect(), for: key, options: options)
            }
            return try await mapErrors(.write, key: key) {
                try await conditionally(options) {
                    let result = try await client.putObject(bucket: bucket, key: name, chunks: checked, length: size,
                                                            ifNoneMatch: options.condition.requiresAbsence ? "*" : nil,
                                                            ifMatch: options.condition.expectedETag?.rawValue)
                    return EntryMetadata(key: key, size: size, etag: ETag(Self.quoted(result.etag)), modificationDate: result.date ?? Date())
                }
            }
        }
        let counter = ByteCounter()
        let counted = ValueChunks {
            var iterator = checked.makeAsyncIterator()
            return ValueChunks.ChunkSource {
                let chunk = try await iterator.next()
                if let chunk { counter.add(chunk.count) }
                return chunk
            }
        }
        return try await mapErrors(.write, key: key) {
            let result = try await client.putObject(bucket: bucket, key: name, chunks: counted,
                                                    partSize: S3Client.partSize(forExpectedSize: options.expectedSize),
                                                    concurrentParts: self.options.concurrentParts)
            return EntryMetadata(key: key, size: counter.total, etag: ETag(Self.quoted(result.etag)),
                                 modificationDate: result.date ?? Date())
        }
    }

    /// Runs a conditional write, reporting an `If-Match` on a missing key (some servers answer
    /// 404) as the failed condition it is.
    func conditionally<T>(_ options: WriteOptions, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as S3Error where error.kind == .notFound && error.code != "NoSuchBucket" && options.condition.expectedETag != nil {
            throw S3Error(kind: .preconditionFailed, operation: error.operation, bucket: error.bucket, key: error.key,
                          status: error.status, code: error.code, message: "the key holds no value to match: \(error.message)",
                          requestID: error.requestID)
        }
    }

    /// Deletes `key`; whether it held a value costs a HEAD first (S3's DELETE answers the same
    /// either way), so another writer may change the key between the two. ``discard(_:)``
    /// deletes without it.
    ///
    /// - Throws: `StoreError.Code.conditionFailed` when an ETag condition does not hold,
    ///   a missing key included.
    public func delete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool {
        let name = try await checkedObjectKey(key, .delete)
        return try await mapErrors(.delete, key: key) {
            if let etag = condition.expectedETag {
                do {
                    try await client.deleteObject(bucket: bucket, key: name, ifMatch: etag.rawValue)
                } catch let error as S3Error where error.kind == .notFound && error.code != "NoSuchBucket" {
                    throw S3Error(kind: .preconditionFailed, operation: error.operation, bucket: error.bucket, key: error.key,
                                  status: error.status, code: error.code, message: "the key holds no value to match",
                                  requestID: error.requestID)
                }
                return true
            }
            guard try await client.headObject(bucket: bucket, key: name) != nil else { return false }
            try await client.deleteObject(bucket: bucket, key: name)
            return true
        }
    }

    /// Deletes `key` with one DELETE, without finding out whether it held a value.
    public func discard(_ key: StoreKey) async throws {
        let name = try await checkedObjectKey(key, .delete)
        try await mapErrors(.delete, key: key) { try await client.deleteObject(bucket: bucket, key: name) }
    }

    /// Presigned GET URL of the object, valid for `lifetime` (1 second to 7 days).
    public func url(for key: StoreKey, validFor lifetime: Duration) async throws -> URL? {
        let name = try await checkedObjectKey(key, .read)
        return client.presignedURL(method: "GET", bucket: bucket, key: name, lifetime: lifetime)
    }

    /// Nothing expires in this store: 0. It aborts the client's abandoned uploads
    /// (`S3Client.abandonedUploads`: uploads of failed writes whose abort did not reach the
    /// server), which the client also does by itself once the server answers again.
    public func reclaimExpired() async throws -> Int {
        await client.abortAbandonedUploads()
        return 0
    }

    // MARK: - Batches

    /// Reads the keys with up to ``Options/batchConcurrency`` GETs in flight.
    public func readBatch(_ keys: [StoreKey]) async throws -> [StoreEntry?] {
        try await inParallel(keys) { try await read($0) }
    }

    /// Writes the entries with up to ``Options/batchConcurrency`` PUTs in flight, each on its
    /// own (the batch is not atomic). A key written twice ends with the later value: such
    /// entries are written in order. Entries whose keys nest (`a`, `a/b`, `a/b/c`) are written
    /// one after another, the outer first: SeaweedFS, which keeps objects as files and
    /// directories, can lose one of two concurrent PUTs of `a` and `a/b` even after answering
    /// both with 200.
    public func writeBatch(_ writes: [BatchWrite]) async throws -> [Result<EntryMetadata, StoreError>] {
        guard Set(writes.map(\.key)).count == writes.count else { return try await writeEachInTurn(writes) }
        let groups = Self.nestedGroups(writes.map(\.key))
        let written = try await inParallel(groups) { group -> [(Int, Result<EntryMetadata, StoreError>)] in
            var results: [(Int, Result<EntryMetadata, StoreError>)] = []
            for index in group {
                let write = writes[index]
                do {
                    results.append((index, .success(try await self.write(write.value, for: write.key, options: write.options))))
                } catch let error as StoreError where error.code != .unavailable {
                    results.append((index, .failure(error)))
                }
            }
            return results
        }
        var ordered = [Result<EntryMetadata, StoreError>?](repeating: nil, count: writes.count)
        for (index, result) in written.joined() { ordered[index] = result }
        return ordered.map { $0! }
    }

    /// The indices of `keys` in groups of keys that nest (one is another followed by `/` and
    /// more), each group in key order; a key that nests with no other is a group of its own.
    static func nestedGroups(_ keys: [StoreKey]) -> [[Int]] {
        var indexOfKey: [String: Int] = [:]
        for (index, key) in keys.enumerated() { indexOfKey[key.rawValue] = index }
        var parent = Array(keys.indices)
        func root(_ index: Int) -> Int {
            var index = index
            while parent[index] != index {
                parent[index] = parent[parent[index]]
                index = parent[index]
            }
            return index
        }
        for (index, key) in keys.enumerated() {
            let text = key.rawValue
            var start = text.startIndex
            while let slash = text[start...].firstIndex(of: "/") {
                if let outer = indexOfKey[String(text[..<slash])] { parent[root(index)] = root(outer) }
                start = text.index(after: slash)
            }
        }
        var groups: [Int: [Int]] = [:]
        for index in keys.indices { groups[root(index), default: []].append(index) }
        return groups.values
            .map { $0.sorted { keys[$0].rawValue < keys[$1].rawValue } }
            .sorted { $0[0] < $1[0] }
    }

    /// Deletes the unconditional entries with DeleteObjects (1,000 keys per request) and the
    /// conditional ones one by one.
    public func deleteBatch(_ deletes: [BatchDelete]) async throws -> [Result<Void, StoreError>] {
        var results = [Result<Void, StoreError>](repeating: .success(()), count: deletes.count)
        var plain: [(Int, String)] = []
        for (index, delete) in deletes.enumerated() {
            if delete.condition.expectedETag == nil {
                do { plain.append((index, try await checkedObjectKey(delete.key, .delete))) } catch let error as StoreError { results[index] = .failure(error) }
            } else {
                do { _ = try await self.delete(delete.key, condition: delete.condition) } catch let error as StoreError where error.code != .unavailable {
                    results[index] = .failure(error)
                }
            }
        }
        guard !plain.isEmpty else { return results }
        let failures = try await mapErrors(.delete, key: nil) { try await client.deleteObjects(bucket: bucket, keys: plain.map(\.1)) }
        let failed = Dictionary(failures.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        for (index, name) in plain {
            if let failure = failed[name] {
                let error = S3Error(kind: S3Error.kind(status: 400, code: failure.code), operation: "DeleteObjects", bucket: bucket,
                                    key: name, code: failure.code, message: failure.message)
                results[index] = .failure(storeError(error, .delete, key: deletes[index].key))
            }
        }
        return results
    }

    /// `body` of every element, with at most ``Options/batchConcurrency`` running at once, in
    /// the order of `elements`.
    func inParallel<Element: Sendable, Result: Sendable>(
        _ elements: [Element], _ body: @escaping @Sendable (Element) async throws -> Result
    ) async throws -> [Result] {
        guard elements.count > 1 else { return try await elements.asyncMap(body) }
        return try await withThrowingTaskGroup(of: (Int, Result).self) { group in
            var results = [Result?](repeating: nil, count: elements.count)
            var next = 0
            for _ in 0..<min(options.batchConcurrency, elements.count) {
                let index = next, element = elements[index]
                group.addTask { (index, try await body(element)) }
                next += 1
            }
            while let (index, result) = try await group.next() {
                results[index] = result
                if next < elements.count {
                    let index = next, element = elements[index]
                    group.addTask { (index, try await body(element)) }
                    next += 1
                }
            }
            return results.map { $0! }
        }
    }
}

extension Array where Element: Sendable {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async throws -> [T] {
        var results: [T] = []
        results.reserveCapacity(count)
        for element in self { results.append(try await transform(element)) }
        return results
    }
}

extension ValueChunks {
    /// The chunks of `body` re-cut to about `chunkSize` bytes each, errors mapped by `map`.
    init<Body: AsyncSequence & Sendable>(rechunking body: Body, chunkSize: Int, key: StoreKey, store: String,
                                         map: @escaping @Sendable (any Error) -> any Error) where Body.Element == Data {
        let size = Swift.max(1, chunkSize)
        self.init {
            var iterator = body.makeAsyncIterator()
            var buffer = Data()
            var finished = false
            return ChunkSource {
                while buffer.count < size && !finished {
                    do {
                        if let chunk = try await iterator.next() { buffer.append(chunk) } else { finished = true }
                    } catch {
                        throw map(error)
                    }
                }
                guard !buffer.isEmpty else { return nil }
                let piece = buffer.prefix(size)
                buffer = Data(buffer.dropFirst(piece.count))
                return Data(piece)
            }
        }
    }
}

/// The bytes a streamed write has read.
final class ByteCounter: Sendable {
    private let count = Mutex<Int64>(0)
    func add(_ bytes: Int) { count.withLock { $0 += Int64(bytes) } }
    var total: Int64 { count.withLock { $0 } }
}
