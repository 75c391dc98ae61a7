import Foundation
import Trove

/// The values the reliability campaigns write: each one says what it is, so that a torn value,
/// a value cut short, or the head of one write joined to the tail of another is detected without
/// any record kept elsewhere.
///
/// Layout (integers little-endian):
///
///     offset  0  8 bytes  magic "TRVRELv1"
///     offset  8  8 bytes  the writer's serial number of the write
///     offset 16  8 bytes  the body's length in bytes
///     offset 24  8 bytes  the body's checksum (see `checksum(_:)`)
///     offset 32 24 bytes  the key, UTF-8, padded with zeros
///     offset 56  8 bytes  the checksum of bytes 0 ..< 56
///     offset 64           the body: words derived from the serial and their position
enum SelfDescribingValue {
    static let headerSize = 64
    static let keyFieldSize = 24
    /// "TRVRELv1" read as a little-endian integer.
    static let magic: UInt64 = 0x3176_4C45_5256_5254

    /// What a value read back turned out to be.
    enum Verdict: Equatable {
        /// A whole value: its header and body agree.
        case whole(serial: Int, bodySize: Int)
        /// Not a whole value of `key`, and why.
        case torn(String)
    }

    /// Word `index` of the body of write `serial`: SplitMix64's mixing of the two, so that no
    /// two writes and no two positions share a word.
    @inline(__always)
    static func bodyWord(serial: UInt64, index: UInt64) -> UInt64 {
        var z = serial &* 0x9E37_79B9_7F4A_7C15 &+ (index &+ 1) &* 0xD1B5_4A32_D192_ED03
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// An FNV-1a style checksum over 8-byte words (the last one padded with zeros), seeded with
    /// the length, so that a cut, a swap of two regions or a mix of two writes changes it.
    ///
    /// Written as a `while` loop over raw loads: the campaigns run in debug builds, where a
    /// `for … in` range costs several times more per word.
    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325 ^ UInt64(bytes.count)
        let words = bytes.count / 8
        var index = 0
        while index < words {
            hash = (hash ^ bytes.loadUnaligned(fromByteOffset: index &* 8, as: UInt64.self)) &* 0x0000_0100_0000_01B3
            hash ^= hash >> 29
            index &+= 1
        }
        var tail: UInt64 = 0
        var offset = words * 8
        var shift: UInt64 = 0
        while offset < bytes.count {
            tail |= UInt64(bytes[offset]) << shift
            shift &+= 8
            offset &+= 1
        }
        hash = (hash ^ tail) &* 0x0000_0100_0000_01B3
        return hash ^ (hash >> 31)
    }

    /// The key as the fixed-size header field.
    static func keyField(_ key: StoreKey) -> [UInt8] {
        let bytes = Array(key.rawValue.utf8)
        precondition(bytes.count <= keyFieldSize, "key \(key) is too long for the value header")
        return bytes + [UInt8](repeating: 0, count: keyFieldSize - bytes.count)
    }

    /// The whole value of write `serial` of `key`, with a body of `bodySize` bytes.
    static func make(serial: Int, key: StoreKey, bodySize: Int) -> Data {
        var data = Data(count: headerSize + bodySize)
        let field = keyField(key)
        data.withUnsafeMutableBytes { (raw: UnsafeMutableRawBufferPointer) in
            let base = raw.baseAddress!
            let body = base + headerSize
            let words = bodySize / 8
            var index = 0
            while index < words {
                body.storeBytes(of: bodyWord(serial: UInt64(serial), index: UInt64(index)).littleEndian,
                                toByteOffset: index &* 8, as: UInt64.self)
                index &+= 1
            }
            let last = bodyWord(serial: UInt64(serial), index: UInt64(words))
            var offset = words * 8
            while offset < bodySize {
                body.storeBytes(of: UInt8(truncatingIfNeeded: last >> (UInt64(offset - words * 8) * 8)),
                                toByteOffset: offset, as: UInt8.self)
                offset &+= 1
            }
            let sum = checksum(UnsafeRawBufferPointer(start: body, count: bodySize))
            base.storeBytes(of: magic.littleEndian, toByteOffset: 0, as: UInt64.self)
            base.storeBytes(of: UInt64(serial).littleEndian, toByteOffset: 8, as: UInt64.self)
            base.storeBytes(of: UInt64(bodySize).littleEndian, toByteOffset: 16, as: UInt64.self)
            base.storeBytes(of: sum.littleEndian, toByteOffset: 24, as: UInt64.self)
            for (position, byte) in field.enumerated() { base.storeBytes(of: byte, toByteOffset: 32 + position, as: UInt8.self) }
            let headerSum = checksum(UnsafeRawBufferPointer(start: base, count: 56))
            base.storeBytes(of: headerSum.littleEndian, toByteOffset: 56, as: UInt64.self)
        }
        return data
    }

    /// Whether `value` is a whole value written under `key`, and if so which write.
    static func verify(_ value: Data, key: StoreKey) -> Verdict {
        guard value.count >= headerSize else { return .torn("\(value.count) bytes, shorter than the \(headerSize)-byte header") }
        let field = keyField(key)
        return value.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> Verdict in
            func word(_ offset: Int) -> UInt64 { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
            guard word(0) == magic else { return .torn("no magic number at the start (a foreign or torn value)") }
            guard word(56) == checksum(UnsafeRawBufferPointer(rebasing: raw[0..<56])) else {
                return .torn("the header's checksum does not match the header")
            }
            let serial = Int(truncatingIfNeeded: word(8))
            let bodySize = Int(truncatingIfNeeded: word(16))
            guard Array(raw[32..<56]) == field else {
                let stored = String(decoding: raw[32..<56].prefix { $0 != 0 }, as: UTF8.self)
                return .torn("write \(serial) belongs to key '\(stored)', not to this key")
            }
            guard bodySize == value.count - headerSize else {
                return .torn("write \(serial): the header says \(bodySize) body bytes, the value has \(value.count - headerSize)")
            }
            guard word(24) == checksum(UnsafeRawBufferPointer(rebasing: raw[headerSize...])) else {
                return .torn("write \(serial): the body's checksum does not match (mixed or damaged bytes)")
            }
            return .whole(serial: serial, bodySize: bodySize)
        }
    }
}

/// The chunks of a value handed to a streamed write, one slice at a time, so that the store
/// receives the value in pieces as a network upload would deliver it.
struct SlicedChunks: AsyncSequence, Sendable {
    typealias Element = Data
    let value: Data
    /// The sizes of the chunks in order; the last chunk takes what is left.
    let sizes: [Int]

    struct AsyncIterator: AsyncIteratorProtocol {
        let value: Data
        let sizes: [Int]
        var offset = 0
        var index = 0

        mutating func next() async -> Data? {
            guard offset < value.count else { return nil }
            let size = index < sizes.count ? sizes[index] : value.count - offset
            let end = Swift.min(value.count, offset + Swift.max(size, 1))
            defer { offset = end; index += 1 }
            return value.subdata(in: offset..<end)
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(value: value, sizes: sizes) }
}

/// SplitMix64: a small generator that gives the same numbers for the same seed, so that a run
/// is repeated from its seed.
struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A seed derived from `seed` and `parts`, for a generator of its own (one per kill, say).
    static func derive(_ seed: UInt64, _ parts: UInt64...) -> UInt64 {
        var generator = SeededGenerator(seed: seed)
        var result = generator.next()
        for part in parts {
            generator = SeededGenerator(seed: result ^ (part &* 0xD1B5_4A32_D192_ED03))
            result = generator.next()
        }
        return result
    }
}
