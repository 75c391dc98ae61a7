import Foundation

/// The 32 bytes at the start of every value file, before the value.
///
/// Layout (little-endian):
///
///     0..<4    magic "TRV1"
///     4..<8    flags: bit 0 = has an expiry, bit 1 = a key trailer follows the value
///     8..<24   ETag: 8 bytes naming the writing store instance, 8 bytes of its write counter
///     24..<32  expiry in nanoseconds since 1970 (0 when none)
///
/// A file whose name was shortened ends with a trailer: the whole key in UTF-8, then its length
/// as a 4-byte little-endian integer. A file with an expiry also has its owner-execute
/// permission bit set, so listing can skip reading the header of files that never expire.
struct EntryFileHeader: Equatable {
    static let size = 32
    static let magic: [UInt8] = Array("TRV1".utf8)
    static let flagHasExpiry: UInt32 = 1
    static let flagHasKeyTrailer: UInt32 = 2

    var etag: (UInt64, UInt64)
    var expiresAtNanoseconds: Int64
    var hasKeyTrailer: Bool

    static func == (lhs: EntryFileHeader, rhs: EntryFileHeader) -> Bool {
        lhs.etag == rhs.etag && lhs.expiresAtNanoseconds == rhs.expiresAtNanoseconds
            && lhs.hasKeyTrailer == rhs.hasKeyTrailer
    }

    var expirationDate: Date? {
        expiresAtNanoseconds == 0 ? nil : Date(timeIntervalSince1970: TimeInterval(expiresAtNanoseconds) / 1e9)
    }

    var etagValue: ETag {
        ETag(Self.hex(etag.0) + Self.hex(etag.1))
    }

    func isExpired(at now: Date) -> Bool {
        guard let expirationDate else { return false }
        return expirationDate <= now
    }

    static func expiryNanoseconds(_ date: Date?) -> Int64 {
        guard let date else { return 0 }
        // Never 0, which means "no expiry": a date at or before 1970 is long past anyway.
        return max(1, Int64((date.timeIntervalSince1970 * 1e9).rounded()))
    }

    func encoded() -> [UInt8] {
        var bytes = Self.magic
        bytes.reserveCapacity(Self.size)
        var flags: UInt32 = 0
        if expiresAtNanoseconds != 0 { flags |= Self.flagHasExpiry }
        if hasKeyTrailer { flags |= Self.flagHasKeyTrailer }
        Self.append(flags, to: &bytes)
        Self.append(etag.0, to: &bytes)
        Self.append(etag.1, to: &bytes)
        Self.append(UInt64(bitPattern: expiresAtNanoseconds), to: &bytes)
        return bytes
    }

    /// Parses a header, or returns `nil` when the bytes are not one.
    init?(bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= Self.size, Array(bytes[0..<4]) == Self.magic else { return nil }
        let flags = bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian
        guard flags & ~(Self.flagHasExpiry | Self.flagHasKeyTrailer) == 0 else { return nil }
        etag = (bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian,
                bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self).littleEndian)
        expiresAtNanoseconds = Int64(bitPattern: bytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self).littleEndian)
        hasKeyTrailer = flags & Self.flagHasKeyTrailer != 0
        guard (flags & Self.flagHasExpiry != 0) == (expiresAtNanoseconds != 0) else { return nil }
    }

    init(etag: (UInt64, UInt64), expiresAtNanoseconds: Int64, hasKeyTrailer: Bool) {
        self.etag = etag
        self.expiresAtNanoseconds = expiresAtNanoseconds
        self.hasKeyTrailer = hasKeyTrailer
    }

    static func keyTrailer(for key: StoreKey) -> [UInt8] {
        var bytes = Array(key.rawValue.utf8)
        append(UInt32(bytes.count), to: &bytes)
        return bytes
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
