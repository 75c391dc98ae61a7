import Foundation

/// The 40 bytes at the start of every value file, before the value.
///
/// Layout (little-endian):
///
///     0..<4    magic "TRV1"
///     4..<8    flags: bit 0 = has an expiry, bit 1 = a key trailer follows the value
///     8..<24   ETag: 8 bytes naming the writing store instance, 8 bytes of its write counter
///     24..<32  expiry in nanoseconds since 1970 (0 when none)
///     32..<40  the time of the write, by the store's clock, in nanoseconds since 1970
///
/// A file whose name was shortened ends with a trailer: the whole key in UTF-8, then its length
/// as a 4-byte little-endian integer. A file with an expiry also has its owner-execute
/// permission bit set, so listing can skip reading the header of files that never expire.
struct EntryFileHeader: Equatable {
    static let size = 40
    static let magic: UInt32 = 0x3156_5254  // "TRV1" read as little-endian
    static let flagHasExpiry: UInt32 = 1
    static let flagHasKeyTrailer: UInt32 = 2

    var etagHigh: UInt64
    var etagLow: UInt64
    var expiresAtNanoseconds: Int64
    var writtenAtNanoseconds: Int64
    var hasKeyTrailer: Bool

    init(etag: (UInt64, UInt64), expiresAt: Date?, writtenAt: Date, hasKeyTrailer: Bool) {
        self.etagHigh = etag.0
        self.etagLow = etag.1
        self.expiresAtNanoseconds = Self.nanoseconds(expiresAt)
        self.writtenAtNanoseconds = Self.nanoseconds(writtenAt)
        self.hasKeyTrailer = hasKeyTrailer
    }

    var expirationDate: Date? { Self.date(expiresAtNanoseconds) }

    var writtenAt: Date { Self.date(writtenAtNanoseconds) ?? Date(timeIntervalSince1970: 0) }

    var etagValue: ETag { ETag(high: etagHigh, low: etagLow) }

    func isExpired(at now: Date) -> Bool {
        expiresAtNanoseconds != 0 && expiresAtNanoseconds <= Self.nanoseconds(now)
    }

    /// The header's bytes, written into `buffer` (at least ``size`` bytes).
    func encode(into buffer: UnsafeMutableRawBufferPointer) {
        var flags: UInt32 = 0
        if expiresAtNanoseconds != 0 { flags |= Self.flagHasExpiry }
        if hasKeyTrailer { flags |= Self.flagHasKeyTrailer }
        buffer.storeBytes(of: Self.magic.littleEndian, toByteOffset: 0, as: UInt32.self)
        buffer.storeBytes(of: flags.littleEndian, toByteOffset: 4, as: UInt32.self)
        buffer.storeBytes(of: etagHigh.littleEndian, toByteOffset: 8, as: UInt64.self)
        buffer.storeBytes(of: etagLow.littleEndian, toByteOffset: 16, as: UInt64.self)
        buffer.storeBytes(of: expiresAtNanoseconds.littleEndian, toByteOffset: 24, as: Int64.self)
        buffer.storeBytes(of: writtenAtNanoseconds.littleEndian, toByteOffset: 32, as: Int64.self)
    }

    /// Parses a header, or returns `nil` when the bytes are not one.
    init?(bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= Self.size,
              UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self)) == Self.magic else { return nil }
        let flags = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        guard flags & ~(Self.flagHasExpiry | Self.flagHasKeyTrailer) == 0 else { return nil }
        etagHigh = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        etagLow = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
        expiresAtNanoseconds = Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: 24, as: Int64.self))
        writtenAtNanoseconds = Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: 32, as: Int64.self))
        hasKeyTrailer = flags & Self.flagHasKeyTrailer != 0
        guard (flags & Self.flagHasExpiry != 0) == (expiresAtNanoseconds != 0) else { return nil }
    }

    static func keyTrailer(for key: StoreKey) -> [UInt8] {
        var bytes = Array(key.rawValue.utf8)
        withUnsafeBytes(of: UInt32(bytes.count).littleEndian) { bytes.append(contentsOf: $0) }
        return bytes
    }

    /// Nanoseconds since 1970; never 0 for a date (0 means "none"), as 1970 is long past.
    private static func nanoseconds(_ date: Date?) -> Int64 {
        guard let date else { return 0 }
        return max(1, Int64((date.timeIntervalSince1970 * 1e9).rounded()))
    }

    private static func date(_ nanoseconds: Int64) -> Date? {
        nanoseconds == 0 ? nil : Date(timeIntervalSince1970: TimeInterval(nanoseconds) / 1e9)
    }
}
