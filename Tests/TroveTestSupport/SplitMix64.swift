public import Foundation

/// A small, fast pseudo-random generator (SplitMix64) that gives the same numbers for the same
/// seed, so that a random test, or a failing run of one, can be repeated.
///
/// Not for anything secret.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator whose sequence is decided by `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next number of the sequence.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// `count` bytes drawn from ``SplitMix64`` seeded with `seed`: the same on every run, different
/// from one seed to another and from one position to the next, and not compressible, so that a
/// store cannot pass a test by accident (a value of one repeated byte hides a misplaced chunk).
///
/// - Complexity: O(`count`), eight bytes a step.
public func patternedBytes(_ count: Int, seed: UInt64) -> Data {
    var generator = SplitMix64(seed: seed)
    var data = Data(count: max(count, 0))
    data.withUnsafeMutableBytes { buffer in
        guard let base = buffer.baseAddress else { return }
        var offset = 0
        while offset < buffer.count {
            let word = generator.next().littleEndian
            let take = min(8, buffer.count - offset)
            withUnsafeBytes(of: word) { bytes in
                (base + offset).copyMemory(from: bytes.baseAddress!, byteCount: take)
            }
            offset += take
        }
    }
    return data
}
