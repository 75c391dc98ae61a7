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
/// dropped. Each call starts on the caller's thread, so one that answers without waiting (a
/// memory store's) costs little more than the call itself, and one that holds its thread
/// without waiting (a system call on a file system that hangs) cannot be cut short: the
/// caller gets the timeout once the call first waits, if the limit has passed by then. A
/// write that timed out may therefore still take effect afterwards, which is why a
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
    /// The deadlines of this store's control calls that wait, one watchdog task for them all.
    private let watch: DeadlineWatch

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
        self.watch = DeadlineWatch(clock: self.clock)
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

    /// Runs `body` within ``callLimit``. The call runs in a task of its own, started at once on
    /// the caller's thread: one that answers without waiting (a memory store's, a local
    /// file's) returns straight away, with no deadline to keep. One that waits is put on the
    /// store's watch, which fails it with ``StoreError/Code/timedOut`` and cancels its task
    /// at the limit, counted from the call's start, whether or not the task has stopped.
    /// Cancelling the caller cancels the task.
    private func limited<T: Sendable>(
        _ operation: StoreOperation, _ key: StoreKey?, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try Task.checkCancellation()
        let deadline = clock.reading() + callLimit
        let call = LimitedCall()
        let task = Self.startAtOnce {
            defer { call.finish() }
            return try await body()
        }
        guard !call.isFinished else { return try await task.value }
        let timedOut = await withTaskCancellationHandler {
            await call.waitForEnd(on: watch, deadline: deadline)
        } onCancel: {
            task.cancel()
        }
        guard timedOut else { return try await task.value }
        task.cancel()
        throw StoreError(.timedOut, operation: operation, key: key, store: description,
                         message: "no answer within \(callLimit); the call was cancelled", isRetryable: true)
    }

    /// A task running `operation`, started on the caller's thread where the platform can,
    /// so that an operation that never waits costs no switch of thread.
    private static func startAtOnce<T: Sendable>(_ operation: sending @escaping () async throws -> T) -> Task<T, any Error> {
        if #available(macOS 26.0, iOS 26.0, watchOS 26.0, tvOS 26.0, visionOS 26.0, *) {
            return Task.immediate(operation: operation)
        }
        return Task(operation: operation)
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

/// A control call of a ``TimeoutStore``: whether it ended, and the caller waiting for it to
/// end or for its deadline, whichever comes first.
private final class LimitedCall: DeadlineTarget, Sendable {
    private struct State {
        var finished = false
        var waiter: CheckedContinuation<Bool, Never>?
        var watch: DeadlineWatch?
        var watchID: UInt64 = 0
    }

    private let state = Mutex(State())

    /// Whether the call ended.
    var isFinished: Bool { state.withLock { $0.finished } }

    /// Waits until the call ends (`false`) or `deadline` on `watch` passes first (`true`).
    func waitForEnd(on watch: DeadlineWatch, deadline: Duration) async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let ended = state.withLock { state -> Bool in
                if state.finished { return true }
                state.waiter = continuation
                state.watch = watch
                state.watchID = watch.add(self, deadline: deadline)
                return false
            }
            if ended { continuation.resume(returning: false) }
        }
    }

    /// The call ended: a waiting caller goes on to its answer.
    func finish() {
        let taken = state.withLock { state -> (CheckedContinuation<Bool, Never>, DeadlineWatch?, UInt64)? in
            state.finished = true
            guard let waiter = state.waiter else { return nil }
            state.waiter = nil
            return (waiter, state.watch, state.watchID)
        }
        guard let (waiter, watch, id) = taken else { return }
        watch?.remove(id)
        waiter.resume(returning: false)
    }

    /// The deadline passed before the call ended: the waiting caller times out.
    func deadlinePassed() {
        let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: true)
    }
}

/// What a ``DeadlineWatch`` tells when its deadline passes.
private protocol DeadlineTarget: AnyObject, Sendable {
    func deadlinePassed()
}

/// The deadlines of one store's waiting calls, kept by one task that sleeps until the
/// earliest and runs only while there are some: no timer per call.
private final class DeadlineWatch: Sendable {
    private struct State {
        var entries: [UInt64: (deadline: Duration, target: any DeadlineTarget)] = [:]
        var nextID: UInt64 = 0
        /// When the watching task wakes next; `nil` when none runs.
        var wakesAt: Duration?
        /// The running task's generation: a task of an older one ends when it wakes.
        var generation = 0
    }

    private let clock: RetryClock
    private let state = Mutex(State())

    init(clock: RetryClock) { self.clock = clock }

    /// Watches `target` until `deadline` (a reading of the clock); returns its id.
    func add(_ target: any DeadlineTarget, deadline: Duration) -> UInt64 {
        let (id, start) = state.withLock { state -> (UInt64, Int?) in
            state.nextID += 1
            state.entries[state.nextID] = (deadline, target)
            if let wakesAt = state.wakesAt, wakesAt <= deadline { return (state.nextID, nil) }
            state.generation += 1
            state.wakesAt = deadline
            return (state.nextID, state.generation)
        }
        if let start { Task.detached { await self.watch(generation: start) } }
        return id
    }

    /// Stops watching the entry `id`.
    func remove(_ id: UInt64) {
        _ = state.withLock { $0.entries.removeValue(forKey: id) }
    }

    private func watch(generation: Int) async {
        while true {
            let now = clock.reading()
            let (due, next) = state.withLock { state -> ([any DeadlineTarget], Duration?) in
                guard state.generation == generation else { return ([], nil) }
                var due: [(id: UInt64, target: any DeadlineTarget)] = [], next: Duration?
                for (id, entry) in state.entries {
                    if entry.deadline <= now {
                        due.append((id, entry.target))
                    } else if next.map({ entry.deadline < $0 }) ?? true {
                        next = entry.deadline
                    }
                }
                for entry in due { state.entries[entry.id] = nil }
                state.wakesAt = next
                return (due.map(\.target), next)
            }
            for target in due { target.deadlinePassed() }
            guard let next else { return }
            do {
                try await clock.sleep(next - now)
            } catch {
                return
            }
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
