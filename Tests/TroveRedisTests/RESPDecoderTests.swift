import NIOCore
import Testing
import TroveRedisClient

/// A seeded generator, so a failing case can be run again.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Writes a value in RESP3, the way a server would (the test's own encoder).
func encode(_ value: RESPValue, into buffer: inout ByteBuffer) {
    func line(_ type: String, _ text: String) { buffer.writeString(type + text + "\r\n") }
    switch value {
    case .simpleString(let text): line("+", String(buffer: text))
    case .error(let error): line("-", error.message)
    case .integer(let number): line(":", String(number))
    case .bulkString(var bytes):
        line("$", String(bytes.readableBytes))
        buffer.writeBuffer(&bytes)
        buffer.writeString("\r\n")
    case .array(let elements):
        line("*", String(elements.count))
        for element in elements { encode(element, into: &buffer) }
    case .map(let pairs):
        line("%", String(pairs.count))
        for pair in pairs {
            encode(pair.key, into: &buffer)
            encode(pair.value, into: &buffer)
        }
    case .push(let elements):
        line(">", String(elements.count))
        for element in elements { encode(element, into: &buffer) }
    case .null: line("_", "")
    case .double(let number): line(",", number == .infinity ? "inf" : number == -.infinity ? "-inf" : String(number))
    case .boolean(let flag): line("#", flag ? "t" : "f")
    case .bigNumber(let digits): line("(", digits)
    case .verbatimString(let format, var text):
        line("=", String(text.readableBytes + 4))
        buffer.writeString(format + ":")
        buffer.writeBuffer(&text)
        buffer.writeString("\r\n")
    }
}

/// A random value, nested at most `depth` deep.
func randomValue(_ random: inout SeededGenerator, depth: Int = 3) -> RESPValue {
    func bytes(_ count: Int) -> ByteBuffer {
        var buffer = ByteBuffer()
        for _ in 0..<count { buffer.writeInteger(UInt8.random(in: 0...255, using: &random)) }
        return buffer
    }
    func text() -> String {
        String((0..<Int.random(in: 0...12, using: &random)).map { _ in "abcXYZ019 _-:".randomElement(using: &random)! })
    }
    let kinds = depth > 0 ? 13 : 9
    switch Int.random(in: 0..<kinds, using: &random) {
    case 0: return .simpleString(ByteBuffer(string: text()))
    case 1: return .error(RedisServerError("ERR " + text()))
    case 2: return .integer(Int64.random(in: Int64.min...Int64.max, using: &random))
    case 3: return .bulkString(bytes(Int.random(in: 0...(Bool.random(using: &random) ? 16 : 3000), using: &random)))
    case 4: return .null
    case 5: return .double(Double(Int.random(in: -1_000_000...1_000_000, using: &random)) / 64)
    case 6: return .boolean(Bool.random(using: &random))
    case 7: return .bigNumber((Bool.random(using: &random) ? "-" : "") + String(UInt64.random(in: 0...UInt64.max, using: &random)) + "123456789")
    case 8: return .verbatimString(format: "txt", text: bytes(Int.random(in: 0...20, using: &random)))
    case 9, 10: return .array((0..<Int.random(in: 0...6, using: &random)).map { _ in randomValue(&random, depth: depth - 1) })
    case 11: return .map((0..<Int.random(in: 0...4, using: &random)).map { _ in
        RESPPair(key: randomValue(&random, depth: 0), value: randomValue(&random, depth: depth - 1)) })
    default: return .push((0..<Int.random(in: 1...4, using: &random)).map { _ in randomValue(&random, depth: depth - 1) })
    }
}

/// Decodes everything `pieces` hold, fed one after the other.
func decodeAll(_ pieces: [ByteBuffer], limits: RESPDecoder.Limits = RESPDecoder.Limits()) throws -> [RESPValue] {
    var decoder = RESPDecoder(limits: limits)
    var pending = ByteBuffer()
    var values: [RESPValue] = []
    for var piece in pieces {
        pending.writeBuffer(&piece)
        while let value = try decoder.decode(&pending) { values.append(value) }
    }
    return values
}

@Suite("RESP decoder")
struct RESPDecoderTests {
    /// Random values, encoded, split at random points, decode equal to what was encoded.
    @Test(arguments: 0..<20)
    func randomValuesSplitAtRandomPointsDecodeEqual(_ seed: Int) throws {
        var random = SeededGenerator(state: UInt64(seed) &* 7919)
        let values = (0..<40).map { _ in randomValue(&random) }
        var whole = ByteBuffer()
        for value in values { encode(value, into: &whole) }
        var pieces: [ByteBuffer] = []
        var rest = whole
        while rest.readableBytes > 0 {
            let size = Int.random(in: 1...max(1, min(rest.readableBytes, Bool.random(using: &random) ? 3 : 400)), using: &random)
            pieces.append(rest.readSlice(length: size)!)
        }
        #expect(try decodeAll(pieces) == values, "seed \(seed)")
        #expect(try decodeAll([whole]) == values, "seed \(seed)")
    }

    /// A reply of every kind, split at every byte boundary, decodes the same as in one piece.
    @Test func everySplitPointDecodesTheSame() throws {
        var random = SeededGenerator(state: 42)
        let value = RESPValue.array((0..<12).map { _ in randomValue(&random, depth: 2) })
        var whole = ByteBuffer()
        encode(value, into: &whole)
        for split in 0...whole.readableBytes {
            let first = whole.getSlice(at: 0, length: split)!, second = whole.getSlice(at: split, length: whole.readableBytes - split)!
            #expect(try decodeAll([first, second]) == [value], "split at \(split)")
        }
        // One byte at a time, too.
        let bytes = (0..<whole.readableBytes).map { whole.getSlice(at: $0, length: 1)! }
        #expect(try decodeAll(bytes) == [value])
    }

    @Test func resp2NullsAndAttributes() throws {
        #expect(try decodeAll([ByteBuffer(string: "$-1\r\n*-1\r\n_\r\n")]) == [.null, .null, .null])
        // An attribute is read and dropped; the value after it is returned.
        #expect(try decodeAll([ByteBuffer(string: "|1\r\n+ttl\r\n:3\r\n:42\r\n")]) == [.integer(42)])
        #expect(try decodeAll([ByteBuffer(string: "*2\r\n|1\r\n+a\r\n+b\r\n:1\r\n:2\r\n")]) == [.array([.integer(1), .integer(2)])])
        #expect(try decodeAll([ByteBuffer(string: ",inf\r\n,-1.5e3\r\n#t\r\n")]) == [.double(.infinity), .double(-1500), .boolean(true)])
        #expect(try decodeAll([ByteBuffer(string: "!9\r\nERR there\r\n")]) == [.error(RedisServerError("ERR there"))])
    }

    /// Garbage gets a typed error naming what was wrong, never a crash, a hang or a value.
    @Test(arguments: [
        ("?what\r\n", RESPProtocolError.Code.unknownType),
        ("\r\n", .unknownType),
        ("GARBAGE WITHOUT A LINE END", .unknownType),
        (":12a\r\n", .invalidNumber),
        (":\r\n", .invalidNumber),
        (":99999999999999999999\r\n", .invalidNumber),
        ("$-2\r\n", .invalidLength),
        ("$abc\r\n", .invalidNumber),
        ("$3\r\nabcd\r\n", .missingLineEnd),
        ("$3\r\nab", nil),
        ("+OK\n", .missingLineEnd),
        ("+OK\rX", .missingLineEnd),
        ("*-5\r\n", .invalidLength),
        ("*3\r\n:1\r\n:2\r\n", nil),
        ("#x\r\n", .invalidValue),
        ("_x\r\n", .invalidValue),
        (",1.2.3\r\n", .invalidNumber),
        (",0x1p3\r\n", .invalidNumber),
        ("=3\r\ntxt\r\n", .invalidValue),
        ("(12x\r\n", .invalidNumber),
        ("$?\r\n", .unsupported),
        ("*?\r\n", .unsupported),
        ("$999999999999\r\n", .bulkTooLong),
        ("*999999999\r\n", .aggregateTooLarge),
        ("%999999999999999999\r\n", .aggregateTooLarge),
    ] as [(String, RESPProtocolError.Code?)])
    func garbageIsRefused(_ input: String, _ expected: RESPProtocolError.Code?) throws {
        var decoder = RESPDecoder()
        var buffer = ByteBuffer(string: input)
        if let expected {
            do {
                let value = try decoder.decode(&buffer)
                Issue.record("\(input.debugDescription) decoded as \(String(describing: value))")
            } catch {
                #expect(error.code == expected, "\(input.debugDescription): \(error)")
            }
        } else {
            // Incomplete, not wrong: nothing yet, and no error.
            #expect(try decoder.decode(&buffer) == nil)
        }
    }

    /// Buffering is bounded: a line that never ends, deep nesting and huge replies are refused
    /// once they pass the limits.
    @Test func limitsBoundWhatIsBuffered() throws {
        let limits = RESPDecoder.Limits(maximumBulkLength: 100, maximumAggregateCount: 10, maximumReplyElements: 50, maximumDepth: 4,
                                        maximumLineLength: 64)
        func code(_ input: String) -> RESPProtocolError.Code? {
            do {
                _ = try decodeAll([ByteBuffer(string: input)], limits: limits)
                return nil
            } catch let error as RESPProtocolError {
                return error.code
            } catch {
                return nil
            }
        }
        #expect(code("+" + String(repeating: "a", count: 200)) == .lineTooLong)
        #expect(code("+" + String(repeating: "a", count: 64)) == nil)
        #expect(code("$101\r\n") == .bulkTooLong)
        #expect(code("*11\r\n") == .aggregateTooLarge)
        #expect(code("%6\r\n") == .aggregateTooLarge)
        #expect(code("*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n") == .nestingTooDeep)
        #expect(code(String(repeating: "*10\r\n" + String(repeating: ":1\r\n", count: 10), count: 1)) == nil)
        #expect(code("*6\r\n" + String(repeating: "*10\r\n" + String(repeating: ":1\r\n", count: 10), count: 6)) == .replyTooLarge)
    }

    /// A random corpus of mutated replies: every one decodes, waits for more, or throws
    /// RESPProtocolError; nothing else.
    @Test func mutatedRepliesNeverCrash() throws {
        var random = SeededGenerator(state: 7)
        for _ in 0..<2000 {
            var buffer = ByteBuffer()
            encode(randomValue(&random), into: &buffer)
            var bytes = Array(buffer.readableBytesView)
            for _ in 0..<Int.random(in: 1...3, using: &random) where !bytes.isEmpty {
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            var input = ByteBuffer(bytes: bytes)
            var decoder = RESPDecoder()
            // The decoder's errors are typed: RESPProtocolError is all it can throw.
            while (try? decoder.decode(&input)) != nil {}
        }
    }
}

@Suite("RESP commands")
struct RedisCommandTests {
    @Test func commandsAreArraysOfBulkStrings() throws {
        let command = RedisCommand("SET", "key", ByteBuffer(string: "v\r\n"), 42, Int64(-7))
        #expect(String(buffer: command.encoded) == "*5\r\n$3\r\nSET\r\n$3\r\nkey\r\n$3\r\nv\r\n\r\n$2\r\n42\r\n$2\r\n-7\r\n")
        let many = RedisCommand("MGET", arguments: ["a", "bc"])
        #expect(String(buffer: many.encoded) == "*3\r\n$4\r\nMGET\r\n$1\r\na\r\n$2\r\nbc\r\n")
        let minimum = RedisCommand("X", Int64.min, 0)
        #expect(String(buffer: minimum.encoded) == "*3\r\n$1\r\nX\r\n$20\r\n-9223372036854775808\r\n$1\r\n0\r\n")
        // What a command encodes, the decoder reads back as the same strings.
        var encoded = command.encoded
        var decoder = RESPDecoder()
        let decoded = try #require(try decoder.decode(&encoded))
        #expect(decoded.array?.compactMap(\.string) == ["SET", "key", "v\r\n", "42", "-7"])
    }

    @Test func scriptDigestsAreSHA1() {
        #expect(RedisScript(name: "t", source: "return 1").digest == "e0e1f9fabfc9d4800c877a703b823ac0578ff8db")
        #expect(RedisScript(name: "t", source: "").digest == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
    }
}
