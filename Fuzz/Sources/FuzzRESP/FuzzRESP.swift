// Fuzzes the RESP2/RESP3 decoder of the Redis client: arbitrary bytes from a server give values
// or a RESPProtocolError, never a crash; and, as documented, a reply split at any byte boundary
// decodes the same as in one piece.
//
// Input: the bytes a server sends; the last byte also chooses where to split them.
import FuzzSupport
import NIOCore
import TroveRedisClient

/// Small limits, so that a hostile length is refused rather than awaited (and reached).
let limits = RESPDecoder.Limits(maximumBulkLength: 1 << 16, maximumAggregateCount: 1 << 10,
                                maximumReplyElements: 1 << 12, maximumDepth: 16, maximumLineLength: 1 << 12)

/// What a decoder makes of `pieces` fed one after the other: the values, and the error code
/// that stopped it, if any.
func decode(_ pieces: [ArraySlice<UInt8>]) -> (values: [RESPValue], error: String?) {
    var decoder = RESPDecoder(limits: limits)
    var buffer = ByteBuffer()
    var values: [RESPValue] = []
    for piece in pieces {
        buffer.writeBytes(piece)
        do {
            while let value = try decoder.decode(&buffer) {
                values.append(value)
                require(values.count <= 1 << 16, "more values than bytes")
            }
        } catch {
            return (values, "\(error.code)")
        }
    }
    return (values, nil)
}

/// Whether two values are the same, NaN doubles included.
func same(_ a: [RESPValue], _ b: [RESPValue]) -> Bool {
    a == b || a.map(String.init(describing:)) == b.map(String.init(describing:))
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = bytes(start, count)
    let whole = decode([input[...]])
    guard let last = input.last else { return 0 }
    let cut = Int(last) % (input.count + 1)
    let split = decode([input[..<cut], input[cut...]])
    require(same(whole.values, split.values) && whole.error == split.error,
            "split at \(cut) decodes otherwise: \(whole) vs \(split) for \(hex(input))")
    // Byte by byte, for short inputs (each byte a separate read from the socket).
    if input.count <= 64 {
        let bytewise = decode(input.indices.map { input[$0...$0] })
        require(same(whole.values, bytewise.values) && whole.error == bytewise.error,
                "byte by byte decodes otherwise: \(whole) vs \(bytewise) for \(hex(input))")
    }
    return 0
}
