public import Foundation
import Synchronization
public import Trove

/// A store over another that misbehaves on cue: the next calls of an operation fail with a
/// given error, fail after doing their work (the answer lost on the way back), stall until
/// cancelled, or run an action of the test's first; streams can stall after some chunks. It
/// counts the calls of each operation, the calls in flight, and the calls that saw their task
/// cancelled.
public final class FaultInjectingStore<Base: KeyValueStore>: KeyValueStore {
    /// The operations a fault can be set on.
    public enum Operation: String, Hashable, Sendable, CaseIterable {
        case read, readStream, metadata, write, streamedWrite, delete, discard, listPage, count
        case readBatch, writeBatch, deleteBatch
    }

    /// What a call does instead of, or besides, its work.
    public enum Fault: Sendable {
        /// Throws the error without doing anything.
        case fail(StoreError)
        /// Does the work, then throws the error: the answer was lost.
        case failAfterDoing(StoreError)
        /// Waits until the task is cancelled, then throws `CancellationError`.
        case stall
        /// Runs the action (which may change the base), then throws the error.
        case act(@Sendable () async throws -> Void, then: StoreError)
        /// For a stream: delivers this many chunks, then stalls until cancelled.
        case stallStream(afterChunks: Int)
        /// Waits this long, then does the work.
        case delay(Duration)
    }

    private struct State {
        var faults: [Operation: [Fault]] = [:]
        var calls: [Operation: Int] = [:]
        var inFlight = 0
        var mostInFlight = 0
        var cancellationsSeen = 0
    }

    /// The store beneath.
    public let base: Base
    private let state = Mutex(State())
    private let claimed: StoreCapabilities?

    /// A store over `base` with no faults yet, claiming `capabilities` (the base's by default).
    public init(base: Base, capabilities: StoreCapabilities? = nil) {
        self.base = base
        self.claimed = capabilities
    }

    public var description: String { "faulty \(base.description)" }
    public var capabilities: StoreCapabilities { claimed ?? base.capabilities }

    /// Makes the next `count` calls of `operation` suffer `fault` (after any faults already set).
    public func inject(_ fault: Fault, on operation: Operation, count: Int = 1) {
        state.withLock { $0.faults[operation, default: []] += Array(repeating: fault, count: count) }
    }

    /// How many times `operation` was called.
    public func calls(of operation: Operation) -> Int { state.withLock { $0.calls[operation] ?? 0 } }

    /// The most calls that were in flight at once.
    public var mostCallsInFlight: Int { state.withLock { $0.mostInFlight } }

    /// The calls in flight now.
    public var callsInFlight: Int { state.withLock { $0.inFlight } }

    /// How many stalled calls ended because their task was cancelled.
    public var cancellationsSeen: Int { state.withLock { $0.cancellationsSeen } }

    /// A retryable error of the kind a lost connection gives.
    public static func connectionLost(_ operation: StoreOperation = .read) -> StoreError {
        StoreError(.unavailable, operation: operation, message: "the connection was lost (injected)", isRetryable: true)
    }

    private func call<T>(_ operation: Operation, _ work: () async throws -> T) async throws -> T {
        let fault = state.withLock { state -> Fault? in
            state.calls[operation, default: 0] += 1
            state.inFlight += 1
            state.mostInFlight = max(state.mostInFlight, state.inFlight)
            guard var queue = state.faults[operation], !queue.isEmpty else { return nil }
            let first = queue.removeFirst()
            state.faults[operation] = queue
            return first
        }
        defer { state.withLock { $0.inFlight -= 1 } }
        switch fault {
        case nil, .stallStream?:
            return try await work()
        case .fail(let error)?:
            throw error
        case .failAfterDoing(let error)?:
            _ = try await work()
            throw error
        case .stall?:
            try await stallUntilCancelled()
            throw CancellationError()
        case .act(let action, let error)?:
            try await action()
            throw error
        case .delay(let duration)?:
            try await Task.sleep(for: duration)
            return try await work()
        }
    }

    private func stallUntilCancelled() async throws {
        do {
            while true { try await Task.sleep(for: .seconds(3600)) }
        } catch {
            state.withLock { $0.cancellationsSeen += 1 }
            throw error
        }
    }

    /// The stream fault set for the next stream, taken without consuming other faults.
    private func streamFault() -> Int? {
        state.withLock { state -> Int? in
            guard case .stallStream(let after)? = state.faults[.readStream]?.first else { return nil }
            state.faults[.readStream]?.removeFirst()
            return after
        }
    }

    public func read(_ key: StoreKey) async throws -> StoreEntry? {
        try await call(.read) { try await base.read(key) }
    }

    public func readStream(_ key: StoreKey, chunkSize: Int) async throws -> StreamedEntry? {
        let stallAfter = streamFault()
        guard let entry = try await call(.readStream, { try await base.readStream(key, chunkSize: chunkSize) }) else { return nil }
        guard let stallAfter else { return entry }
        let chunks = entry.chunks
        let stalled = ValueChunks { [self] in
            var iterator = chunks.makeAsyncIterator()
            var delivered = 0
            return ValueChunks.ChunkSource {
                if delivered == stallAfter { try await self.stallUntilCancelled() }
                delivered += 1
                return try await iterator.next()
            }
        }
        return entry.withChunks(stalled)
    }

    public func metadata(for key: StoreKey) async throws -> EntryMetadata? {
        try await call(.metadata) { try await base.metadata(for: key) }
    }

    public func write(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        try await call(.write) { try await base.write(value, for: key, options: options) }
    }

    public func write<Chunks: AsyncSequence & Sendable>(
        contentsOf chunks: Chunks, for key: StoreKey, options: WriteOptions
    ) async throws -> EntryMetadata where Chunks.Element == Data {
        try await call(.streamedWrite) { try await base.write(contentsOf: chunks, for: key, options: options) }
    }

    public func delete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool {
        try await call(.delete) { try await base.delete(key, condition: condition) }
    }

    public func discard(_ key: StoreKey) async throws {
        try await call(.discard) { try await base.discard(key) }
    }

    public func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
        try await call(.listPage) { try await base.listPage(query, after: cursor, limit: limit) }
    }

    public func count(withPrefix prefix: String) async throws -> Int {
        try await call(.count) { try await base.count(withPrefix: prefix) }
    }

    public func readBatch(_ keys: [StoreKey]) async throws -> [StoreEntry?] {
        try await call(.readBatch) { try await base.readBatch(keys) }
    }

    public func writeBatch(_ writes: [BatchWrite]) async throws -> [Result<EntryMetadata, StoreError>] {
        try await call(.writeBatch) { try await base.writeBatch(writes) }
    }

    public func deleteBatch(_ deletes: [BatchDelete]) async throws -> [Result<Void, StoreError>] {
        try await call(.deleteBatch) { try await base.deleteBatch(deletes) }
    }

    public func reclaimExpired() async throws -> Int { try await base.reclaimExpired() }
}

/// A clock for tests that never really sleeps: each sleep is recorded and moves the clock's
/// time forward by its length at once.
public final class SteppingClock: Clock, Sendable {
    /// A point of the clock's time: a duration since its start.
    public struct Instant: InstantProtocol {
        public var offset: Duration

        public func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        public func duration(to other: Instant) -> Duration { other.offset - offset }
        public static func < (left: Instant, right: Instant) -> Bool { left.offset < right.offset }
    }

    private let state = Mutex((now: Duration.zero, sleeps: [Duration]()))

    public init() {}

    public var now: Instant { Instant(offset: state.withLock { $0.now }) }
    public var minimumResolution: Duration { .nanoseconds(1) }

    /// Every sleep so far, in order.
    public var sleeps: [Duration] { state.withLock { $0.sleeps } }

    /// Moves the time forward without a sleep (as a slow call would).
    public func advance(by duration: Duration) { state.withLock { $0.now += duration } }

    public func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        try Task.checkCancellation()
        state.withLock { state in
            let length = max(.zero, deadline.offset - state.now)
            state.sleeps.append(length)
            state.now = max(state.now, deadline.offset)
        }
        await Task.yield()
    }
}
