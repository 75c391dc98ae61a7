import Foundation
import Trove

extension ContractCheck {
    /// A value of ``ConformanceEnvironment/largeValueSize`` bytes (64 MiB by default), written
    /// with `write(contentsOf:)` from chunks produced on the fly, reads back through
    /// `readStream` byte for byte, each chunk compared with the generator at its offset and no
    /// chunk far larger than asked for; the check never holds the whole value.
    ///
    /// Under a value size limit (``ConformanceEnvironment/maximumValueSize``) the large values
    /// shrink to fit, and the sizes the check would have used must be refused with
    /// `StoreError.Code.valueTooLarge`, changing nothing.
    public static let largeStreamedValue = ContractCheck(
        "largeStreamedValue",
        "a 64 MiB value streams in and out in chunks, byte for byte"
    ) { try await StreamingChecks.largeStreamedValue($0) }

    /// A streamed write is one atomic step: while its chunks are still coming, readers see the
    /// previous value; a chunk source that fails midway leaves the previous value (or the
    /// absence of one) untouched and the error surfaces; a read stream abandoned after one
    /// chunk does not keep the key from being overwritten or deleted.
    ///
    /// Under a value size limit (``ConformanceEnvironment/maximumValueSize``) the large values
    /// shrink to fit, and the sizes the check would have used must be refused with
    /// `StoreError.Code.valueTooLarge`, changing nothing.
    public static let streamedWriteAtomicity = ContractCheck(
        "streamedWriteAtomicity",
        "a streamed write is atomic: readers see the old value until it commits; a failed source changes nothing"
    ) { try await StreamingChecks.streamedWriteAtomicity($0) }
}

/// The bodies of the streaming checks.
enum StreamingChecks {
    static func largeStreamedValue(_ c: CheckContext) async throws {
        let key: StoreKey = "large/value"
        // With a value size limit below the large size, that size is refused and the limit streamed instead.
        try await c.expectRefusedIfTooLarge(size: c.environment.largeValueSize, key: "large/refused", whole: false)
        let size = c.valueSize(c.environment.largeValueSize)
        let pattern = BytePattern(seed: 0x64_4D69_42)
        let source = PatternChunks(pattern: pattern, size: size, chunkSize: 1_000_003)

        let written = try await c.store.set(contentsOf: source, for: key)
        try c.expectEqual(written.size, Int64(size), "a streamed write reported the wrong size", key: key)
        try c.expectEqual(try await c.store.metadata(for: key)?.size, Int64(size), "metadata of a streamed value", key: key)

        let chunkSize = 1 << 20
        guard let stream = try await c.store.readStream(key, chunkSize: chunkSize) else {
            throw c.failure("readStream of a large value returned nil", key: key)
        }
        try c.expectEqual(stream.metadata.size, Int64(size), "readStream's metadata reported the wrong size", key: key)
        try c.expectEqual(stream.metadata.etag, written.etag, "readStream's metadata reported another ETag", key: key)
        var offset = 0
        var chunks = 0
        for try await chunk in stream.chunks {
            chunks += 1
            try c.expect(chunk.count <= 4 * chunkSize, "readStream returned a chunk far larger than asked for", key: key,
                         expected: "about \(chunkSize) bytes", got: "\(chunk.count) bytes in chunk \(chunks)")
            try c.expect(offset + chunk.count <= size, "readStream returned more bytes than the value holds", key: key,
                         expected: "\(size) bytes", got: "at least \(offset + chunk.count)")
            let expected = pattern.bytes(at: offset, count: chunk.count)
            if chunk != expected {
                let index = zip(chunk, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? 0
                throw c.failure("a streamed value came back with different bytes", key: key,
                                expected: "the generator's bytes", got: "a difference at byte \(offset + index) (chunk \(chunks))")
            }
            offset += chunk.count
        }
        try c.expectEqual(offset, size, "readStream returned the wrong number of bytes", key: key)

        // An empty streamed write, and an empty value streamed out.
        let empty: StoreKey = "large/empty"
        let emptyWritten = try await c.store.set(contentsOf: PatternChunks(pattern: pattern, size: 0, chunkSize: 1), for: empty)
        try c.expectEqual(emptyWritten.size, 0, "a streamed write of no chunks", key: empty)
        try c.expectValue(try await c.store.read(empty)?.value, Data(), "a streamed write of no chunks must store an empty value", key: empty)
    }

    static func streamedWriteAtomicity(_ c: CheckContext) async throws {
        let key: StoreKey = "stream/atomic"
        let old = CheckContext.bytes("the old value")
        let oldMetadata = try await c.store.set(old, for: key)
        let pattern = BytePattern(seed: 3)
        // With a value size limit below 256 KiB, 256 KiB are refused and the chunks shrunk to fit.
        try await c.expectRefusedIfTooLarge(size: 4 * 65_536, key: key)
        let chunkSize = Swift.min(65_536, c.maximumValueSize / 4)
        let chunks = (0..<4).map { pattern.bytes(at: $0 * chunkSize, count: chunkSize) }
        let whole = chunks.reduce(Data(), +)

        // While the chunks come, readers see the old value.
        let store = c.store
        let observed = Box<[String]>([])
        let watching = ScriptedChunks(chunks: chunks, failAt: nil) { index in
            let entry = try await store.read(key)
            let listed = try await store.metadata(for: key)
            if entry?.value != old || entry?.metadata.etag != oldMetadata.etag || listed?.etag != oldMetadata.etag {
                observed.update { $0.append("before chunk \(index): \(entry.map { describe($0.value) } ?? "nil")") }
            }
        }
        let committed = try await c.store.set(contentsOf: watching, for: key)
        try c.expectEqual(observed.value, [], "readers must see the old value until a streamed write commits", key: key)
        try c.expectValue(try await c.store.read(key)?.value, whole, "the value after a streamed write", key: key)

        // A source that fails midway changes nothing, and its error surfaces.
        for target: StoreKey in [key, "stream/fresh"] {
            let before = try await c.store.read(target)
            do {
                try await c.store.set(contentsOf: ScriptedChunks(chunks: chunks, failAt: 2) { _ in }, for: target)
                throw c.failure("a streamed write whose source failed must throw", key: target)
            } catch is ScriptedChunks.SourceFailed {
            } catch let error as StoreError {
                try c.expect(error.code != .conditionFailed && error.code != .notSupported,
                             "a failed chunk source was reported with a misleading code", key: target, got: error.description)
            }
            let after = try await c.store.read(target)
            try c.expectEqual(after?.value, before?.value, "a streamed write whose source failed changed the value", key: target)
            try c.expectEqual(after?.metadata.etag, before?.metadata.etag, "a streamed write whose source failed changed the ETag", key: target)
        }
        try c.expectEqual(try await c.names(.all), ["stream/atomic"], "a failed streamed write must not leave a key behind")
        try c.expectEqual(try await c.store.metadata(for: key)?.etag, committed.etag, "the committed version after failed writes", key: key)

        // A read stream abandoned after one chunk does not hold the key.
        guard let stream = try await c.store.readStream(key, chunkSize: 4096) else {
            throw c.failure("readStream of a stored value returned nil", key: key)
        }
        for try await chunk in stream.chunks {
            try c.expectValue(chunk, whole.prefix(chunk.count), "the first chunk of a read stream", key: key)
            break
        }
        try await c.store.set(old, for: key)
        try c.expectValue(try await c.store.read(key)?.value, old, "an overwrite after an abandoned read stream", key: key)
        try c.expect(try await c.store.delete(key), "a delete after an abandoned read stream must return true", key: key)
        try c.expect(try await c.store.read(key) == nil, "a key deleted after an abandoned read stream still reads", key: key)
    }
}
