import Foundation
import Synchronization

/// The rest of a value stream whose first bytes (an envelope) were already read: the bytes read
/// past the envelope, then the stream's remaining chunks, cut to at most `chunkSize` bytes each.
///
/// The iterator that was reading the stream is handed over once, to the first iterator made of
/// the returned sequence; as any ``ValueChunks``, the sequence can be read only once, and a second
/// iteration throws ``StoreError/Code/invalidArgument``.
final class EnvelopedStreamRemainder: Sendable {
    private let handoff: Mutex<(pending: Data, iterator: ValueChunks.AsyncIterator)?>

    private init(pending: Data, iterator: sending ValueChunks.AsyncIterator) {
        handoff = Mutex((pending, iterator))
    }

    /// The remaining chunks of the stream `iterator` was reading, starting with `pending`.
    static func chunks(pending: Data, iterator: sending ValueChunks.AsyncIterator, chunkSize: Int) -> ValueChunks {
        let remainder = EnvelopedStreamRemainder(pending: pending, iterator: iterator)
        let chunkSize = Swift.max(1, chunkSize)
        return ValueChunks {
            let taken = remainder.handoff.withLock { state in state.take() }
            let isFirstIteration = taken != nil
            var pending = taken?.pending ?? Data()
            var iterator = taken?.iterator
            return ValueChunks.ChunkSource {
                guard isFirstIteration else {
                    throw StoreError(.invalidArgument, operation: .read,
                                     message: "a value stream can be read only once; open it again to read it again")
                }
                while pending.isEmpty {
                    guard var source = iterator else { return nil }
                    guard let chunk = try await source.next() else {
                        iterator = nil
                        return nil
                    }
                    iterator = source
                    pending = chunk
                }
                if pending.count <= chunkSize {
                    defer { pending = Data() }
                    return pending
                }
                let piece = Data(pending.prefix(chunkSize))
                pending = Data(pending.dropFirst(chunkSize))
                return piece
            }
        }
    }
}
