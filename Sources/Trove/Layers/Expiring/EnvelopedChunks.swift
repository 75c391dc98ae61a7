import Foundation

/// The chunks of a value with a header in front: the header first, then every chunk of `chunks`
/// as it comes, so an enveloped value streams without being held whole.
struct EnvelopedChunks<Chunks: AsyncSequence & Sendable>: AsyncSequence, Sendable where Chunks.Element == Data {
    typealias Element = Data

    /// The bytes that go first.
    let header: Data
    /// The value's own chunks.
    let chunks: Chunks

    struct AsyncIterator: AsyncIteratorProtocol {
        var header: Data?
        var inner: Chunks.AsyncIterator

        mutating func next() async throws -> Data? {
            if let header {
                self.header = nil
                return header
            }
            return try await inner.next()
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(header: header, inner: chunks.makeAsyncIterator())
    }
}
