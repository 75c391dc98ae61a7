import Foundation
import Testing
import Trove
import TroveTestSupport

/// `StoreKey(validating:)` against a model of its rules written from the scalars up, on random
/// strings dense in what the rules are about: slashes, dots, control characters (ASCII and
/// C1), and non-ASCII letters that are allowed.
@Suite("Key validation")
struct StoreKeyValidationTests {
    /// The rules as `StoreKey` documents them: 1 to 1,024 UTF-8 bytes, no control character
    /// (U+0000 to U+001F, U+007F to U+009F), and no segment that is empty, `.` or `..`.
    static func isValidByTheRules(_ text: String) -> Bool {
        let bytes = text.utf8.count
        guard bytes >= 1, bytes <= StoreKey.maximumByteCount else { return false }
        guard !text.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) else { return false }
        return text.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." }
    }

    @Test func randomStringsAreJudgedAsTheRulesSay() {
        let pieces = ["a", "b", ".", "..", "/", "/", "é", "\u{7F}", "\u{1F}", "\u{85}", "\u{A0}", "~", " ", "\0"]
        var generator = SplitMix64(seed: 0x5EED)
        var accepted = 0, rejected = 0, disagreements: [String] = []
        for _ in 0..<20_000 {
            let count = Int.random(in: 0...6, using: &generator)
            let text = (0..<count).map { _ in pieces.randomElement(using: &generator)! }.joined()
            let valid = (try? StoreKey(validating: text)) != nil
            if valid { accepted += 1 } else { rejected += 1 }
            if valid != Self.isValidByTheRules(text) { disagreements.append(text.debugDescription) }
        }
        #expect(disagreements.count == 0, "judged otherwise than the rules: \(disagreements.prefix(10))")
        // Both outcomes are well represented, so the comparison means something.
        #expect(accepted > 2_000 && rejected > 2_000)
    }

    @Test func lengthIsCountedInBytes() throws {
        let longest = String(repeating: "k", count: StoreKey.maximumByteCount)
        #expect(try StoreKey(validating: longest).byteCount == StoreKey.maximumByteCount)
        #expect(throws: StoreError.self) { try StoreKey(validating: longest + "k") }
        // 512 two-byte letters are 1,024 bytes; one more is too many.
        let accented = String(repeating: "é", count: StoreKey.maximumByteCount / 2)
        #expect(try StoreKey(validating: accented).byteCount == StoreKey.maximumByteCount)
        #expect(throws: StoreError.self) { try StoreKey(validating: accented + "k") }
    }

    @Test func appendingKeysChecksOnlyTheLength() throws {
        let half = try StoreKey(validating: String(repeating: "h", count: 511))
        let joined = try half.appending(half)
        #expect(joined.byteCount == 1_023)
        #expect(joined.segments.count == 2)
        let error = #expect(throws: StoreError.self) { try joined.appending("x") }
        #expect(error?.code == .invalidKey)
    }
}
