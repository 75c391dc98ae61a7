import Foundation
import Synchronization
import Trove

/// Deterministic pseudo-random bytes that can be produced from any offset, so that a large
/// value can be written and checked a chunk at a time without ever being held whole.
struct BytePattern: Sendable {
    /// Selects the sequence; different seeds give unrelated bytes.
    let seed: UInt64

    /// The `count` bytes that start at `offset`.
    func bytes(at offset: Int, count: Int) -> Data {
        var data = Data(count: count)
        guard count > 0 else { return data }
        data.withUnsafeMutableBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            var position = offset
            var written = 0
            while written < count {
                let word = BytePattern.mix(seed &+ UInt64(position >> 3)).littleEndian
                let skip = position & 7
                let take = min(8 - skip, count - written)
                if skip == 0, take == 8 {
                    base.storeBytes(of: word, toByteOffset: written, as: UInt64.self)
                } else {
                    withUnsafeBytes(of: word) { wordBytes in
                        (base + written).copyMemory(from: wordBytes.baseAddress! + skip, byteCount: take)
                    }
                }
                written += take
                position += take
            }
        }
        return data
    }

    /// SplitMix64's finaliser: a good 64-bit mix of `value`.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A value of `size` bytes of a ``BytePattern``, produced in chunks of `chunkSize` as they are
/// asked for.
struct PatternChunks: AsyncSequence, Sendable {
    typealias Element = Data

    let pattern: BytePattern
    let size: Int
    let chunkSize: Int
    /// Counts the bytes produced, when given, to see how far a store read the source.
    var produced: Box<Int>? = nil

    struct AsyncIterator: AsyncIteratorProtocol {
        let pattern: BytePattern
        let size: Int
        let chunkSize: Int
        let produced: Box<Int>?
        var offset = 0

        mutating func next() async throws -> Data? {
            guard offset < size else { return nil }
            let count = Swift.min(chunkSize, size - offset)
            defer { offset += count }
            produced?.update { $0 += count }
            return pattern.bytes(at: offset, count: count)
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(pattern: pattern, size: size, chunkSize: Swift.max(1, chunkSize), produced: produced)
    }
}

/// The chunks of a value, with a hook that runs before each chunk after the first (to look at
/// the store while a streamed write is under way) and an optional failure after some chunks.
struct ScriptedChunks: AsyncSequence, Sendable {
    typealias Element = Data

    /// The error a scripted source throws to simulate a writer that dies mid-value.
    struct SourceFailed: Error, Sendable, CustomStringConvertible {
        var description: String { "the chunk source failed on purpose" }
    }

    let chunks: [Data]
    /// Throw ``SourceFailed`` instead of producing the chunk at this index.
    let failAt: Int?
    /// Runs before producing each chunk after the first, with the chunk's index.
    let between: @Sendable (Int) async throws -> Void

    struct AsyncIterator: AsyncIteratorProtocol {
        let sequence: ScriptedChunks
        var index = 0

        mutating func next() async throws -> Data? {
            guard index < sequence.chunks.count else { return nil }
            if index > 0 { try await sequence.between(index) }
            if sequence.failAt == index { throw SourceFailed() }
            defer { index += 1 }
            return sequence.chunks[index]
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(sequence: self) }
}

/// A value that tasks can set and read, for recording what concurrent work observed.
final class Box<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>
    init(_ value: Value) { storage = Mutex(value) }
    var value: Value { storage.withLock { $0 } }
    func update<Result: Sendable>(_ body: @Sendable (inout Value) -> Result) -> Result { storage.withLock { body(&$0) } }
}

/// A small seeded generator, so that sampling checks are repeatable.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 1
        return BytePattern.mix(state)
    }
}
