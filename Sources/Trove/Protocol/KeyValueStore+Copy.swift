import Foundation

/// What ``KeyValueStore/copy(to:withPrefix:replacing:concurrency:chunkSize:expiries:onProgress:)`` did.
public struct CopyReport: Hashable, Sendable {
    /// The entries written to the destination.
    public var copied = 0
    /// The entries left alone because the destination already held the key (only when not
    /// replacing), or because they disappeared or expired in the source before they were read.
    public var skipped = 0
    /// The bytes of the values copied.
    public var bytes: Int64 = 0
    /// The entries copied without the expiry they have in the source, because the destination
    /// cannot keep one (only with ``ExpiryCopying/droppedWhereUnsupported``).
    public var expiriesDropped = 0

    /// Creates an empty report.
    public init() {}
}

/// What copying does with the expiry of an entry when the destination has no
/// ``StoreCapabilities/expiration`` (S3, say).
public enum ExpiryCopying: Hashable, Sendable {
    /// Every copy expires when its original does; copying an entry that expires into a store
    /// that cannot keep an expiry throws ``StoreError/Code/notSupported``, naming the key.
    case required
    /// Copies expire when their originals do where the destination keeps expiries; where it
    /// does not, they are written to never expire and counted in
    /// ``CopyReport/expiriesDropped``.
    case droppedWhereUnsupported
}

extension KeyValueStore {
    /// Copies every entry whose key starts with `prefix` into `destination`, under the same
    /// key, streaming each value and keeping its expiry.
    ///
    ///     let report = try await sqlite.copy(to: file, withPrefix: "users/")
    ///     print("\(report.copied) entries, \(report.bytes) bytes")
    ///
    /// Entries are listed in key order and copied `concurrency` calls at a time. Values up to
    /// 64 KiB go in batches (up to 100 entries, 1 MiB) through ``readBatch(_:)`` and the
    /// destination's ``writeBatch(_:)``: one transaction or pipeline instead of a round trip
    /// each. Larger values go one at a time through ``readStream(_:chunkSize:)`` and
    /// ``write(contentsOf:for:options:)`` with their size declared, so a large value is never
    /// held whole where both stores stream. An entry with
    /// an expiry is written to expire at the same moment. Copying is not one atomic step:
    /// entries written to the source meanwhile may or may not be copied.
    ///
    /// - Parameters:
    ///   - destination: The store to copy into.
    ///   - prefix: The bytes keys must start with. Defaults to `""`, every key.
    ///   - replacing: Whether to overwrite keys the destination already holds. Defaults to
    ///     `true`; with `false`, keys it holds are skipped (a write conditional on absence), so
    ///     running the copy again resumes it.
    ///   - concurrency: How many values or batches of small values are copied at once. Defaults
    ///     to 8.
    ///   - chunkSize: The size of the chunks values stream in. Defaults to 1 MiB.
    ///   - expiries: What happens to the expiry of an entry when the destination cannot keep one.
    ///     Defaults to ``ExpiryCopying/required``: the copy throws rather than make an entry that
    ///     was meant to vanish last forever.
    ///   - onProgress: Called after each value or batch with the totals so far, one call at a time (not
    ///     concurrently), in the task that called `copy`. Defaults to `nil`.
    /// - Returns: How many entries were copied and skipped, and how many bytes.
    /// - Throws: The first ``StoreError`` of either store, naming the key (entries copied before
    ///   it stay copied); ``StoreError/Code/notSupported`` when an entry expires,
    ///   `destination` has no ``StoreCapabilities/expiration`` and `expiries` is
    ///   ``ExpiryCopying/required``, or when not replacing and it has
    ///   no ``StoreCapabilities/conditionalWrites``.
    @discardableResult
    public func copy(
        to destination: some KeyValueStore,
        withPrefix prefix: String = "",
        replacing: Bool = true,
        concurrency: Int = 8,
        chunkSize: Int = 1 << 20,
        expiries: ExpiryCopying = .required,
        onProgress: ((CopyReport) -> Void)? = nil
    ) async throws -> CopyReport {
        if !replacing, !destination.capabilities.contains(.conditionalWrites) {
            throw StoreError(.notSupported, operation: .copy, store: destination.description,
                             message: "copying without replacing needs conditional writes, which the destination does not have")
        }
        let listing = list(try ListQuery(prefix: prefix, includesMetadata: true), pageSize: 1000)
        let width = max(1, concurrency)
        return try await withThrowingTaskGroup(of: CopyReport.self) { group in
            var report = CopyReport()
            var inFlight = 0
            var small = SmallEntryGroup()
            func start(_ copy: @escaping @Sendable () async throws -> CopyReport) async throws {
                if inFlight == width, let done = try await group.next() {
                    report.add(done)
                    onProgress?(report)
                    inFlight -= 1
                }
                group.addTask(operation: copy)
                inFlight += 1
            }
            for try await element in listing {
                guard let metadata = element.metadata else { continue }
                if metadata.size <= SmallEntryGroup.largestValue {
                    small.append(metadata.key, size: metadata.size)
                    guard small.isFull else { continue }
                    let keys = small.take()
                    try await start { try await copyBatch(keys, to: destination, replacing: replacing, expiries: expiries) }
                } else {
                    let key = metadata.key
                    try await start {
                        try await copyEntry(key, to: destination, replacing: replacing, chunkSize: chunkSize, expiries: expiries)
                    }
                }
            }
            if !small.isEmpty {
                let keys = small.take()
                try await start { try await copyBatch(keys, to: destination, replacing: replacing, expiries: expiries) }
            }
            while let done = try await group.next() {
                report.add(done)
                onProgress?(report)
            }
            return report
        }
    }

    /// Copies small entries with one ``readBatch(_:)`` of this store and one
    /// ``KeyValueStore/writeBatch(_:)`` of `destination` (a transaction, a pipeline, requests in
    /// parallel: whatever each store's batch is). Entries the batch did not write (another
    /// entry of an atomic batch failed, or their own write failed) are written again one at a
    /// time, so that each ends as it would have alone: copied, skipped as held by the
    /// destination when not replacing, or the error naming its key.
    func copyBatch(
        _ keys: [StoreKey], to destination: some KeyValueStore, replacing: Bool, expiries: ExpiryCopying
    ) async throws -> CopyReport {
        var report = CopyReport()
        var writes: [BatchWrite] = []
        var expiryDropped: Set<StoreKey> = []
        for (key, entry) in zip(keys, try await readBatch(keys)) {
            guard let entry else {
                report.skipped += 1   // gone or expired since it was listed
                continue
            }
            var options = WriteOptions(condition: replacing ? .always : .ifAbsent)
            options.expiry = try Self.expiry(of: entry.metadata, in: destination, expiries: expiries)
            if entry.metadata.expirationDate != nil, options.expiry == .never { expiryDropped.insert(key) }
            writes.append(BatchWrite(key, entry.value, options: options))
        }
        guard !writes.isEmpty else { return report }
        func count(_ write: BatchWrite) {
            report.copied += 1
            report.bytes += Int64(write.value.count)
            if expiryDropped.contains(write.key) { report.expiriesDropped += 1 }
        }
        for (write, result) in zip(writes, try await destination.writeBatch(writes)) {
            if case .success = result {
                count(write)
                continue
            }
            do {
                _ = try await destination.write(write.value, for: write.key, options: write.options)
                count(write)
            } catch let error as StoreError where error.code == .conditionFailed && !replacing {
                report.skipped += 1
            }
        }
        return report
    }

    func copyEntry(
        _ key: StoreKey, to destination: some KeyValueStore, replacing: Bool, chunkSize: Int, expiries: ExpiryCopying
    ) async throws -> CopyReport {
        var report = CopyReport()
        try await withReadStream(key, chunkSize: chunkSize) { stream in
            guard let stream else {
                report.skipped = 1
                return
            }
            var options = WriteOptions(condition: replacing ? .always : .ifAbsent,
                                       expectedSize: stream.metadata.size)
            options.expiry = try Self.expiry(of: stream.metadata, in: destination, expiries: expiries)
            do {
                _ = try await destination.write(contentsOf: stream.chunks, for: key, options: options)
                report.copied = 1
                report.bytes = stream.metadata.size
                if stream.metadata.expirationDate != nil, options.expiry == .never { report.expiriesDropped = 1 }
            } catch let error as StoreError where error.code == .conditionFailed && !replacing {
                report.skipped = 1
            }
        }
        return report
    }

    /// The expiry a copy of the entry `metadata` describes is written with in `destination`.
    static func expiry(
        of metadata: EntryMetadata, in destination: some KeyValueStore, expiries: ExpiryCopying
    ) throws(StoreError) -> Expiry {
        guard let expiration = metadata.expirationDate else { return .never }
        if destination.capabilities.contains(.expiration) { return .at(expiration) }
        guard expiries == .droppedWhereUnsupported else {
            throw StoreError(.notSupported, operation: .copy, key: metadata.key, store: destination.description,
                             message: "the entry expires, and the destination cannot keep an expiry")
        }
        return .never
    }
}

/// Small entries of a copy gathered for one batch: at most 100 of them, 1 MiB in all.
struct SmallEntryGroup {
    /// The largest value copied in a batch; larger ones stream on their own.
    static let largestValue: Int64 = 64 << 10
    private static let mostEntries = 100
    private static let mostBytes: Int64 = 1 << 20

    private var keys: [StoreKey] = []
    private var bytes: Int64 = 0

    var isEmpty: Bool { keys.isEmpty }
    var isFull: Bool { keys.count >= Self.mostEntries || bytes >= Self.mostBytes }

    mutating func append(_ key: StoreKey, size: Int64) {
        keys.append(key)
        bytes += size
    }

    /// The keys gathered, leaving the group empty.
    mutating func take() -> [StoreKey] {
        defer { (keys, bytes) = ([], 0) }
        return keys
    }
}

extension CopyReport {
    fileprivate mutating func add(_ other: CopyReport) {
        copied += other.copied
        skipped += other.skipped
        bytes += other.bytes
        expiriesDropped += other.expiriesDropped
    }
}
