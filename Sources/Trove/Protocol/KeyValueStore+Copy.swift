import Foundation

/// What ``KeyValueStore/copy(to:withPrefix:replacing:concurrency:chunkSize:onProgress:)`` did.
public struct CopyReport: Hashable, Sendable {
    /// The entries written to the destination.
    public var copied = 0
    /// The entries left alone because the destination already held the key (only when not
    /// replacing), or because they disappeared or expired in the source before they were read.
    public var skipped = 0
    /// The bytes of the values copied.
    public var bytes: Int64 = 0

    /// Creates an empty report.
    public init() {}
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
    ///   - onProgress: Called after each value or batch with the totals so far, one call at a time (not
    ///     concurrently), in the task that called `copy`. Defaults to `nil`.
    /// - Returns: How many entries were copied and skipped, and how many bytes.
    /// - Throws: The first ``StoreError`` of either store, naming the key (entries copied before
    ///   it stay copied); ``StoreError/Code/notSupported`` when an entry expires and
    ///   `destination` has no ``StoreCapabilities/expiration``, or when not replacing and it has
    ///   no ``StoreCapabilities/conditionalWrites``.
    @discardableResult
    public func copy(
        to destination: some KeyValueStore,
        withPrefix prefix: String = "",
        replacing: Bool = true,
        concurrency: Int = 8,
        chunkSize: Int = 1 << 20,
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
                    try await start { try await copyBatch(keys, to: destination, replacing: replacing) }
                } else {
                    let key = metadata.key
                    try await start { try await copyEntry(key, to: destination, replacing: replacing, chunkSize: chunkSize) }
                }
            }
            if !small.isEmpty {
                let keys = small.take()
                try await start { try await copyBatch(keys, to: destination, replacing: replacing) }
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
    func copyBatch(_ keys: [StoreKey], to destination: some KeyValueStore, replacing: Bool) async throws -> CopyReport {
        var report = CopyReport()
        var writes: [BatchWrite] = []
        for (key, entry) in zip(keys, try await readBatch(keys)) {
            guard let entry else {
                report.skipped += 1   // gone or expired since it was listed
                continue
            }
            var options = WriteOptions(condition: replacing ? .always : .ifAbsent)
            if let expiration = entry.metadata.expirationDate {
                guard destination.capabilities.contains(.expiration) else {
                    throw StoreError(.notSupported, operation: .copy, key: key, store: destination.description,
                                     message: "the entry expires, and the destination cannot keep an expiry")
                }
                options.expiry = .at(expiration)
            }
            writes.append(BatchWrite(key, entry.value, options: options))
        }
        guard !writes.isEmpty else { return report }
        for (write, result) in zip(writes, try await destination.writeBatch(writes)) {
            if case .success = result {
                report.copied += 1
                report.bytes += Int64(write.value.count)
                continue
            }
            do {
                _ = try await destination.write(write.value, for: write.key, options: write.options)
                report.copied += 1
                report.bytes += Int64(write.value.count)
            } catch let error as StoreError where error.code == .conditionFailed && !replacing {
                report.skipped += 1
            }
        }
        return report
    }

    func copyEntry(
        _ key: StoreKey, to destination: some KeyValueStore, replacing: Bool, chunkSize: Int
    ) async throws -> CopyReport {
        var report = CopyReport()
        try await withReadStream(key, chunkSize: chunkSize) { stream in
            guard let stream else {
                report.skipped = 1
                return
            }
            var options = WriteOptions(condition: replacing ? .always : .ifAbsent,
                                       expectedSize: stream.metadata.size)
            if let expiration = stream.metadata.expirationDate {
                guard destination.capabilities.contains(.expiration) else {
                    throw StoreError(.notSupported, operation: .copy, key: key, store: destination.description,
                                     message: "the entry expires, and the destination cannot keep an expiry")
                }
                options.expiry = .at(expiration)
            }
            do {
                _ = try await destination.write(contentsOf: stream.chunks, for: key, options: options)
                report.copied = 1
                report.bytes = stream.metadata.size
            } catch let error as StoreError where error.code == .conditionFailed && !replacing {
                report.skipped = 1
            }
        }
        return report
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
    }
}
