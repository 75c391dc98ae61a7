import Foundation

/// The 48-byte header that ``ExpiringStore`` puts in front of every value it stores in a base
/// without native expiry (or in sliding mode).
///
/// Layout, all integers little-endian:
///
/// | Offset | Size | Field |
/// | --- | --- | --- |
/// | 0 | 4 | magic `TVX1` |
/// | 4 | 1 | flags: bit 0 a deadline follows, bit 1 a sliding window follows |
/// | 5 | 3 | zero |
/// | 8 | 16 | version: the entry's ETag as seen through the layer, two 64-bit words |
/// | 24 | 8 | time of the write, `Double` seconds since 2001-01-01, as its bit pattern |
/// | 32 | 8 | deadline, the same encoding (zero without one) |
/// | 40 | 8 | sliding window in seconds, a `Double` bit pattern (zero without one) |
///
/// Dates are kept as the bit patterns of `Date`'s own `Double`, so they round-trip exactly.
struct ExpiryEnvelope: Hashable, Sendable {
    /// The length of the header in bytes.
    static let size = 48

    private static let magic: [UInt8] = [0x54, 0x56, 0x58, 0x31]  // "TVX1"
    private static let hasDeadline: UInt8 = 1 << 0
    private static let hasWindow: UInt8 = 1 << 1

    /// The high word of the version token.
    var versionHigh: UInt64
    /// The low word of the version token.
    var versionLow: UInt64
    /// When the value was written through the layer (a sliding refresh keeps it).
    var writtenAt: Date
    /// When the entry expires, or `nil` if it does not.
    var deadline: Date?
    /// How far each read pushes the deadline, in seconds, for a sliding entry; `nil` otherwise.
    var window: TimeInterval?

    /// The entry's ETag as the layer reports it: the version token, 32 hexadecimal digits.
    var etag: ETag { ETag(high: versionHigh, low: versionLow) }

    /// A new envelope with a fresh random version.
    static func fresh(writtenAt: Date, deadline: Date?, window: TimeInterval?) -> ExpiryEnvelope {
        var generator = SystemRandomNumberGenerator()
        return ExpiryEnvelope(versionHigh: generator.next(), versionLow: generator.next(),
                              writtenAt: writtenAt, deadline: deadline, window: window)
    }

    /// Whether the entry has expired at `now`.
    func isExpired(at now: Date) -> Bool {
        guard let deadline else { return false }
        return deadline <= now
    }

    /// The envelope after a read at `now`: for a sliding entry whose deadline that read moves
    /// forward, a copy with the deadline `now + window`; otherwise `nil` (nothing to rewrite).
    func refreshed(at now: Date) -> ExpiryEnvelope? {
        guard let window else { return nil }
        let renewed = now.addingTimeInterval(window)
        if let deadline, renewed <= deadline { return nil }
        var copy = self
        copy.deadline = renewed
        return copy
    }

    /// The 48 header bytes.
    func encoded() -> Data {
        var bytes = [UInt8](repeating: 0, count: Self.size)
        bytes.replaceSubrange(0..<4, with: Self.magic)
        bytes[4] = (deadline == nil ? 0 : Self.hasDeadline) | (window == nil ? 0 : Self.hasWindow)
        Self.store(versionHigh, at: 8, in: &bytes)
        Self.store(versionLow, at: 16, in: &bytes)
        Self.store(writtenAt.timeIntervalSinceReferenceDate.bitPattern, at: 24, in: &bytes)
        Self.store(deadline?.timeIntervalSinceReferenceDate.bitPattern ?? 0, at: 32, in: &bytes)
        Self.store(window?.bitPattern ?? 0, at: 40, in: &bytes)
        return Data(bytes)
    }

    /// Reads a header from the first ``size`` bytes of `bytes`.
    ///
    /// - Returns: The envelope, or a sentence saying what is wrong with the bytes.
    static func decode(_ bytes: Data) -> Result<ExpiryEnvelope, DecodingProblem> {
        guard bytes.count >= size else {
            return .failure(DecodingProblem("the stored value is \(bytes.count) bytes, shorter than the \(size)-byte expiry envelope"))
        }
        let header = [UInt8](bytes.prefix(size))
        guard Array(header[0..<4]) == magic else {
            return .failure(DecodingProblem("the stored value does not start with an expiry envelope (it was not written through an expiring store)"))
        }
        let flags = header[4]
        guard flags & ~(hasDeadline | hasWindow) == 0, header[5] == 0, header[6] == 0, header[7] == 0 else {
            return .failure(DecodingProblem("the expiry envelope has unknown flags; it was written by a newer version or is damaged"))
        }
        let writtenAt = Double(bitPattern: load(at: 24, from: header))
        let deadline = Double(bitPattern: load(at: 32, from: header))
        let window = Double(bitPattern: load(at: 40, from: header))
        guard writtenAt.isFinite, deadline.isFinite, window.isFinite, window >= 0 else {
            return .failure(DecodingProblem("the expiry envelope holds a date or window that is not a finite number; it is damaged"))
        }
        return .success(ExpiryEnvelope(
            versionHigh: load(at: 8, from: header), versionLow: load(at: 16, from: header),
            writtenAt: Date(timeIntervalSinceReferenceDate: writtenAt),
            deadline: flags & hasDeadline != 0 ? Date(timeIntervalSinceReferenceDate: deadline) : nil,
            window: flags & hasWindow != 0 ? window : nil))
    }

    /// Why stored bytes are not a valid envelope.
    struct DecodingProblem: Error, Sendable {
        let message: String
        init(_ message: String) { self.message = message }
    }

    private static func store(_ value: UInt64, at offset: Int, in bytes: inout [UInt8]) {
        for index in 0..<8 { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> UInt64(index * 8)) }
    }

    private static func load(at offset: Int, from bytes: [UInt8]) -> UInt64 {
        var value: UInt64 = 0
        for index in 0..<8 { value |= UInt64(bytes[offset + index]) << UInt64(index * 8) }
        return value
    }
}
