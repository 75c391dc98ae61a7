import Crypto
import Foundation
import Synchronization
import Trove
import TroveTestSupport

/// A large value as a stream of 1 MiB chunks made on the fly (so the test never holds it
/// whole): a fixed pseudo-random mebibyte with the chunk's index written over its first eight
/// bytes, so that every chunk differs and a lost, doubled or misplaced chunk changes the digest.
///
/// `beforeChunk` runs before chunk `index` is handed over: a test's hook to act (kill a server)
/// at a known point of an upload.
struct PatternChunks: AsyncSequence, Sendable {
    typealias Element = Data
    typealias Failure = any Error

    static let chunkSize = 1 << 20
    static let block = patternedBytes(chunkSize, seed: 0x5EED_CAFE)

    /// How many chunks.
    let count: Int
    var beforeChunk: (@Sendable (Int) async throws -> Void)?

    /// The total size in bytes.
    var size: Int64 { Int64(count) * Int64(Self.chunkSize) }

    static func chunk(_ index: Int) -> Data {
        var data = block
        withUnsafeBytes(of: UInt64(index).littleEndian) { data.replaceSubrange(0..<8, with: $0) }
        return data
    }

    /// The SHA-256 of the whole value, computed chunk by chunk.
    var digest: SHA256.Digest {
        var hasher = SHA256()
        for index in 0..<count { hasher.update(data: Self.chunk(index)) }
        return hasher.finalize()
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let count: Int
        let beforeChunk: (@Sendable (Int) async throws -> Void)?
        var index = 0
        mutating func next() async throws -> Data? {
            guard index < count else { return nil }
            try await beforeChunk?(index)
            defer { index += 1 }
            return PatternChunks.chunk(index)
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(count: count, beforeChunk: beforeChunk) }
}

/// The size and SHA-256 of a streamed value, read to its end.
func sizeAndDigest(of entry: StreamedEntry) async throws -> (Int64, SHA256.Digest) {
    var hasher = SHA256()
    var size: Int64 = 0
    for try await chunk in entry.chunks {
        hasher.update(data: chunk)
        size += Int64(chunk.count)
    }
    return (size, hasher.finalize())
}

/// Runs `body` in a task of its own and waits at most `limit` for it, so that a call that
/// never returns fails the test (the task is then cancelled and left behind) instead of
/// holding the run.
///
/// - Throws: What `body` throws, or ``TestFailure`` when it did not end within `limit`.
func withinDeadline<T: Sendable>(_ limit: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let outcome = Mutex<Result<T, any Error>?>(nil)
    let task = Task {
        let result: Result<T, any Error>
        do { result = .success(try await body()) } catch { result = .failure(error) }
        outcome.withLock { $0 = result }
    }
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if let result = outcome.withLock({ $0 }) { return try result.get() }
        try await Task.sleep(for: .milliseconds(20))
    }
    task.cancel()
    throw TestFailure("\(what) did not end within \(limit)")
}
