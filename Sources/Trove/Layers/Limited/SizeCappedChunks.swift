import Foundation
import Synchronization

/// The chunks of a value, passed through until their total exceeds a limit: the chunk that
/// crosses it is not passed on, and the sequence throws instead, so that a store writing it
/// stores nothing and nobody reads the source further.
///
/// The ``Tracker`` records the refusal, so that the layer can report it even when the store
/// beneath wraps the sequence's error in one of its own.
struct SizeCappedChunks<Chunks: AsyncSequence & Sendable>: AsyncSequence, Sendable where Chunks.Element == Data {
    typealias Element = Data

    /// What the sequence has seen, shared with the layer that made it (the store beneath may
    /// iterate on another thread).
    final class Tracker: Sendable {
        private struct State {
            var bytesPassed = 0
            var refusal: StoreError?
        }
        private let state = Mutex(State())

        /// The error thrown when the limit was exceeded, if it was.
        var refusal: StoreError? { state.withLock { $0.refusal } }

        /// Counts `count` more bytes if they fit under `limit`; otherwise records and returns
        /// the refusal that `makeRefusal` makes for the total.
        func pass(_ count: Int, limit: Int, makeRefusal: (Int) -> StoreError) -> StoreError? {
            state.withLock { state in
                if let refused = state.refusal { return refused }
                guard count <= limit - state.bytesPassed else {
                    let error = makeRefusal(state.bytesPassed + count)
                    state.refusal = error
                    return error
                }
                state.bytesPassed += count
                return nil
            }
        }
    }

    let chunks: Chunks
    /// The most bytes passed on.
    let limit: Int
    /// Makes the error for a value found to hold at least this many bytes.
    let refusal: @Sendable (Int) -> StoreError
    let tracker: Tracker

    struct AsyncIterator: AsyncIteratorProtocol {
        var inner: Chunks.AsyncIterator
        let limit: Int
        let refusal: @Sendable (Int) -> StoreError
        let tracker: Tracker

        mutating func next() async throws -> Data? {
            if let refused = tracker.refusal { throw refused }
            guard let chunk = try await inner.next() else { return nil }
            if let refused = tracker.pass(chunk.count, limit: limit, makeRefusal: refusal) { throw refused }
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(inner: chunks.makeAsyncIterator(), limit: limit, refusal: refusal, tracker: tracker)
    }
}
