import Foundation
import Trove
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The value of write number `serial` in the crash test: 8 bytes of the serial, then a length
/// that varies with it (4 KiB to 36 KiB) of one byte derived from it, so that any mix of two
/// writes, or a cut, is detectable.
func crashTestValue(_ serial: Int) -> Data {
    var value = Data(count: 8)
    value.withUnsafeMutableBytes { $0.storeBytes(of: UInt64(serial).littleEndian, as: UInt64.self) }
    value.append(Data(repeating: UInt8(truncatingIfNeeded: serial % 251), count: (serial % 9 + 1) * 4096))
    return value
}

/// Writes the values of `serials` to `crash/0` … `crash/15` in turn, printing each serial once
/// written.
func writeLoop(in store: some KeyValueStore, serials: Range<Int>) async throws {
    for serial in serials {
        try await store.set(crashTestValue(serial), for: try StoreKey(validating: "crash/\(serial % 16)"))
        // One line per acknowledged write, flushed at once so the killer sees it.
        let line = Data("\(serial)\n".utf8)
        line.withUnsafeBytes { _ = write(1, $0.baseAddress, $0.count) }
    }
}

/// A failure of the streamed round trip.
struct StreamMismatch: Error, CustomStringConvertible {
    let description: String
}

/// Streams `mebibytes` MiB in and back out, checking every byte; returns the growth of the
/// peak resident set, in KiB.
func streamRoundTrip(in store: some KeyValueStore, mebibytes: Int) async throws -> Int {
    let before = peakResidentKiB()
    let chunkSize = 1 << 20
    let chunks = GeneratedChunks(count: mebibytes, size: chunkSize)
    let written = try await store.set(contentsOf: chunks, for: "streamed")
    guard written.size == Int64(mebibytes * chunkSize) else {
        throw StreamMismatch(description: "wrote \(written.size) bytes, expected \(mebibytes * chunkSize)")
    }
    guard let entry = try await store.readStream("streamed", chunkSize: chunkSize) else {
        throw StreamMismatch(description: "the streamed value is missing")
    }
    var offset = 0
    for try await chunk in entry.chunks {
        let index = offset / chunkSize
        guard offset % chunkSize == 0, chunk == GeneratedChunks.chunk(index, size: chunk.count) else {
            throw StreamMismatch(description: "the chunk at byte \(offset) differs from what was written")
        }
        offset += chunk.count
    }
    guard offset == mebibytes * chunkSize else {
        throw StreamMismatch(description: "read \(offset) bytes, expected \(mebibytes * chunkSize)")
    }
    return peakResidentKiB() - before
}

/// The process's peak resident set size (VmHWM), in KiB.
func peakResidentKiB() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return 0 }
    return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
}

/// Chunks made one at a time as they are asked for, so that the writer never holds the whole
/// value: chunk `i` is `size` bytes of `i % 251`.
struct GeneratedChunks: AsyncSequence, Sendable {
    typealias Element = Data
    let count: Int
    let size: Int

    static func chunk(_ index: Int, size: Int) -> Data {
        Data(repeating: UInt8(index % 251), count: size)
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let count: Int
        let size: Int
        var index = 0

        mutating func next() async -> Data? {
            guard index < count else { return nil }
            defer { index += 1 }
            return GeneratedChunks.chunk(index, size: size)
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(count: count, size: size) }
}

/// Writes one line on standard output at once (no buffering), so that a parent process sees
/// every line written before this process is killed.
func emit(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Enqueues the numbers `numbers`, in order, into the queue `namespace` of `store`, `batch` at
/// a time (with `enqueue(contentsOf:)` when more than 1).
func produce(into store: any KeyValueStore, namespace: KeyNamespace, numbers: Range<Int>, batch: Int) async throws {
    let queue = try DurableQueue<Int>(store: store, namespace: namespace)
    if batch == 1 {
        for number in numbers { try await queue.enqueue(number) }
        return
    }
    var start = numbers.lowerBound
    while start < numbers.upperBound {
        let end = min(start + batch, numbers.upperBound)
        try await queue.enqueue(contentsOf: start..<end)
        start = end
    }
}

/// Dequeues and acknowledges elements of the queue `namespace` of `store` until the queue is
/// empty and `doneKey` exists (the producers have finished), one at a time or, with `batch`
/// over 1, up to `batch` at a time. Prints `acking N` before each acknowledgement and `acked N`
/// once it returned.
func consume(
    from store: any KeyValueStore, namespace: KeyNamespace, lease: Duration, doneKey: StoreKey, batch: Int
) async throws {
    let queue = try DurableQueue<Int>(store: store, namespace: namespace,
                                      configuration: .init(leaseDuration: lease))
    while batch > 1 {
        let deliveries = try await queue.dequeue(upTo: batch)
        if deliveries.isEmpty {
            if try await store.contains(doneKey), try await queue.isEmpty() { return }
            try await Task.sleep(for: .milliseconds(20))
            continue
        }
        for delivery in deliveries { emit("acking \(delivery.element)") }
        let lost = Set(try await queue.acknowledge(contentsOf: deliveries.map(\.receipt)))
        for delivery in deliveries where !lost.contains(delivery.receipt) { emit("acked \(delivery.element)") }
    }
    while true {
        if let delivery = try await queue.dequeue(waitingUpTo: .milliseconds(200)) {
            emit("acking \(delivery.element)")
            try await queue.acknowledge(delivery.receipt)
            emit("acked \(delivery.element)")
        } else if try await store.contains(doneKey), try await queue.isEmpty() {
            return
        }
    }
}
