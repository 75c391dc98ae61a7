import Foundation

/// How a ``DurableQueue`` keeps one element: a small header (deliveries so far, the current
/// lease) ahead of the element's encoded bytes, all in the element's one entry, so that taking
/// a lease and acknowledging are each one conditional write or delete of that entry.
///
/// Layout, integers big-endian:
///
///     "TRVQ"  version(1) = 1  deliveries(4)  leaseUntil(8)  leaseToken(8)  enqueuedAt(8)  payload
///
/// Dates are the bit patterns of `timeIntervalSinceReferenceDate`; a lease token of 0 means no
/// lease.
struct QueueRecord: Equatable {
    static let magic: [UInt8] = Array("TRVQ".utf8)
    static let version: UInt8 = 1
    static let headerLength = 4 + 1 + 4 + 8 + 8 + 8

    /// How many times the element was handed to a consumer.
    var deliveries: UInt32
    /// Until when the current lease holds; meaningful when ``leaseToken`` is not 0.
    var leaseUntil: Date
    /// The current lease's token, 0 for none.
    var leaseToken: UInt64
    /// When the element was enqueued.
    var enqueuedAt: Date
    /// The element's bytes, as the queue's codec wrote them.
    var payload: Data

    /// Whether a consumer holds the element at `now`.
    func isLeased(at now: Date) -> Bool { leaseToken != 0 && leaseUntil > now }

    /// The record's bytes.
    func encoded() -> Data {
        var bytes = Self.magic
        bytes.reserveCapacity(Self.headerLength + payload.count)
        bytes.append(Self.version)
        append(UInt64(deliveries), width: 4, to: &bytes)
        append(leaseUntil.timeIntervalSinceReferenceDate.bitPattern, width: 8, to: &bytes)
        append(leaseToken, width: 8, to: &bytes)
        append(enqueuedAt.timeIntervalSinceReferenceDate.bitPattern, width: 8, to: &bytes)
        var data = Data(bytes)
        data.append(payload)
        return data
    }

    /// The record in `data`, or `nil` when it is not one.
    init?(_ data: Data) {
        guard data.count >= Self.headerLength else { return nil }
        let bytes = [UInt8](data.prefix(Self.headerLength))
        guard Array(bytes[0..<4]) == Self.magic, bytes[4] == Self.version else { return nil }
        func integer(_ offset: Int, _ width: Int) -> UInt64 {
            bytes[offset..<offset + width].reduce(0) { $0 << 8 | UInt64($1) }
        }
        deliveries = UInt32(integer(5, 4))
        leaseUntil = Date(timeIntervalSinceReferenceDate: Double(bitPattern: integer(9, 8)))
        leaseToken = integer(17, 8)
        enqueuedAt = Date(timeIntervalSinceReferenceDate: Double(bitPattern: integer(25, 8)))
        payload = Data(data.dropFirst(Self.headerLength))
    }

    init(deliveries: UInt32, leaseUntil: Date, leaseToken: UInt64, enqueuedAt: Date, payload: Data) {
        self.deliveries = deliveries
        self.leaseUntil = leaseUntil
        self.leaseToken = leaseToken
        self.enqueuedAt = enqueuedAt
        self.payload = payload
    }

    private func append(_ value: UInt64, width: Int, to bytes: inout [UInt8]) {
        for index in (0..<width).reversed() { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(index)))) }
    }
}
