/// One of the 16,384 hash slots of a Redis Cluster: the part of the key space that one primary
/// serves at a time.
///
///     RedisHashSlot(key: "foo").rawValue                   // 12182
///     RedisHashSlot(key: "{user1000}.following")           // the slot of "user1000"
///
/// The slot of a key is CRC16 (the XModem variant: polynomial 0x1021, initial value 0) of the
/// key's bytes, modulo 16,384. When the key holds a hash tag, a `{` followed later by a `}`
/// with at least one byte between them, only the bytes between the first `{` and the first
/// `}` after it are hashed, so that keys sharing a tag share a slot.
public struct RedisHashSlot: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    /// How many slots a cluster has.
    public static let count = 16_384

    /// The slot's number, from 0 to 16,383.
    public let rawValue: UInt16

    /// The slot numbered `rawValue`, or `nil` when it is 16,384 or more.
    public init?(rawValue: UInt16) {
        guard Int(rawValue) < Self.count else { return nil }
        self.rawValue = rawValue
    }

    /// The slot of a key given as its bytes, hash tags included.
    public init(key: some Collection<UInt8>) {
        rawValue = Self.crc16(Self.hashedPart(of: key)) & 0x3FFF
    }

    /// The slot of a key given as text (its UTF-8 bytes), hash tags included.
    public init(key: String) {
        var key = key
        self = key.withUTF8 { RedisHashSlot(key: $0) }
    }

    /// The bytes of `key` that pick its slot: the hash tag's content, or the whole key.
    static func hashedPart<Key: Collection<UInt8>>(of key: Key) -> Key.SubSequence {
        if let open = key.firstIndex(of: UInt8(ascii: "{")) {
            let afterOpen = key.index(after: open)
            if let close = key[afterOpen...].firstIndex(of: UInt8(ascii: "}")), close != afterOpen {
                return key[afterOpen..<close]
            }
        }
        return key[...]
    }

    /// CRC16-XModem of `bytes`, as Redis Cluster computes it.
    public static func crc16(_ bytes: some Sequence<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc = (crc << 8) ^ table[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)]
        }
        return crc
    }

    private static let table: [UInt16] = (0..<256).map { index in
        var crc = UInt16(index) << 8
        for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        return crc
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The slot's number.
    public var description: String { String(rawValue) }
}
