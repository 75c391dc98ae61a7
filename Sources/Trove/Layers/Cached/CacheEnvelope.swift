import Foundation

/// How a faster tier keeps its copy of a durable entry: the durable entry's metadata ahead of the
/// value, so that a copy served from the faster tier reports the durable tier's ETag and dates.
///
/// A faster tier also holds *placeholders*: markers that stand for "no usable copy here; ask the
/// tier below", written so that a copy is only ever installed over a marker the installer saw
/// (see ``CopyTier``).
///
/// Layout, all integers big-endian:
///
///     "TRVC"  kind(1: copy, 2: placeholder)
///     copy:   flags(bit 0: creation date, bit 1: expiration date)  size(8)  modified(8)
///             [created(8)]  [expires(8)]  etagLength(2)  etag(UTF-8)  value
///
/// Dates are the bit patterns of `timeIntervalSinceReferenceDate`, so they round-trip exactly.
enum CacheEnvelope {
    static let magic: [UInt8] = Array("TRVC".utf8)
    static let copyKind: UInt8 = 1
    static let placeholderKind: UInt8 = 2
    static let hasCreation: UInt8 = 1 << 0
    static let hasExpiration: UInt8 = 1 << 1
    /// Magic, kind, flags, size and modification date.
    static let fixedLength = 4 + 1 + 1 + 8 + 8

    /// The bytes of a placeholder.
    static let placeholder = Data(magic + [placeholderKind])

    /// The envelope of `value` with its durable `metadata`, or `nil` when the ETag is too long to
    /// be kept (more than 65,535 bytes of UTF-8), in which case the entry is not cached.
    static func encode(_ value: Data, metadata: EntryMetadata) -> Data? {
        let etag = Array(metadata.etag.rawValue.utf8)
        guard etag.count <= Int(UInt16.max) else { return nil }
        var header: [UInt8] = magic
        header.reserveCapacity(fixedLength + 16 + 2 + etag.count)
        header.append(copyKind)
        var flags: UInt8 = 0
        if metadata.creationDate != nil { flags |= hasCreation }
        if metadata.expirationDate != nil { flags |= hasExpiration }
        header.append(flags)
        append(UInt64(value.count), to: &header)
        append(metadata.modificationDate, to: &header)
        if let created = metadata.creationDate { append(created, to: &header) }
        if let expires = metadata.expirationDate { append(expires, to: &header) }
        append(UInt16(etag.count), to: &header)
        header += etag
        var envelope = Data(capacity: header.count + value.count)
        envelope.append(contentsOf: header)
        envelope.append(value)
        return envelope
    }

    /// What the start of a faster tier's entry says.
    enum Header: Equatable {
        /// The bytes are too few to tell; at least this many are needed.
        case needsBytes(Int)
        /// A placeholder.
        case placeholder
        /// A copy: the durable metadata, and where the value starts.
        case copy(EntryMetadata, valueOffset: Int)
        /// Not an envelope (another program wrote into the tier, or it is damaged).
        case malformed
    }

    /// Parses the header at the start of `bytes`, naming `key` in the metadata.
    static func header(of bytes: Data, key: StoreKey) -> Header {
        bytes.withUnsafeBytes { header(of: $0, key: key) }
    }

    private static func header(of bytes: UnsafeRawBufferPointer, key: StoreKey) -> Header {
        let base = 0
        func byte(_ offset: Int) -> UInt8 { bytes[offset] }
        func integer(_ offset: Int, _ width: Int) -> UInt64 {
            var result: UInt64 = 0
            for index in 0..<width { result = result << 8 | UInt64(byte(offset + index)) }
            return result
        }
        func date(_ offset: Int) -> Date {
            Date(timeIntervalSinceReferenceDate: Double(bitPattern: integer(offset, 8)))
        }

        let available = bytes.count
        let checked = Swift.min(available, magic.count + 1)
        for index in 0..<Swift.min(checked, magic.count) where byte(index) != magic[index] { return .malformed }
        guard available > magic.count else { return .needsBytes(magic.count + 1) }
        switch byte(magic.count) {
        case placeholderKind:
            return available == placeholder.count ? .placeholder : .malformed
        case copyKind:
            break
        default:
            return .malformed
        }
        guard available >= fixedLength else { return .needsBytes(fixedLength) }
        let flags = byte(5)
        guard flags & ~(hasCreation | hasExpiration) == 0 else { return .malformed }
        let size = integer(6, 8)
        var offset = fixedLength
        let dateFields = (flags & hasCreation != 0 ? 1 : 0) + (flags & hasExpiration != 0 ? 1 : 0)
        guard available >= offset + 8 * dateFields + 2 else { return .needsBytes(offset + 8 * dateFields + 2) }
        let modified = date(14)
        var created: Date?
        var expires: Date?
        if flags & hasCreation != 0 { created = date(offset); offset += 8 }
        if flags & hasExpiration != 0 { expires = date(offset); offset += 8 }
        let etagLength = Int(integer(offset, 2))
        offset += 2
        guard available >= offset + etagLength else { return .needsBytes(offset + etagLength) }
        let etagStart = base + offset
        guard etagLength > 0,
              let etag = String(validating: UnsafeRawBufferPointer(rebasing: bytes[etagStart..<etagStart + etagLength]),
                                as: UTF8.self),
              size <= UInt64(Int64.max) else { return .malformed }
        offset += etagLength
        let metadata = EntryMetadata(key: key, size: Int64(size), etag: ETag(etag), modificationDate: modified,
                                     creationDate: created, expirationDate: expires)
        return .copy(metadata, valueOffset: offset)
    }

    /// What a faster tier's whole entry holds.
    enum Contents {
        case placeholder
        case copy(StoreEntry)
        case malformed
    }

    /// A faster tier's whole entry, parsed without copying the value out.
    enum Parsed {
        case placeholder
        /// A copy: the durable metadata, and where the value starts (it runs to the end).
        case copy(EntryMetadata, valueOffset: Int)
        case malformed
    }

    /// Parses a whole entry of a faster tier, naming `key` in the metadata, and checks that the
    /// value is exactly as long as the header says.
    static func parse(_ bytes: Data, key: StoreKey) -> Parsed {
        switch header(of: bytes, key: key) {
        case .placeholder:
            return .placeholder
        case .needsBytes, .malformed:
            return .malformed
        case .copy(let metadata, let valueOffset):
            guard Int64(bytes.count - valueOffset) == metadata.size else { return .malformed }
            return .copy(metadata, valueOffset: valueOffset)
        }
    }

    /// Decodes a whole entry of a faster tier, naming `key` in the metadata.
    ///
    /// - Complexity: Copies the value out of the envelope once, O(n).
    static func decode(_ bytes: Data, key: StoreKey) -> Contents {
        switch parse(bytes, key: key) {
        case .placeholder:
            return .placeholder
        case .malformed:
            return .malformed
        case .copy(let metadata, let valueOffset):
            return .copy(StoreEntry(value: value(in: bytes, at: valueOffset), metadata: metadata))
        }
    }

    /// The value of an envelope whose value starts at `valueOffset`, copied into `Data` of its
    /// own (indices from 0), so that it does not keep the envelope alive.
    static func value(in bytes: Data, at valueOffset: Int) -> Data {
        Data(bytes[(bytes.startIndex + valueOffset)...])
    }

    private static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    private static func append(_ value: UInt16, to bytes: inout [UInt8]) {
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    private static func append(_ date: Date, to bytes: inout [UInt8]) {
        append(date.timeIntervalSinceReferenceDate.bitPattern, to: &bytes)
    }
}
