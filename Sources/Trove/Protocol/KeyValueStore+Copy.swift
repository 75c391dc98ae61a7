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
    /// held whole where both stores stream. When this store copies into `destination` on the
    /// server (``ServerSideCopying``: two S3 stores on one endpoint), each value is copied with
    /// one request instead, its bytes never passing through this process. An entry with
    /// an expiry is written to expire at the same moment. Copying is not one atomic step:
    /// entries written to the source meanwhile may or may not be copied.
    ///
    /// Without replacing, the destination is listed beside the source (as
    /// ``planCopy(to:withPrefix:replacing:expiries:_:)`` does) and the keys it lists are
    /// skipped without reading their values; the others are written on condition of absence,
    /// so a key that appears in the destination meanwhile is skipped too, never overwritten.
    ///
    /// - Parameters:
    ///   - destination: The store to copy into.
    ///   - prefix: The bytes keys must start with. Defaults to `""`, every key.
    ///   - replacing: Whether to overwrite keys the destination already holds. Defaults to
    ///     `true`; with `false`, keys it holds are skipped, so running the copy again resumes
    ///     it, reading and writing only what is still missing.
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
        let onServer = canCopyOnServer(to: destination)
        var tasks = BoundedTasks<CopyReport>(width: concurrency)
        return try await withThrowingTaskGroup(of: CopyReport.self) { group in
            var report = CopyReport()
            func settle(_ done: CopyReport) {
                report.add(done)
                onProgress?(report)
            }
            var small = SmallEntryGroup()
            let skipped = try await planCopy(to: destination, withPrefix: prefix, replacing: replacing, expiries: expiries) { metadata in
                if onServer {
                    try await tasks.add(to: &group, settling: settle) {
                        try await copyOnServer(metadata, to: destination, replacing: replacing, expiries: expiries)
                    }
                } else if metadata.size <= SmallEntryGroup.largestValue {
                    small.append(metadata.key, size: metadata.size)
                    guard small.isFull else { return }
                    let keys = small.take()
                    try await tasks.add(to: &group, settling: settle) {
                        try await copyBatch(keys, to: destination, replacing: replacing, expiries: expiries)
                    }
                } else {
                    let key = metadata.key
                    try await tasks.add(to: &group, settling: settle) {
                        try await copyEntry(key, to: destination, replacing: replacing, chunkSize: chunkSize, expiries: expiries)
                    }
                }
            }.skipped
            if !small.isEmpty {
                let keys = small.take()
                try await tasks.add(to: &group, settling: settle) {
                    try await copyBatch(keys, to: destination, replacing: replacing, expiries: expiries)
                }
            }
            try await tasks.finish(&group, settling: settle)
            report.skipped += skipped
            if skipped > 0 { onProgress?(report) }
            return report
        }
    }

    /// Walks what ``copy(to:withPrefix:replacing:concurrency:chunkSize:expiries:onProgress:)``
    /// would do with the same arguments, writing nothing: calls `body` with the metadata of
    /// each entry the copy would write, in key order, and returns the report the copy would
    /// make (`copied` and `bytes` for those entries, `skipped` for the keys the destination
    /// holds when not replacing).
    ///
    ///     let plan = try await files.planCopy(to: archive, replacing: false) { print($0.key) }
    ///     print("\(plan.copied) to copy, \(plan.skipped) already there")
    ///
    /// Without replacing, both stores are listed in key order and walked side by side, so the
    /// keys the destination holds are known from its listing rather than asked one by one;
    /// the copy itself walks the same way, so running it again after an interruption reads
    /// and writes only what is still missing. The plan is not a snapshot: entries written
    /// meanwhile may or may not be seen.
    ///
    /// - Parameters:
    ///   - destination: The store a copy would write into.
    ///   - prefix: The bytes keys must start with. Defaults to `""`, every key.
    ///   - replacing: Whether a copy would overwrite keys the destination holds. Defaults to
    ///     `true`.
    ///   - expiries: What a copy would do with an expiry the destination cannot keep. Defaults
    ///     to ``ExpiryCopying/required``.
    ///   - body: Called with each entry a copy would write, one call at a time.
    /// - Returns: What a copy would report.
    /// - Throws: What the copy would throw before writing anything of the entry:
    ///   ``StoreError/Code/notSupported`` for an entry that expires when the destination cannot
    ///   keep an expiry and `expiries` is ``ExpiryCopying/required``, or when not replacing and
    ///   it has no ``StoreCapabilities/conditionalWrites``; the errors of either listing; what
    ///   `body` throws.
    @discardableResult
    public func planCopy(
        to destination: some KeyValueStore,
        withPrefix prefix: String = "",
        replacing: Bool = true,
        expiries: ExpiryCopying = .required,
        _ body: (EntryMetadata) async throws -> Void
    ) async throws -> CopyReport {
        if !replacing, !destination.capabilities.contains(.conditionalWrites) {
            throw StoreError(.notSupported, operation: .copy, store: destination.description,
                             message: "copying without replacing needs conditional writes, which the destination does not have")
        }
        let query = try ListQuery(prefix: prefix, includesMetadata: true)
        var plan = CopyReport()
        func planned(_ metadata: EntryMetadata) async throws {
            _ = try Self.expiry(of: metadata, in: destination, expiries: expiries)
            plan.copied += 1
            plan.bytes += metadata.size
            if metadata.expirationDate != nil, !destination.capabilities.contains(.expiration) { plan.expiriesDropped += 1 }
            try await body(metadata)
        }
        if replacing {
            for try await element in list(query, pageSize: 1000) {
                guard let metadata = element.metadata else { continue }
                try await planned(metadata)
            }
        } else {
            try await walk(query, beside: destination) { step in
                switch step {
                case .onlyInSource(let metadata): try await planned(metadata)
                case .inBoth: plan.skipped += 1
                case .onlyInDestination: break
                }
            }
        }
        return plan
    }

    /// Copies one entry on the server (see ``ServerSideCopying``).
    func copyOnServer(
        _ metadata: EntryMetadata, to destination: some KeyValueStore, replacing: Bool, expiries: ExpiryCopying
    ) async throws -> CopyReport {
        guard let server = self as? any ServerSideCopying else {
            throw StoreError(.notSupported, operation: .copy, key: metadata.key, store: description,
                             message: "the store cannot copy on the server")
        }
        var report = CopyReport()
        let expiry = try Self.expiry(of: metadata, in: destination, expiries: expiries)
        do {
            if let copied = try await server.copyOnServer(metadata.key, to: destination,
                                                          condition: replacing ? .always : .ifAbsent, expiry: expiry) {
                report.copied = 1
                report.bytes = copied.size
                if metadata.expirationDate != nil, expiry == .never { report.expiriesDropped = 1 }
            } else {
                report.skipped = 1   // gone since it was listed
            }
        } catch let error as StoreError where error.code == .conditionFailed && !replacing {
            report.skipped = 1
        }
        return report
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
    /// Adds `other`'s counts to this report's.
    public mutating func add(_ other: CopyReport) {
        copied += other.copied
        skipped += other.skipped
        bytes += other.bytes
        expiriesDropped += other.expiriesDropped
    }
}

/// Child tasks of a task group, at most `width` of them running at once: adding one when
/// `width` run waits for one to finish and settles it first.
struct BoundedTasks<Result: Sendable> {
    let width: Int
    private(set) var running = 0

    init(width: Int) { self.width = max(1, width) }

    /// Adds `operation` to `group` once fewer than `width` of these tasks run, passing each
    /// task that finished meanwhile to `settle`.
    mutating func add(
        to group: inout ThrowingTaskGroup<Result, any Error>, settling settle: (Result) throws -> Void,
        _ operation: @escaping @Sendable () async throws -> Result
    ) async throws {
        if running >= width, let done = try await group.next() {
            running -= 1
            try settle(done)
        }
        group.addTask(operation: operation)
        running += 1
    }

    /// Waits for every task of `group`, passing each to `settle`.
    mutating func finish(
        _ group: inout ThrowingTaskGroup<Result, any Error>, settling settle: (Result) throws -> Void
    ) async throws {
        while let done = try await group.next() {
            running -= 1
            try settle(done)
        }
    }
}
