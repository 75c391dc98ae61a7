import Foundation
import Testing
@testable import Trove
import TroveTestSupport

/// Random inputs for the fast JSON decoder, from a seeded generator so that failures repeat:
/// random values of nested `Codable` types, the same texts mangled, and random JSON-like texts.
/// Wherever the fast decoder succeeds, Foundation must succeed with an equal value.
@Suite("Fast JSON decoder, random inputs")
struct FastJSONRandomTests {
    @Test func randomValuesOfNestedTypes() {
        var random = SplitMix64(seed: 0x5EED_0001)
        var fast = 0
        for _ in 0..<1500 {
            let value = FJRandomRecord.random(using: &random, depth: 0)
            expectFastRoundTrip(value)
            if let data = canonicalJSON(value), (try? FastJSONDecoder.decode(FJRandomRecord.self, from: data)) != nil { fast += 1 }
        }
        // Values JSONEncoder wrote are the fast decoder's bread and butter.
        #expect(fast == 1500)
    }

    @Test func mangledTextsOfRandomValues() {
        var random = SplitMix64(seed: 0x5EED_0002)
        var agreedOnValue = 0
        for _ in 0..<3000 {
            let value = FJRandomRecord.random(using: &random, depth: 0)
            guard var bytes = canonicalJSON(value).map(Array.init) else { continue }
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                mangle(&bytes, using: &random)
            }
            let comparison = expectFastDecodingAgrees(FJRandomRecord.self, Data(bytes))
            if comparison.fastSucceeded { agreedOnValue += 1 }
        }
        // Some mangled texts still decode (a digit changed, a space added): the comparison above
        // must have seen successes, or it proves nothing.
        #expect(agreedOnValue > 100)
    }

    @Test func randomJSONTexts() {
        var random = SplitMix64(seed: 0x5EED_0003)
        var successes = 0
        for _ in 0..<3000 {
            let text = randomJSON(using: &random, depth: 0)
            let data = Data(text.utf8)
            let results = [
                expectFastDecodingAgrees([String: Int].self, data).fastSucceeded,
                expectFastDecodingAgrees([Int].self, data).fastSucceeded,
                expectFastDecodingAgrees([Double?].self, data).fastSucceeded,
                expectFastDecodingAgrees(String.self, data).fastSucceeded,
                expectFastDecodingAgrees(Double.self, data).fastSucceeded,
                expectFastDecodingAgrees(Int64.self, data).fastSucceeded,
                expectFastDecodingAgrees(Bool?.self, data).fastSucceeded,
                expectFastDecodingAgrees([String: [String: String?]].self, data).fastSucceeded,
                expectFastDecodingAgrees([[Int8]].self, data).fastSucceeded,
                expectFastDecodingAgrees(FJInner.self, data).fastSucceeded,
                expectFastDecodingAgrees(FJOptionals.self, data).fastSucceeded,
                expectFastDecodingAgrees([Int: Float].self, data).fastSucceeded,
                expectFastDecodingAgrees(Data.self, data).fastSucceeded,
            ]
            successes += results.filter { $0 }.count
        }
        #expect(successes > 1000)
    }
}

// MARK: - Generators

/// A nested record with a bit of everything, generated at random.
struct FJRandomRecord: Codable, Equatable {
    var id: Int64
    var small: UInt8?
    var score: Double
    var ratio: Float
    var label: String
    var flags: [Bool]
    var blob: Data
    var when: Date
    var tags: [String: Int]
    var byNumber: [Int: String]
    var shape: FJShape?
    var children: [FJRandomRecord]

    static func random(using random: inout SplitMix64, depth: Int) -> FJRandomRecord {
        FJRandomRecord(
            id: Int64(bitPattern: random.next()) >> Int64.random(in: 0...63, using: &random),
            small: Bool.random(using: &random) ? UInt8.random(in: 0...255, using: &random) : nil,
            score: randomDouble(using: &random),
            ratio: randomFloat(using: &random),
            label: randomString(using: &random),
            flags: (0..<Int.random(in: 0...3, using: &random)).map { _ in Bool.random(using: &random) },
            blob: Data((0..<Int.random(in: 0...12, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }),
            when: Date(timeIntervalSinceReferenceDate: randomDouble(using: &random) / 1e5),
            tags: Dictionary(
                (0..<Int.random(in: 0...4, using: &random)).map { _ in
                    (randomString(using: &random), Int.random(in: -1000...1000, using: &random))
                },
                uniquingKeysWith: { first, _ in first }
            ),
            byNumber: Dictionary(
                (0..<Int.random(in: 0...3, using: &random)).map { _ in
                    (Int.random(in: -50...50, using: &random), randomString(using: &random))
                },
                uniquingKeysWith: { first, _ in first }
            ),
            shape: [nil, .point, .circle(radius: randomDouble(using: &random)), .rectangle(width: 1, height: -2),
                    .labelled(randomString(using: &random), FJInner(id: 3, payload: randomString(using: &random)))].randomElement(using: &random)!,
            children: depth < 2 ? (0..<Int.random(in: 0...2, using: &random)).map { _ in .random(using: &random, depth: depth + 1) } : []
        )
    }
}

/// A finite `Double` of a random kind: small integers, short decimals, any bit pattern.
private func randomDouble(using random: inout SplitMix64) -> Double {
    switch Int.random(in: 0...3, using: &random) {
    case 0: return Double(Int.random(in: -1000...1000, using: &random))
    case 1: return Double(Int.random(in: -100_000...100_000, using: &random)) / 100
    case 2:
        let value = Double(bitPattern: random.next())
        return value.isFinite ? value : 0
    default: return Double.random(in: -1...1, using: &random)
    }
}

/// A finite `Float` of a random kind.
private func randomFloat(using random: inout SplitMix64) -> Float {
    let value = Float(randomDouble(using: &random))
    return value.isFinite ? value : Float(bitPattern: UInt32(truncatingIfNeeded: random.next()) & 0x7F7F_FFFF)
}

/// A string drawn from characters that need escapes, non-ASCII text and plain letters.
private func randomString(using random: inout SplitMix64) -> String {
    let pieces = ["a", "b", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\u{0}", "\u{1F}", "\u{7F}", "é", "e\u{301}", "ü", "日本",
                  "🚀", "👩‍👩‍👧", "\u{2028}", "\u{FEFF}", "\u{212A}", "K", "super", "id"]
    return (0..<Int.random(in: 0...6, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
}

/// Changes `bytes` in one random way: a byte replaced, removed, inserted or doubled, or a slice
/// cut out.
private func mangle(_ bytes: inout [UInt8], using random: inout SplitMix64) {
    guard !bytes.isEmpty else { return }
    let interesting: [UInt8] = Array(#"{}[]:,"\ 0123456789-+.eEtfnul/"#.utf8) + [0x00, 0x09, 0x0A, 0x7F, 0x80, 0xC3, 0xE2, 0xED, 0xFF]
    let index = Int.random(in: 0..<bytes.count, using: &random)
    switch Int.random(in: 0...4, using: &random) {
    case 0: bytes[index] = interesting.randomElement(using: &random)!
    case 1: bytes.remove(at: index)
    case 2: bytes.insert(interesting.randomElement(using: &random)!, at: index)
    case 3: bytes.insert(bytes[index], at: index)
    default:
        let end = min(bytes.count, index + Int.random(in: 1...8, using: &random))
        bytes.removeSubrange(index..<end)
    }
}

/// A random JSON-like text, usually valid, sometimes not: odd numbers, escapes, whitespace,
/// trailing commas, duplicate keys.
private func randomJSON(using random: inout SplitMix64, depth: Int) -> String {
    func whitespace() -> String { ["", "", "", " ", "\n", "\t", " \r\n "].randomElement(using: &random)! }
    let kind = depth > 3 ? Int.random(in: 0...5, using: &random) : Int.random(in: 0...8, using: &random)
    switch kind {
    case 0:
        return ["null", "true", "false", "nul", "True"].randomElement(using: &random)!
    case 1, 2:
        let numbers = ["0", "-0", "1", "-1", "42", "01", "1.0", "1.5", "-2.5e3", "1e2", "1E-2", "1e400", "-1e-400", "9223372036854775807",
                       "9223372036854775808", "-9223372036854775809", "18446744073709551616", "127", "128", "-128", "-129", "255", "256",
                       "0.1", "3.4028235e38", "3.5e38", "1e-46", "4.9e-324", "1.", ".5", "+1", "1e", "--1", "0x1F", "NaN", "Infinity"]
        if Bool.random(using: &random) { return numbers.randomElement(using: &random)! }
        let integer = String(Int.random(in: -300...300, using: &random))
        return Bool.random(using: &random) ? integer : integer + "." + String(Int.random(in: 0...999, using: &random))
    case 3, 4:
        let pieces = ["a", "id", "payload", "number", "text", "list", "inner", "é", "e\\u0301", "\\n", "\\\"", "\\\\", "\\/", "\\u00e9",
                      "\\ud83d\\ude80",
                      "\\ud83d", "\\ude80", "\\x", "\\u12", "\t", "🚀", "AQ==", "AR==", "AQID", "1", "K", "\\u212a"]
        return "\"" + (0..<Int.random(in: 0...3, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined() + "\""
    case 5:
        return ["[]", "{}", "[1,]", "{\"a\":1,}", "[,]", "\"unterminated", "{\"a\"}", "[1 2]"].randomElement(using: &random)!
    case 6, 7:
        let count = Int.random(in: 0...4, using: &random)
        let elements = (0..<count).map { _ in whitespace() + randomJSON(using: &random, depth: depth + 1) + whitespace() }
        return "[" + elements.joined(separator: ",") + (Int.random(in: 0...15, using: &random) == 0 ? ",]" : "]")
    default:
        let keys = ["\"a\"", "\"b\"", "\"id\"", "\"payload\"", "\"number\"", "\"text\"", "\"list\"", "\"inner\"", "\"1\"", "\"01\"", "\"-3\"",
                    "\"\\u0061\"", "\"é\"", "\"e\\u0301\"", "\"\"", "a", "1"]
        let count = Int.random(in: 0...4, using: &random)
        let members = (0..<count).map { _ in
            whitespace() + keys.randomElement(using: &random)! + whitespace() + ":" + whitespace() + randomJSON(using: &random, depth: depth + 1)
        }
        return "{" + members.joined(separator: ",") + (Int.random(in: 0...15, using: &random) == 0 ? ",}" : "}")
    }
}
