public import Foundation

/// A store that tries an operation again when the store beneath fails with an error marked
/// ``StoreError/isRetryable`` (a lost connection, a server that is briefly unavailable, a
/// timeout), waiting a jittered, growing time between attempts.
///
///     let photos = s3.retrying()
///     let cat = try await photos.read("cat.jpg")   // up to 4 attempts within 10 s
///
/// Only what is safe to repeat is repeated: reads, metadata, counts, listing pages, batched
/// reads, unconditional writes and deletes, renewals of an expiry, reclaiming expired entries,
/// and unconditional batches. Errors not marked retryable (a missing permission, an invalid
/// key, a failed condition) are thrown at once. After the last attempt the last error is
/// thrown with its code, its message saying how many attempts were made.
///
/// A conditional write or delete (``WriteCondition/ifAbsent``, ``WriteCondition/ifMatches(_:)``,
/// ``DeleteCondition/ifMatches(_:)``) whose attempt failed may have taken effect anyway (the
/// request reached the server, the answer was lost): repeating it blindly would then report a
/// failed condition for its own success. So after such a failure the layer reads the key back
/// and decides:
/// - the key holds the bytes being written, with an ETag other than the one the write was
///   conditional on: the write took effect (or an identical one did), and its metadata is
///   returned; a conditional delete whose key is gone took effect likewise;
/// - the key is still as the condition requires (absent, or with the expected ETag): nothing
///   happened, and the operation is tried again;
/// - anything else (another value, or the key gone under `ifMatches`): the outcome cannot be
///   known from here, and ``StoreError/Code/outcomeUnknown`` is thrown, the last error as its
///   ``StoreError/underlying``.
/// Two writers that write identical bytes on condition of absence cannot be told apart this
/// way: make such values unique (a lease holds its owner's token) when it matters which one
/// won.
///
/// Not retried: streamed writes (``write(contentsOf:for:options:)``), since their chunks cannot
/// be read twice, and batches holding a conditional entry when the whole batch call fails
/// (entries of a batch that fail on their own, in a store without
/// ``StoreCapabilities/atomicBatches``, are retried one by one as above). A streamed read is
/// retried until its stream opens; a failure while reading its chunks is thrown as it is.
/// Listings are paged through ``listPage(_:after:limit:)``, so each page is retried.
///
/// Put a ``TimeoutStore`` inside this layer, not around it, so that a call that hangs is cut
/// short and retried: `store.withTimeouts(...).retrying()`, or `store.retrying().withTimeouts(...)`,
/// which places the timeouts inside by itself.
///
/// Capabilities: the base's.
public struct RetryingStore<Base: KeyValueStore>: KeyValueStore {
    /// The store beneath.
    public let base: Base
    /// When operations are tried again.
    public let policy: RetryPolicy
    let clock: RetryClock
    /// Told of each retry before its wait.
    let onRetry: (@Sendable (RetryEvent) -> Void)?

    /// Creates a store that retries `base`'s retryable failures under `policy`.
    ///
    /// - Parameters:
    ///   - base: The store to retry.
    ///   - policy: How often, within how long, with what waits. Defaults to
    ///     ``RetryPolicy/default``.
    ///   - clock: The clock that measures the time limit and sleeps between attempts. Defaults
    ///     to the continuous clock; tests pass one of their own.
    ///   - onRetry: Told of each retry, before its wait: to log it or count it. Defaults to
    ///     none.
    public init<C: Clock>(base: Base, policy: RetryPolicy = .default, clock: C = ContinuousClock(),
                          onRetry: (@Sendable (RetryEvent) -> Void)? = nil)
    where C.Duration == Duration {
        self.base = base
        self.policy = policy
        self.clock = RetryClock(clock)
        self.onRetry = onRetry
    }

    init(base: Base, policy: RetryPolicy, retryClock: RetryClock, onRetry: (@Sendable (RetryEvent) -> Void)?) {
        self.base = base
        self.policy = policy
        self.clock = retryClock
        self.onRetry = onRetry
    }

    /// The base store's description followed by `retrying`.
    public var description: String { "\(base.description) retrying" }

    /// The base store's capabilities.
    public var capabilities: StoreCapabilities { base.capabilities }

    // MARK: Reads

    /// The base's entry under `key`, retried.
    public func read(_ key: StoreKey) async throws -> StoreEntry? {
        try await retrying(.read, key) { try await base.read(key) }
    }

    /// The base's stream of `key`, retried until it opens.
    public func readStream(_ key: StoreKey, chunkSize: Int) async throws -> StreamedEntry? {
        try await retrying(.read, key) { try await base.readStream(key, chunkSize: chunkSize) }
    }

    /// The base's metadata for `key`, retried.
    public func metadata(for key: StoreKey) async throws -> EntryMetadata? {
        try await retrying(.metadata, key) { try await base.metadata(for: key) }
    }

    /// The base's entry under `key` under `options`, retried (renewing an expiry sets it anew,
    /// so a repeat does no harm).
    public func read(_ key: StoreKey, options: ReadOptions) async throws -> ReadOutcome<StoreEntry>? {
        try await retrying(.read, key) { try await base.read(key, options: options) }
    }

    /// The base's stream of `key` under `options`, retried until it opens.
    public func readStream(_ key: StoreKey, chunkSize: Int, options: ReadOptions) async throws -> ReadOutcome<StreamedEntry>? {
        try await retrying(.read, key) { try await base.readStream(key, chunkSize: chunkSize, options: options) }
    }

    /// The base's metadata for `key` under `options`, retried.
    public func metadata(for key: StoreKey, options: ReadOptions) async throws -> EntryMetadata? {
        try await retrying(.metadata, key) { try await base.metadata(for: key, options: options) }
    }

    /// The base's count, retried.
    public func count(withPrefix prefix: String) async throws -> Int {
        try await retrying(.count, nil) { try await base.count(withPrefix: prefix) }
    }

    /// The base's batched read, retried whole.
    public func readBatch(_ keys: [StoreKey]) async throws -> [StoreEntry?] {
        try await retrying(.read, keys.first) { try await base.readBatch(keys) }
    }

    /// One page of the base's listing, retried (a page after a cursor reads the same again).
    public func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
        try await retrying(.list, nil) { try await base.listPage(query, after: cursor, limit: limit) }
    }

    /// A listing paged through ``listPage(_:after:limit:)``, so that each page is retried.
    public func list(_ query: ListQuery, pageSize: Int) -> StoreListing {
        StoreListing(paging: self, query: query, pageSize: pageSize)
    }

    /// The base's URL for `key`, retried.
    public func url(for key: StoreKey, validFor lifetime: Duration) async throws -> URL? {
        try await retrying(.read, key) { try await base.url(for: key, validFor: lifetime) }
    }

    /// The base's reclaiming of expired entries, retried (the count may then miss entries an
    /// attempt that failed had already removed).
    public func reclaimExpired() async throws -> Int {
        try await retrying(.reclaim, nil) { try await base.reclaimExpired() }
    }

    // MARK: Writes and deletes

    /// Writes through the base: unconditional writes are retried; conditional ones are read
    /// back after a failure and retried only when nothing happened (see ``RetryingStore``).
    ///
    /// - Throws: ``StoreError/Code/outcomeUnknown`` when a conditional write failed and reading
    ///   the key back cannot tell whether it took effect; the base's errors.
    public func write(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        guard !options.condition.isAlways else {
            return try await retrying(.write, key) { try await base.write(value, for: key, options: options) }
        }
        return try await conditionalWrite(value, for: key, options: options, mayHaveLanded: false)
    }

    /// Writes through the base once: chunks cannot be read twice, so a streamed write is never
    /// repeated.
    public func write<Chunks: AsyncSequence & Sendable>(
        contentsOf chunks: Chunks, for key: StoreKey, options: WriteOptions
    ) async throws -> EntryMetadata where Chunks.Element == Data {
        try await base.write(contentsOf: chunks, for: key, options: options)
    }

    /// Deletes through the base: an unconditional delete is retried (after a retry, `false`
    /// can mean that an attempt that failed had deleted the value); a conditional one is
    /// checked as a conditional write is.
    ///
    /// - Throws: ``StoreError/Code/outcomeUnknown`` when a conditional delete failed and the
    ///   key now holds another version; the base's errors.
    public func delete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool {
        guard let expected = condition.expectedETag else {
            return try await retrying(.delete, key) { try await base.delete(key, condition: condition) }
        }
        return try await conditionalDelete(key, expecting: expected, mayHaveLanded: false)
    }

    /// Deletes through the base, retried.
    public func discard(_ key: StoreKey) async throws {
        try await retrying(.delete, key) { try await base.discard(key) }
    }

    /// Writes a batch through the base. A batch of unconditional writes is retried whole when
    /// the call fails; its entries that fail on their own are retried (the whole batch again
    /// in a store with ``StoreCapabilities/atomicBatches``, those entries alone otherwise). A
    /// batch holding a conditional write is sent once; in a store without atomic batches its
    /// entries that fail retryably are then resolved one by one as ``write(_:for:options:)``
    /// resolves them.
    public func writeBatch(_ writes: [BatchWrite]) async throws -> [Result<EntryMetadata, StoreError>] {
        let conditional = writes.contains { !$0.options.condition.isAlways }
        return try await retryingBatch(writes, conditional: conditional, send: { try await base.writeBatch($0) },
                                       resolve: { write in
            try await conditionalWrite(write.value, for: write.key, options: write.options, mayHaveLanded: true)
        }, single: { write in
            try await retrying(.write, write.key) { try await base.write(write.value, for: write.key, options: write.options) }
        })
    }

    /// Deletes a batch through the base, retried as ``writeBatch(_:)`` is.
    public func deleteBatch(_ deletes: [BatchDelete]) async throws -> [Result<Void, StoreError>] {
        let conditional = deletes.contains { $0.condition.expectedETag != nil }
        return try await retryingBatch(deletes, conditional: conditional, send: { try await base.deleteBatch($0) },
                                       resolve: { delete in
            guard let expected = delete.condition.expectedETag else {
                _ = try await retrying(.delete, delete.key) { try await base.delete(delete.key, condition: .always) }
                return
            }
            _ = try await conditionalDelete(delete.key, expecting: expected, mayHaveLanded: true)
        }, single: { delete in
            _ = try await retrying(.delete, delete.key) { try await base.delete(delete.key, condition: delete.condition) }
        })
    }

    // MARK: The retry loop

    /// Runs `body` until it succeeds, throws an error that is not retryable, or the policy's
    /// attempts or time run out.
    func retrying<T>(_ operation: StoreOperation, _ key: StoreKey?, _ body: () async throws -> T) async throws -> T {
        let elapsed = clock.start()
        var attempt = 1
        while true {
            do {
                return try await body()
            } catch let error as StoreError where error.isRetryable {
                try await waitToRetry(after: attempt, error, operation: operation, key: key, elapsed)
                attempt += 1
            }
        }
    }

    /// Tells the observer and waits before attempt `attempt + 1`; throws `error`, saying how
    /// many attempts were made, when the policy allows no more.
    private func waitToRetry(
        after attempt: Int, _ error: StoreError, operation: StoreOperation, key: StoreKey?, _ elapsed: RetryClock.Stopwatch
    ) async throws {
        guard let wait = wait(after: attempt, error, elapsed()) else {
            throw exhausted(error, attempts: attempt, elapsed())
        }
        onRetry?(RetryEvent(operation: operation, key: key, failedAttempt: attempt, error: error, wait: wait))
        try await clock.sleep(wait)
    }

    /// The wait before attempt `attempt + 1`, or `nil` when the policy allows no more.
    private func wait(after attempt: Int, _ error: StoreError, _ elapsed: Duration) -> Duration? {
        guard attempt < policy.attempts else { return nil }
        var wait = policy.backoff.jitteredWait(afterConflict: attempt)
        if let asked = error.retryAfter { wait = max(wait, asked) }
        guard elapsed + wait <= policy.timeLimit else { return nil }
        return wait
    }

    /// The last error, saying how many attempts were made.
    private func exhausted(_ error: StoreError, attempts: Int, _ elapsed: Duration) -> StoreError {
        guard attempts > 1 else { return error }
        var copy = error
        copy.message += " (gave up after \(attempts) attempts in \(Self.seconds(elapsed)))"
        return copy
    }

    static func seconds(_ duration: Duration) -> String {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return String(format: "%.2f s", seconds)
    }

    /// What reading a key back after a failed conditional attempt tells.
    private enum Resolution<T> {
        /// The attempt took effect; what the operation returns.
        case tookEffect(T)
        /// Nothing happened: the condition still holds, the attempt can be repeated.
        case nothingHappened
        /// The key is in a state that the attempt cannot explain either way.
        case unknown(String)
    }

    func conditionalWrite(
        _ value: Data, for key: StoreKey, options: WriteOptions, mayHaveLanded: Bool
    ) async throws -> EntryMetadata {
        try await resolvingConditional(key, operation: .write, mayHaveLanded: mayHaveLanded, judge: { current in
            if let expected = options.condition.expectedETag, current?.metadata.etag == expected { return .nothingHappened }
            if let current, current.value == value { return .tookEffect(current.metadata) }
            if current == nil, options.condition.requiresAbsence { return .nothingHappened }
            return .unknown(current == nil
                ? "the key holds no value now: the write may have been done and the value deleted since"
                : "the key holds another value now (\(current!.metadata.size) bytes): either it was written first, or this write was done and then replaced")
        }, attempt: { try await base.write(value, for: key, options: options) })
    }

    func conditionalDelete(_ key: StoreKey, expecting expected: ETag, mayHaveLanded: Bool) async throws -> Bool {
        try await resolvingConditional(key, operation: .delete, mayHaveLanded: mayHaveLanded, judge: { current in
            guard let current else { return .tookEffect(true) }
            if current.metadata.etag == expected { return .nothingHappened }
            return .unknown("the key holds another version now (ETag \(current.metadata.etag)): either it was written before the delete, or after it")
        }, attempt: { try await base.delete(key, condition: .ifMatches(expected)) })
    }

    /// Runs a conditional `attempt`; after a retryable failure (or at once, when an earlier
    /// call `mayHaveLanded`), reads the key back and lets `judge` say whether the attempt took
    /// effect, is to be repeated, or has an unknown outcome.
    private func resolvingConditional<T>(
        _ key: StoreKey, operation: StoreOperation, mayHaveLanded: Bool,
        judge: (StoreEntry?) -> Resolution<T>, attempt: () async throws -> T
    ) async throws -> T {
        let elapsed = clock.start()
        var attempts = 1
        var lastError: StoreError?
        var uncertain = mayHaveLanded
        while true {
            if uncertain {
                if case .tookEffect(let done) = try await readBack(key, operation: operation, after: lastError, judge) {
                    return done
                }
                if let lastError {
                    try await waitToRetry(after: attempts, lastError, operation: lastError.operation, key: key, elapsed)
                    attempts += 1
                }
            }
            do {
                return try await attempt()
            } catch let error as StoreError where error.isRetryable {
                lastError = error
                uncertain = true
            }
        }
    }

    /// Reads `key` (retried) and judges it with `judge`; throws
    /// ``StoreError/Code/outcomeUnknown`` when the judgement is unknown or the read fails.
    private func readBack<T>(
        _ key: StoreKey, operation: StoreOperation, after failure: StoreError?, _ judge: (StoreEntry?) -> Resolution<T>
    ) async throws -> Resolution<T> {
        let current: StoreEntry?
        do {
            current = try await retrying(.read, key) { try await base.read(key) }
        } catch let error as StoreError {
            throw StoreError(.outcomeUnknown, operation: operation, key: key, store: description,
                             message: "the conditional \(operation) failed (\(failure?.message ?? "an earlier attempt")), "
                                + "and reading the key back to learn whether it took effect failed too: \(error.message)",
                             underlying: failure ?? error)
        }
        let resolution = judge(current)
        if case .unknown(let why) = resolution {
            throw StoreError(.outcomeUnknown, operation: operation, key: key, store: description,
                             message: "the conditional \(operation) failed (\(failure?.message ?? "in a batch")), and whether it took effect is unknown: \(why)",
                             underlying: failure)
        }
        return resolution
    }

    /// Sends a batch, retrying as ``writeBatch(_:)`` describes.
    private func retryingBatch<Item: Sendable, Success: Sendable>(
        _ items: [Item], conditional: Bool,
        send: ([Item]) async throws -> [Result<Success, StoreError>],
        resolve: (Item) async throws -> Success,
        single: (Item) async throws -> Success
    ) async throws -> [Result<Success, StoreError>] {
        let atomic = base.capabilities.contains(.atomicBatches)
        if conditional {
            var results = try await send(items)
            guard !atomic else { return results }
            for index in results.indices {
                guard case .failure(let error) = results[index], error.isRetryable else { continue }
                do {
                    results[index] = .success(try await resolve(items[index]))
                } catch let error as StoreError {
                    results[index] = .failure(error)
                }
            }
            return results
        }
        var results = try await retrying(.write, nil) { try await send(items) }
        if atomic {
            // All or nothing: when an entry failed retryably, nothing was written, so the
            // whole batch goes again, as long as the policy allows.
            let elapsed = clock.start()
            var attempt = 1
            while let failure = results.lazy.compactMap({ result -> StoreError? in
                if case .failure(let error) = result, error.isRetryable { return error }
                return nil
            }).first {
                guard let wait = wait(after: attempt, failure, elapsed()) else { break }
                onRetry?(RetryEvent(operation: failure.operation, key: nil, failedAttempt: attempt, error: failure, wait: wait))
                try await clock.sleep(wait)
                attempt += 1
                results = try await retrying(.write, nil) { try await send(items) }
            }
            return results
        }
        for index in results.indices {
            guard case .failure(let error) = results[index], error.isRetryable else { continue }
            do {
                results[index] = .success(try await single(items[index]))
            } catch let error as StoreError {
                results[index] = .failure(error)
            }
        }
        return results
    }
}

/// A retry that a ``RetryingStore`` is about to make, for its `onRetry` observer.
public struct RetryEvent: Sendable, CustomStringConvertible {
    /// The kind of call being retried.
    public let operation: StoreOperation
    /// The key it is about; `nil` for listings, counts and batches.
    public let key: StoreKey?
    /// The attempt that failed, from 1.
    public let failedAttempt: Int
    /// Why it failed.
    public let error: StoreError
    /// How long the layer waits before the next attempt.
    public let wait: Duration

    /// `read attempt 1 failed (unavailable), retrying in 0.04 s`.
    public var description: String {
        "\(operation) attempt \(failedAttempt) failed (\(error.code)), retrying in \(RetryingStore<MemoryStore>.seconds(wait))"
    }
}
