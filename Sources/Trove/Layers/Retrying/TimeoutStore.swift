public import Foundation
import Synchronization

/// A store whose calls give up after a time limit: each call to the store beneath that has not
/// answered within ``callLimit`` is cancelled and fails with ``StoreError/Code/timedOut``
/// (marked retryable), and a stream that delivers no chunk for ``idleLimit`` fails the same
/// way, however long the whole transfer takes.
///
///     let store = s3.withTimeouts(call: .seconds(5), idle: .seconds(30)).retrying()
///
/// The caller gets the error at the limit even when the store beneath does not honour
/// cancellation at once; its call is cancelled and its answer, should it come later, is
/// dropped. A write that timed out may therefore still take effect afterwards, which is why a
/// ``RetryingStore`` around this layer reads conditional writes back before repeating them.
/// Streamed writes are limited by their progress: the store beneath must take a chunk within
/// ``idleLimit`` of the previous one, and answer within ``callLimit`` of the last. Listings are
/// paged through ``listPage(_:after:limit:)``, each page within ``callLimit``.
///
/// Put this layer inside a ``RetryingStore``, never around one: around it, one limit would
/// bound all the attempts together. `retrying().withTimeouts(...)` on a ``RetryingStore``
/// places the timeouts inside by itself.
///
/// Capabilities: the base's.
public struct TimeoutStore<Base: KeyValueStore>: KeyValueStore {
    /// The store beneath.
    public let base: Base
    /// The longest a call may take to answer.
    public let callLimit: Duration
    /// The longest a stream may go without delivering (or, for a write, taking) a chunk.
    public let idleLimit: Duration
    let clock: RetryClock

    /// Creates a store that limits the time of `base`'s calls.
    ///
    /// - Parameters:
    ///   - base: The store to limit.
    ///   - callLimit: The longest a call may take to answer. Defaults to 30 seconds.
    ///   - idleLimit: The longest a stream may go without a chunk. Defaults to 30 seconds.
    ///   - clock: The clock that measures the limits. Defaults to the continuous clock.
    public init<C: Clock>(base: Base, callLimit: Duration = .seconds(30), idleLimit: Duration = .seconds(30),
                          clock: C = ContinuousClock()) where C.Duration == Duration {
        self.base = base
        self.callLimit = callLimit
        self.idleLimit = idleLimit
        self.clock = RetryClock(clock)
    }

    /// The base store's description followed by the limits.
    public var description: String { "\(base.description) timing out after \(callLimit)" }

    /// The base store's capabilities.
    public var capabilities: StoreCapabilities { base.capabilities }

    // MARK: Calls

    /// The base's entry under `key`, within ``callLimit``.
    public func read(_ key: StoreKey) async throws -> StoreEntry? {
        try await limited(.read, key) { try await base.read(key) }
    }

    /// The base's stream of `key`: opened within ``callLimit``, each chunk within ``idleLimit``.
    public func readStream(_ key: StoreKey, chunkSize: Int) async throws -> StreamedEntry? {
        try await limited(.read, key) { try await base.readStream(key, chunkSize: chunkSize) }.map { watched($0, key) }
    }

    /// The base's metadata for `key`, within ``callLimit``.
    public func metadata(for key: StoreKey) async throws -> EntryMetadata? {
        try await limited(.metadata, key) { try await base.metadata(for: key) }
    }

    /// The base's entry under `key` under `options`, within ``callLimit``.
    public func read(_ key: StoreKey, options: ReadOptions) async throws -> ReadOutcome<StoreEntry>? {
        try await limited(.read, key) { try await base.read(key, options: options) }
    }

    /// The base's stream of `key` under `options`, limited as ``readStream(_:chunkSize:)`` is.
    public func readStream(_ key: StoreKey, chunkSize: Int, options: ReadOptions) async throws -> ReadOutcome<StreamedEntry>? {
        guard let outcome = try await limited(.read, key, { try await base.readStream(key, chunkSize: chunkSize, options: options) }) else {
            return nil
        }
        switch outcome {
        case .unchanged(let metadata): return .unchanged(metadata)
        case .value(let entry): return .value(watched(entry, key))
        }
    }

    /// The base's metadata for `key` under `options`, within ``callLimit``.
    public func metadata(for key: StoreKey, options: ReadOptions) async throws -> EntryMetadata? {
        try await limited(.metadata, key) { try await base.metadata(for: key, options: options) }
    }

    /// The base's write, within ``callLimit``.
    public func write(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        try await limited(.write, key) { try await base.write(value, for: key, options: options) }
    }

    /// The base's streamed write: each chunk taken within ``idleLimit`` of the previous one,
    /// the answer within ``callLimit`` of the last.
    public func write<Chunks: AsyncSequence & Sendable>(
        contentsOf chunks: Chunks, for key: StoreKey, options: WriteOptions
    ) async throws -> EntryMetadata where Chunks.Element == Data {
        let progress = WriteProgress(clock: clock)
        let counted = ValueChunks {
            var iterator = chunks.makeAsyncIterator()
            return ValueChunks.ChunkSource {
                progress.startedWaitingForChunk()
                let chunk = try await iterator.next()
                progress.handedOver(chunk)
                return chunk
            }
        }
        return try await race(.write, key, deadline: { try await progress.sleepUntilStalled(idle: idleLimit, answer: callLimit) },
                              limitText: { [idleLimit, callLimit] in "took no chunk for \(idleLimit), or gave no answer \(callLimit) after the last" }) {
            try await base.write(contentsOf: counted, for: key, options: options)
        }
    }

    /// The base's delete, within ``callLimit``.
    public func delete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool {
        try await limited(.delete, key) { try await base.delete(key, condition: condition) }
    }

    /// The base's delete, within ``callLimit``.
    public func discard(_ key: StoreKey) async throws {
        try await limited(.delete, key) { try await base.discard(key) }
    }

    /// One page of the base's listing, within ``callLimit``.
    public func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
        try await limited(.list, nil) { try await base.listPage(query, after: cursor, limit: limit) }
    }

    /// A listing paged through ``listPage(_:after:limit:)``, each page within ``callLimit``.
    public func list(_ query: ListQuery, pageSize: Int) -> StoreListing {
        StoreListing(paging: self, query: query, pageSize: pageSize)
    }

    /// The base's count, within ``callLimit``.
    public func count(withPrefix prefix: String) async throws -> Int {
        try await limited(.count, nil) { try await base.count(withPrefix: prefix) }
    }

    /// The base's batched read, within ``callLimit``.
    public func readBatch(_ keys: [StoreKey]) async throws -> [StoreEntry?] {
        try await limited(.read, keys.first) { try await base.readBatch(keys) }
    }

    /// The base's batched write, within ``callLimit``.
    public func writeBatch(_ writes: [BatchWrite]) async throws -> [Result<EntryMetadata, StoreError>] {
        try await limited(.write, writes.first?.key) { try await base.writeBatch(writes) }
    }

    /// The base's batched delete, within ``callLimit``.
    public func deleteBatch(_ deletes: [BatchDelete]) async throws -> [Result<Void, StoreError>] {
        try await limited(.delete, deletes.first?.key) { try await base.deleteBatch(deletes) }
    }

    /// The base's URL for `key`, within ``callLimit``.
    public func url(for key: StoreKey, validFor lifetime: Duration) async throws -> URL? {
        try await limited(.read, key) { try await base.url(for: key, validFor: lifetime) }
    }

    /// The base's reclaiming, within ``callLimit``.
    public func reclaimExpired() async throws -> Int {
        try await limited(.reclaim, nil) { try await base.reclaimExpired() }
    }

    // MARK: Racing a call against its limit

    private func limited<T: Sendable>(
        _ operation: StoreOperation, _ key: StoreKey?, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let limit = callLimit, clock = clock
        return try await race(operation, key, deadline: { try await clock.sleep(limit) },
                              limitText: { "no answer within \(limit)" }, body)
    }

    /// Runs `body` and `deadline` side by side: the first to finish decides. When `deadline`
    /// returns first, `body` is cancelled and ``StoreError/Code/timedOut`` thrown at once,
    /// whether or not `body` has stopped. Cancelling the caller cancels both.
    private func race<T: Sendable>(
        _ operation: StoreOperation, _ key: StoreKey?, deadline: @escaping @Sendable () async throws -> Void,
        limitText: @escaping @Sendable () -> String, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let timeout = { @Sendable [self] in
            StoreError(.timedOut, operation: operation, key: key, store: description,
                       message: "\(limitText()); the call was cancelled", isRetryable: true)
        }
        let outcome = OneShot<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                let call = Task {
                    do {
                        outcome.finish(with: .success(try await body()))
                    } catch {
                        outcome.finish(with: .failure(error))
                    }
                }
                let timer = Task {
                    do {
                        try await deadline()
                        outcome.finish(with: .failure(timeout()))
                    } catch {
                        // Cancelled: the call finished first, or the caller was cancelled.
                    }
                }
                outcome.start(continuation, tasks: [call, timer])
            }
        } onCancel: {
            outcome.cancelTasks()
        }
    }

    /// `entry` with its chunks failing after ``idleLimit`` without one.
    private func watched(_ entry: StreamedEntry, _ key: StoreKey) -> StreamedEntry {
        let chunks = entry.chunks, idle = idleLimit, clock = clock, store = description
        let watchedChunks = ValueChunks {
            let iterator = SharedChunkIterator(chunks.makeAsyncIterator())
            return ValueChunks.ChunkSource {
                try await TimeoutStore.nextChunk(of: iterator, idle: idle, clock: clock, key: key, store: store)
            }
        }
        return StreamedEntry(metadata: entry.metadata, chunks: watchedChunks, closer: entry.closer)
    }

    private static func nextChunk(
        of iterator: SharedChunkIterator, idle: Duration, clock: RetryClock, key: StoreKey, store: String
    ) async throws -> Data? {
        if let failure = iterator.failure { throw failure }
        let outcome = OneShot<Data?>()
        let timeout = StoreError(.timedOut, operation: .read, key: key, store: store,
                                 message: "the stream delivered no chunk for \(idle); reading was cancelled", isRetryable: true)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Data?, any Error>) in
                let read = Task {
                    do {
                        outcome.finish(with: .success(try await iterator.next()))
                    } catch {
                        outcome.finish(with: .failure(error))
                    }
                }
                let timer = Task {
                    do {
                        try await clock.sleep(idle)
                        iterator.fail(timeout)
                        outcome.finish(with: .failure(timeout))
                    } catch {}
                }
                outcome.start(continuation, tasks: [read, timer])
            }
        } onCancel: {
            outcome.cancelTasks()
        }
    }
}

/// A result delivered once to a continuation, by whichever of several tasks gets there first;
/// the others are then cancelled.
private final class OneShot<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var result: Result<T, any Error>?
        var tasks: [Task<Void, Never>] = []
        var done = false
        var cancelled = false
    }

    private let state = Mutex(State())

    /// Hands over the continuation and the racing tasks; delivers a result that came first.
    func start(_ continuation: CheckedContinuation<T, any Error>, tasks: [Task<Void, Never>]) {
        let (early, cancel) = state.withLock { state -> (Result<T, any Error>?, Bool) in
            state.tasks = tasks
            if let result = state.result {
                state.done = true
                return (result, true)
            }
            state.continuation = continuation
            return (nil, state.cancelled)
        }
        if cancel { tasks.forEach { $0.cancel() } }
        if let early { continuation.resume(with: early) }
    }

    /// Delivers `result` if nothing was delivered yet, and cancels the other tasks.
    func finish(with result: Result<T, any Error>) {
        let (continuation, tasks) = state.withLock { state -> (CheckedContinuation<T, any Error>?, [Task<Void, Never>]) in
            guard !state.done, state.result == nil else { return (nil, []) }
            guard let continuation = state.continuation else {
                state.result = result
                return (nil, [])
            }
            state.done = true
            state.continuation = nil
            return (continuation, state.tasks)
        }
        guard let continuation else { return }
        tasks.forEach { $0.cancel() }
        continuation.resume(with: result)
    }

    /// Cancels the racing tasks (the caller was cancelled); the call's own answer, a
    /// cancellation error most likely, is still delivered.
    func cancelTasks() {
        let tasks = state.withLock { state -> [Task<Void, Never>] in
            state.cancelled = true
            return state.tasks
        }
        tasks.forEach { $0.cancel() }
    }
}

/// A chunk iterator that one reader at a time uses from successive tasks; once a chunk timed
/// out, it fails every later call instead of touching the iterator while the stalled call may
/// still be inside it.
private final class SharedChunkIterator: @unchecked Sendable {
    private var iterator: ValueChunks.AsyncIterator
    private let failed = Mutex<StoreError?>(nil)

    init(_ iterator: ValueChunks.AsyncIterator) { self.iterator = iterator }

    var failure: StoreError? { failed.withLock { $0 } }

    func fail(_ error: StoreError) { failed.withLock { $0 = error } }

    // Called by one task at a time: the reader awaits each call before the next, and after a
    // timeout no further call reaches the iterator.
    func next() async throws -> Data? { try await iterator.next() }
}

/// When a streamed write last made progress, for its watchdog.
private final class WriteProgress: Sendable {
    private struct State {
        var lastProgress: Duration = .zero
        var waitingForSource = false
        var finished = false
    }

    private let elapsed: RetryClock.Stopwatch
    private let sleep: @Sendable (Duration) async throws -> Void
    private let state = Mutex(State())

    init(clock: RetryClock) {
        elapsed = clock.start()
        sleep = clock.sleep
    }

    /// The store beneath asked for the next chunk: until the caller's chunks deliver it, the
    /// wait is theirs, not the store's.
    func startedWaitingForChunk() {
        state.withLock { $0.waitingForSource = true }
    }

    func handedOver(_ chunk: Data?) {
        let now = elapsed()
        state.withLock {
            $0.lastProgress = now
            $0.waitingForSource = false
            if chunk == nil { $0.finished = true }
        }
    }

    /// Returns once the write took no chunk for `idle` (or, after the last chunk, got no answer
    /// for `answer`).
    func sleepUntilStalled(idle: Duration, answer: Duration) async throws {
        while true {
            let (last, waiting, finished) = state.withLock { ($0.lastProgress, $0.waitingForSource, $0.finished) }
            if waiting {
                try await sleep(idle)
                continue
            }
            let due = last + (finished ? answer : idle)
            let now = elapsed()
            if now >= due { return }
            try await sleep(due - now)
        }
    }
}
