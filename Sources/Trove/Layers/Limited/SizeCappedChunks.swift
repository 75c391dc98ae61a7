import Foundation

/// The chunks of a value, passed through until their total exceeds a limit: the chunk that
/// crosses it is not passed on, and the sequence throws instead, so that a store writing it
/// stores nothing and nobody reads the source further.
///
/// The ``Tracker`` records the refusal, so that the layer can report it even when the store
/// beneath wraps the sequence's error in one of its own.
struct SizeCappedChunks<Chunks: AsyncSequence>: AsyncSequence where Chunks.Element == Data {
    typealias Element = Data

    /// What the sequence has seen, shared with the layer that made it (within one task).
    final class Tracker {
        /// The bytes passed on so far.
        var bytesPassed = 0
        /// The error thrown when the limit was exceeded, if it was.
        var refusal: StoreError?
    }

    let chunks: Chunks
    /// The most bytes passed on.
    let limit: Int
    /// Makes the error for a value found to hold at least this many bytes.
    let refusal: (Int) -> StoreError
    let tracker: Tracker

    struct AsyncIterator: AsyncIteratorProtocol {
        var inner: Chunks.AsyncIterator
        let limit: Int
        let refusal: (Int) -> StoreError
        let tracker: Tracker

        mutating func next() async throws -> Data? {
            if let refused = tracker.refusal { throw refused }
            guard let chunk = try await inner.next() else { return nil }
            guard chunk.count <= limit - tracker.bytesPassed else {
                let error = refusal(tracker.bytesPassed + chunk.count)
                tracker.refusal = error
                throw error
            }
            tracker.bytesPassed += chunk.count
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(inner: chunks.makeAsyncIterator(), limit: limit, refusal: refusal, tracker: tracker)
    }
}
