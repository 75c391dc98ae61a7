import Foundation

extension WriteOnceStore {
    /// Whether `chunks` hold exactly the bytes of `stored`, reading both a chunk at a time.
    ///
    /// Stops at the first difference, and stops reading `chunks` as soon as they hold more bytes
    /// than the stored value, so a different value is never read whole.
    static func sameBytes<Chunks: AsyncSequence & Sendable>(
        _ chunks: Chunks, as stored: StreamedEntry
    ) async throws -> Bool where Chunks.Element == Data {
        let storedSize = stored.metadata.size
        var storedChunks = stored.chunks.makeAsyncIterator()
        var pending = Data()  // stored bytes read but not compared yet
        var compared: Int64 = 0
        for try await chunk in chunks {
            compared += Int64(chunk.count)
            if compared > storedSize { return false }
            var offset = chunk.startIndex
            while offset < chunk.endIndex {
                if pending.isEmpty {
                    guard let next = try await storedChunks.next() else { return false }
                    pending = next
                    continue
                }
                let count = Swift.min(pending.count, chunk.endIndex - offset)
                guard equalBytes(chunk[offset..<(offset + count)], pending.prefix(count)) else { return false }
                offset += count
                pending = pending.dropFirst(count)
            }
        }
        guard compared == storedSize, pending.isEmpty else { return false }
        while let next = try await storedChunks.next() {
            if !next.isEmpty { return false }
        }
        return true
    }

    /// Whether two byte runs of the same length are equal.
    private static func equalBytes(_ lhs: Data, _ rhs: Data) -> Bool {
        guard lhs.count == rhs.count else { return false }
        return lhs.withUnsafeBytes { left in
            rhs.withUnsafeBytes { right in
                guard let leftBase = left.baseAddress, let rightBase = right.baseAddress else { return true }
                return memcmp(leftBase, rightBase, left.count) == 0
            }
        }
    }
}
