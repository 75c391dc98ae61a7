public import Foundation

/// What the helper's `write-loop` writes (`crashTestValue` in `TroveTestHelper`), for the crash
/// tests that kill it: write number `serial` goes to key `crash/<serial % 16>` and holds the
/// serial in 8 bytes (little-endian), then `(serial % 9 + 1) × 4 KiB` of the byte `serial % 251`,
/// so that a torn value, a cut, or a mix of two writes is detectable.
public enum WriteLoop {
    /// How many keys (`crash/0` … `crash/15`) the loop writes in turn.
    public static let slotCount = 16

    /// The slot (`crash/<slot>`) that write `serial` goes to.
    public static func slot(of serial: Int) -> Int { serial % slotCount }

    /// Checks that `value` is one whole write of the loop and returns its serial.
    ///
    /// - Throws: ``TestFailure`` naming what is wrong: too short, a length that is not the
    ///   serial's, or bytes of another write.
    public static func serial(ofWholeValue value: Data) throws -> Int {
        guard value.count >= 8 else { throw TestFailure("a value of \(value.count) bytes is torn") }
        let serial = Int(value.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) })
        let body = value.dropFirst(8)
        guard body.count == (serial % 9 + 1) * 4096 else {
            throw TestFailure("write \(serial) has \(body.count) bytes after its serial, not \((serial % 9 + 1) * 4096)")
        }
        guard body.allSatisfy({ $0 == UInt8(serial % 251) }) else {
            throw TestFailure("write \(serial) holds bytes of another write")
        }
        return serial
    }
}
