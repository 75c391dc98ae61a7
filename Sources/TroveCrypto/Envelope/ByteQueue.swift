import Foundation

/// A first-in, first-out queue of bytes that hands out its front without moving the rest.
///
/// Streams append chunks of whatever size their source gives and take fixed-size pieces off
/// the front; removing from the front of a `Data` would copy what is left every time. The
/// consumed front is dropped only when it is at least half of the storage, so each byte is
/// copied a bounded number of times.
struct ByteQueue {
    private var storage = Data()
    private var readOffset = 0

    /// The number of bytes in the queue.
    var count: Int { storage.count - readOffset }

    /// Whether the queue holds no byte.
    var isEmpty: Bool { count == 0 }

    /// Appends `bytes` at the back.
    mutating func append(_ bytes: Data) {
        if readOffset > 0, readOffset >= storage.count / 2 {
            storage.removeSubrange(storage.startIndex..<storage.startIndex + readOffset)
            readOffset = 0
        }
        storage.append(bytes)
    }

    /// Removes and returns the first `byteCount` bytes (all of them if the queue holds fewer).
    mutating func removeFirst(upTo byteCount: Int) -> Data {
        let taken = Swift.min(Swift.max(0, byteCount), count)
        let start = storage.startIndex + readOffset
        let bytes = Data(storage[start..<start + taken])
        readOffset += taken
        if readOffset == storage.count {
            storage = Data()
            readOffset = 0
        }
        return bytes
    }

    /// Removes and returns every byte.
    mutating func removeAll() -> Data {
        removeFirst(upTo: count)
    }
}
