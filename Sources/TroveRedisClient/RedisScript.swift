/// A Lua script run on the server, by its SHA-1 digest once the server has it.
///
///     let script = RedisScript(name: "double", source: "return tonumber(ARGV[1]) * 2")
///     let four = try await client.run(script, keys: [], arguments: ["2"]).int64
public struct RedisScript: Sendable, Hashable {
    /// A name for messages.
    public let name: String
    /// The Lua source.
    public let source: String
    /// The SHA-1 digest of the source, as `EVALSHA` takes it: 40 lowercase hexadecimal digits.
    public let digest: String

    /// Creates a script and computes its digest.
    public init(name: String, source: String) {
        self.name = name
        self.source = source
        self.digest = SHA1.hexDigest(of: Array(source.utf8))
    }

    /// `EVALSHA digest` (or `EVAL source`, when `loading`) with the keys and arguments.
    public func command(keys: [String], arguments: [any RESPArgument & Sendable], loading: Bool = false) -> RedisCommand {
        RedisCommand(loading ? "EVAL" : "EVALSHA", argumentCount: 2 + keys.count + arguments.count) { writer in
            if loading { writer.append(source) } else { writer.append(digest) }
            writer.append(keys.count)
            for key in keys { writer.append(key) }
            for argument in arguments { writer.append(argument) }
        }
    }
}

/// SHA-1, for script digests only (it names scripts; it protects nothing).
enum SHA1 {
    static func hexDigest(of message: [UInt8]) -> String {
        var h: (UInt32, UInt32, UInt32, UInt32, UInt32) = (0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0)
        var padded = message
        padded.append(0x80)
        while padded.count % 64 != 56 { padded.append(0) }
        let bits = UInt64(message.count) * 8
        for shift in stride(from: 56, through: 0, by: -8) { padded.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
        var w = [UInt32](repeating: 0, count: 80)
        for block in stride(from: 0, to: padded.count, by: 64) {
            for i in 0..<16 {
                let j = block + i * 4
                w[i] = UInt32(padded[j]) << 24 | UInt32(padded[j + 1]) << 16 | UInt32(padded[j + 2]) << 8 | UInt32(padded[j + 3])
            }
            for i in 16..<80 {
                let x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]
                w[i] = x << 1 | x >> 31
            }
            var (a, b, c, d, e) = h
            for i in 0..<80 {
                let f: UInt32, k: UInt32
                switch i {
                case 0..<20: f = (b & c) | (~b & d); k = 0x5A82_7999
                case 20..<40: f = b ^ c ^ d; k = 0x6ED9_EBA1
                case 40..<60: f = (b & c) | (b & d) | (c & d); k = 0x8F1B_BCDC
                default: f = b ^ c ^ d; k = 0xCA62_C1D6
                }
                let t = (a << 5 | a >> 27) &+ f &+ e &+ k &+ w[i]
                e = d; d = c; c = b << 30 | b >> 2; b = a; a = t
            }
            h = (h.0 &+ a, h.1 &+ b, h.2 &+ c, h.3 &+ d, h.4 &+ e)
        }
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for word in [h.0, h.1, h.2, h.3, h.4] {
            for shift in stride(from: 28, through: 0, by: -4) { text.append(digits[Int((word >> UInt32(shift)) & 0xF)]) }
        }
        return String(decoding: text, as: UTF8.self)
    }
}
