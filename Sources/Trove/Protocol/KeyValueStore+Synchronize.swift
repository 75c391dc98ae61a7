import Foundation

/// One step of ``KeyValueStore/synchronize(to:withPrefix:byContent:maximumDeletes:dryRun:concurrency:comparisonConcurrency:chunkSize:expiries:onStep:)``,
/// reported as it is done (or, in a dry run, as it is planned).
public struct SynchronizationStep: Hashable, Sendable {
    /// What a step does to the destination.
    ///
    /// A struct rather than an enum, so that new actions can be added without breaking code
    /// that switches over the existing ones.
    public struct Action: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case copy
            case delete
        }

        private let base: Base

        private init(_ base: Base) { self.base = base }

        /// The source's entry is written to the destination (it was missing there, or differed).
        public static var copy: Self { Self(.copy) }
        /// The destination's entry, which the source does not hold, is deleted.
        public static var delete: Self { Self(.delete) }

        /// The action's name, such as `copy`.
        public var description: String { base.rawValue }
    }

    /// What the step does.
    public var action: Action
    /// The key it concerns.
    public var key: StoreKey
    /// The bytes copied (the source value's size); 0 for a deletion.
    public var bytes: Int64
    /// Whether the step was only planned (a dry run) rather than done.
    public var isPlanned: Bool

    /// Creates a step.
    public init(action: Action, key: StoreKey, bytes: Int64, isPlanned: Bool) {
        self.action = action
        self.key = key
        self.bytes = bytes
        self.isPlanned = isPlanned
    }
}

/// What ``KeyValueStore/synchronize(to:withPrefix:byContent:maximumDeletes:dryRun:concurrency:comparisonConcurrency:chunkSize:expiries:onStep:)``
/// did, or in a dry run would do.
public struct SynchronizationReport: Hashable, Sendable {
    /// The entries written to the destination because it lacked them or held other values.
    public var copied = 0
    /// The bytes of the values copied.
    public var bytes: Int64 = 0
    /// The destination's entries deleted because the source does not hold them.
    public var deleted = 0
    /// The keys both stores held with equal values, left alone.
    public var unchanged = 0
    /// The source's entries that disappeared or expired before they could be copied.
    public var vanished = 0
    /// The entries copied without the expiry they have in the source, because the destination
    /// cannot keep one (only with ``ExpiryCopying/droppedWhereUnsupported``).
    public var expiriesDropped = 0
    /// Whether this is a plan (a dry run): nothing was written or deleted.
    public var isDryRun = false

    /// Creates an empty report.
    public init() {}
}

extension KeyValueStore {
    /// Makes the entries under `prefix` in `destination` the same as in this store: copies
    /// what the destination lacks or holds differently, then deletes what only the destination
    /// holds.
    ///
    ///     let report = try await files.synchronize(to: backup, withPrefix: "photos/", maximumDeletes: 100)
    ///     print("\(report.copied) copied, \(report.deleted) deleted")
    ///
    /// The two stores are compared as ``compare(with:withPrefix:byContent:concurrency:chunkSize:)``
    /// does, walking both listings side by side in key order; each key missing in the
    /// destination or differing is copied as
    /// ``copy(to:withPrefix:replacing:concurrency:chunkSize:expiries:onProgress:)`` copies it (streamed, keeping
    /// its expiry, or on the server where this store is ``ServerSideCopying`` into
    /// `destination`), `concurrency` keys at a time, while the walk goes on; with `byContent`,
    /// `comparisonConcurrency` comparisons run beside them. The keys only the
    /// destination holds are collected during the walk and deleted after it, and only if every
    /// copy succeeded: a failed copy throws its error and deletes nothing. Synchronizing is
    /// not one atomic step, and the stores are not frozen meanwhile.
    ///
    /// Without `byContent`, a key differs when its sizes differ, or when the source's value was
    /// modified after the destination's was written: a copy is written after its original, so
    /// a source value changed since the last synchronization is newer than its copy, whatever
    /// its size. (Times come from each store's clock; a destination whose clock runs ahead of
    /// the source's by more than the time between a change and the next run can miss it. A
    /// destination that keeps times to the second, as S3 does, can make a value copied within
    /// the second its original was written look older than it: it is copied again, a wasted
    /// copy but never a missed one.)
    /// With `byContent`, sizes and bytes decide and times are ignored: values of equal size are
    /// read from both stores and compared. So they do, whatever `byContent` says, when either
    /// store does not keep modification dates (``StoreCapabilities/modificationDate``).
    ///
    /// - Parameters:
    ///   - destination: The store to make equal to this one under `prefix`.
    ///   - prefix: The bytes keys must start with. Defaults to `""`, every key.
    ///   - byContent: Whether values of equal size are read and compared byte by byte.
    ///     Defaults to `false`: sizes and modification times decide.
    ///   - maximumDeletes: The most deletions allowed, or `nil` for no limit. Defaults to
    ///     `nil`. When the destination holds more extra keys than this, nothing is deleted and
    ///     ``StoreError/Code/limitExceeded`` is thrown, after the copies (which are kept).
    ///   - dryRun: Whether to only plan: compare (reading values with `byContent`), report each
    ///     step with ``SynchronizationStep/isPlanned`` set, and write or delete nothing.
    ///     Defaults to `false`. The limit on deletions, and the refusal to copy an entry that
    ///     expires into a store that cannot keep an expiry, apply to a dry run too, so it
    ///     predicts the real run.
    ///   - concurrency: How many keys are copied at once. Defaults to 8.
    ///   - comparisonConcurrency: How many pairs of values are read and compared at once with
    ///     `byContent`, beside the copies. Defaults to 8.
    ///   - chunkSize: The size of the chunks values stream in. Defaults to 1 MiB.
    ///   - expiries: What happens to the expiry of an entry when the destination cannot keep
    ///     one. Defaults to ``ExpiryCopying/required``.
    ///   - onStep: Called once per copy and per deletion, done or planned, one call at a time
    ///     (not concurrently), in the task that called `synchronize`. Defaults to `nil`.
    /// - Returns: How many entries were copied, deleted and left alone, and how many bytes.
    /// - Throws: The first ``StoreError`` of either store, naming the key (copies made before
    ///   it stay, nothing is deleted); ``StoreError/Code/limitExceeded`` as above;
    ///   ``StoreError/Code/invalidArgument`` when `prefix` cannot be a listing prefix or
    ///   `maximumDeletes` is negative; ``StoreError/Code/notSupported`` when an entry expires,
    ///   `destination` has no ``StoreCapabilities/expiration`` and `expiries` is
    ///   ``ExpiryCopying/required``.
    @discardableResult
    public func synchronize(
        to destination: some KeyValueStore,
        withPrefix prefix: String = "",
        byContent: Bool = false,
        maximumDeletes: Int? = nil,
        dryRun: Bool = false,
        concurrency: Int = 8,
        comparisonConcurrency: Int = 8,
        chunkSize: Int = 1 << 20,
        expiries: ExpiryCopying = .required,
        onStep: ((SynchronizationStep) -> Void)? = nil
    ) async throws -> SynchronizationReport {
        if let maximumDeletes, maximumDeletes < 0 {
            throw StoreError(.invalidArgument, operation: .synchronize, store: destination.description,
                             message: "the maximum number of deletions must not be negative, not \(maximumDeletes)")
        }
        let query = try ListQuery(prefix: prefix, includesMetadata: true)
        let copyWidth = max(1, concurrency), comparisonWidth = max(1, comparisonConcurrency)
        let onServer = canCopyOnServer(to: destination)
        // Dates decide only where both stores keep them: a store that reports the moment it
        // answered would make every value look newer (or older) than its copy.
        let readsContent = byContent || !capabilities.contains(.modificationDate)
            || !destination.capabilities.contains(.modificationDate)
        var report = SynchronizationReport()
        report.isDryRun = dryRun
        var extras: [StoreKey] = []
        try await withThrowingTaskGroup(of: SynchronizationOutcome.self) { group in
            // Two kinds of task share the group: comparisons (at most comparisonWidth) and
            // copies (at most copyWidth). Entries to copy wait in `waiting` for a copy's turn.
            var comparing = 0, copying = 0
            var waiting: [EntryMetadata] = [], nextWaiting = 0
            func planned(_ metadata: EntryMetadata) throws {
                let expiry = try Self.expiry(of: metadata, in: destination, expiries: expiries)
                report.copied += 1
                report.bytes += metadata.size
                let dropped = metadata.expirationDate != nil && expiry == .never
                if dropped { report.expiriesDropped += 1 }
                onStep?(SynchronizationStep(action: .copy, key: metadata.key, bytes: metadata.size, isPlanned: true))
            }
            func startWaitingCopies() throws {
                while copying < copyWidth, nextWaiting < waiting.count {
                    let metadata = waiting[nextWaiting]
                    nextWaiting += 1
                    if dryRun {
                        try planned(metadata)
                        continue
                    }
                    group.addTask {
                        let copy = onServer
                            ? try await copyOnServer(metadata, to: destination, replacing: true, expiries: expiries)
                            : try await copyEntry(metadata.key, to: destination, replacing: true, chunkSize: chunkSize,
                                                  expiries: expiries)
                        guard copy.copied == 1 else { return .vanished(wasCopy: true) }
                        return .copied(metadata.key, copy.bytes, expiryDropped: copy.expiriesDropped == 1)
                    }
                    copying += 1
                }
                if nextWaiting == waiting.count { (waiting, nextWaiting) = ([], 0) }
            }
            func settle(_ outcome: SynchronizationOutcome) throws {
                switch outcome {
                case .copied(let key, let bytes, let expiryDropped):
                    copying -= 1
                    report.copied += 1
                    report.bytes += bytes
                    if expiryDropped { report.expiriesDropped += 1 }
                    onStep?(SynchronizationStep(action: .copy, key: key, bytes: bytes, isPlanned: false))
                case .compared(let metadata, let differs):
                    comparing -= 1
                    if differs { waiting.append(metadata) } else { report.unchanged += 1 }
                case .vanished(let wasCopy):
                    if wasCopy { copying -= 1 } else { comparing -= 1 }
                    report.vanished += 1
                }
                try startWaitingCopies()
            }
            func settleNext() async throws {
                if let outcome = try await group.next() { try settle(outcome) }
            }
            try await walk(query, beside: destination) { step in
                switch step {
                case .onlyInDestination(let target):
                    extras.append(target.key)
                case .onlyInSource(let source):
                    waiting.append(source)
                    try startWaitingCopies()
                    while waiting.count - nextWaiting >= copyWidth { try await settleNext() }
                case .inBoth(let source, let target):
                    let sameSize = source.size == target.size
                    if sameSize, !readsContent, source.modificationDate <= target.modificationDate {
                        report.unchanged += 1
                    } else if sameSize, readsContent {
                        while comparing >= comparisonWidth { try await settleNext() }
                        let key = source.key
                        group.addTask {
                            let verdict = try await compareContent(of: key, with: destination, chunkSize: chunkSize)
                            switch verdict.outcome {
                            case .matching: return .compared(source, differs: false)
                            case .vanished: return .vanished(wasCopy: false)
                            case .difference(let difference):
                                return difference.sourceSize == nil ? .vanished(wasCopy: false) : .compared(source, differs: true)
                            }
                        }
                        comparing += 1
                    } else {
                        waiting.append(source)
                        try startWaitingCopies()
                        while waiting.count - nextWaiting >= copyWidth { try await settleNext() }
                    }
                }
            }
            try startWaitingCopies()
            while let outcome = try await group.next() { try settle(outcome) }
        }
        if let maximumDeletes, extras.count > maximumDeletes {
            throw StoreError(.limitExceeded, operation: .synchronize, store: destination.description,
                             message: "synchronizing would delete \(extras.count == 1 ? "1 key" : "\(extras.count) keys")\(prefix.isEmpty ? "" : " under '\(StoreKey.escape(prefix))'") that the source does not hold, more than the \(maximumDeletes) allowed; nothing was deleted")
        }
        var start = extras.startIndex
        while start < extras.endIndex {
            let batch = extras[start..<min(start + 1000, extras.endIndex)]
            start = batch.endIndex
            if !dryRun {
                try Task.checkCancellation()
                let results = try await destination.deleteBatch(batch.map { BatchDelete($0) })
                for result in results { try result.get() }
            }
            for key in batch {
                report.deleted += 1
                onStep?(SynchronizationStep(action: .delete, key: key, bytes: 0, isPlanned: dryRun))
            }
        }
        return report
    }
}

/// What synchronizing one key came to.
private enum SynchronizationOutcome: Sendable {
    /// A copy was written.
    case copied(StoreKey, Int64, expiryDropped: Bool)
    /// Two values of equal size were read; `differs` when their bytes are not equal.
    case compared(EntryMetadata, differs: Bool)
    /// The source no longer held the key when it was compared or copied.
    case vanished(wasCopy: Bool)
}
