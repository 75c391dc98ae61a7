import Testing
import Trove
import TroveIntegrationSupport

/// The mapping from framework string keys to store keys: readable where it can be, reversible,
/// injective, and refusing what is too long with a typed error.
@Suite("String key encoding")
struct StringKeyEncodingTests {
    /// Strings that are already valid one-segment keys, kept as they are.
    static let readable = [
        "a", "hbs.Zm9vYmFy+==", "user:42", "ratelimit:203.0.113.7:GET", "café", "a b", "a.b", "...", ".a", "a.",
        "日本語", "emoji 🎉", "a\\b", "?x=1&y=2#frag", "~", "+=",
    ]

    @Test(arguments: readable)
    func validStringsWithoutSlashOrPercentStayAsTheyAre(_ string: String) throws {
        let key = try StringKeyEncoding.storeKey(for: string)
        #expect(key.rawValue == string)
        #expect(StringKeyEncoding.string(for: key) == string)
    }

    /// Strings that need escaping, and what they become.
    static let escaped: [(String, String)] = [
        ("", "%"),
        (".", "%2E"),
        ("..", "%2E%2E"),
        ("/", "%2F"),
        ("//", "%2F%2F"),
        ("a/b", "a%2Fb"),
        ("/a/", "%2Fa%2F"),
        ("a/../b", "a%2F..%2Fb"),
        ("%", "%25"),
        ("%2F", "%252F"),
        ("100%", "100%25"),
        ("\u{0}", "%00"),
        ("line\nbreak", "line%0Abreak"),
        ("tab\t", "tab%09"),
        ("\u{7F}", "%7F"),
        ("\u{85}", "%C2%85"),
        ("\u{9F}x", "%C2%9Fx"),
        ("hbs.ab/cd+ef==", "hbs.ab%2Fcd+ef=="),
    ]

    @Test(arguments: escaped)
    func slashPercentControlsEmptyAndDotSegmentsAreEscaped(_ string: String, _ expected: String) throws {
        let key = try StringKeyEncoding.storeKey(for: string)
        #expect(key.rawValue == expected)
        #expect(key.segments.count == 1)
        #expect(StringKeyEncoding.string(for: key) == string)
    }

    @Test func canonicallyEquivalentStringsAreDifferentKeys() throws {
        let precomposed = "caf\u{E9}", decomposed = "cafe\u{301}"
        #expect(precomposed == decomposed)  // Swift's String equality
        let first = try StringKeyEncoding.storeKey(for: precomposed)
        let second = try StringKeyEncoding.storeKey(for: decomposed)
        #expect(first != second)
        #expect(StringKeyEncoding.string(for: first).map { Array($0.unicodeScalars) } == Array(precomposed.unicodeScalars))
        #expect(StringKeyEncoding.string(for: second).map { Array($0.unicodeScalars) } == Array(decomposed.unicodeScalars))
    }

    /// Keys that the mapping never produces decode to nothing, so decoding is injective too.
    @Test(arguments: ["a/b", "%2f", "%41", "%2", "%G0", "%%", "%FF", "%C2", "%2E.", "x%", "%2E%2E%2E", "%25%"])
    func keysTheMappingNeverProducesDoNotDecode(_ raw: String) throws {
        let key = try StoreKey(validating: raw)
        #expect(StringKeyEncoding.string(for: key) == nil)
    }

    @Test func theLongestStringThatFitsIsAcceptedAndOneMoreByteIsRefused() throws {
        let longest = String(repeating: "a", count: StoreKey.maximumByteCount)
        #expect(try StringKeyEncoding.storeKey(for: longest).byteCount == StoreKey.maximumByteCount)
        let error = #expect(throws: StoreError.self) { try StringKeyEncoding.storeKey(for: longest + "a") }
        #expect(error?.code == .invalidKey)
        #expect(error?.message.contains("1025 bytes") == true)
    }

    @Test func escapingCountsTowardsTheLimit() throws {
        // 341 slashes take 1,023 bytes once escaped; 342 take 1,026.
        #expect(try StringKeyEncoding.storeKey(for: String(repeating: "/", count: 341)).byteCount == 1023)
        let error = #expect(throws: StoreError.self) {
            try StringKeyEncoding.storeKey(for: String(repeating: "/", count: 342))
        }
        #expect(error?.code == .invalidKey)
        #expect(error?.message.contains("342 UTF-8 bytes") == true)
        #expect(error?.message.contains("1026 bytes") == true)
    }

    @Test func randomStringsRoundTripAndNeverShareAKey() throws {
        var generator = SplitMix64(seed: 0x7407E)
        // Characters that need care, mixed with arbitrary scalars from every plane.
        let tricky: [Unicode.Scalar] = ["/", "%", ".", "2", "F", "E", "a", "\u{0}", "\n", "\u{7F}", "\u{85}", "\u{9F}", "\u{A0}", "é", "\u{301}", "🎉"]
        var strings = Set<[Unicode.Scalar]>()
        var owners: [StoreKey: [Unicode.Scalar]] = [:]
        for _ in 0..<5_000 {
            let length = Int(generator.next() % 12)
            var scalars: [Unicode.Scalar] = []
            for _ in 0..<length {
                if generator.next() % 3 == 0 {
                    scalars.append(Self.randomScalar(&generator))
                } else {
                    scalars.append(tricky[Int(generator.next() % UInt64(tricky.count))])
                }
            }
            let string = String(String.UnicodeScalarView(scalars))
            let key = try StringKeyEncoding.storeKey(for: string)
            #expect(try StoreKey(validating: key.rawValue) == key, "not a valid key: \(key)")
            #expect(key.segments.count == 1)
            let decoded = try #require(StringKeyEncoding.string(for: key), "\(key) does not decode")
            #expect(Array(decoded.unicodeScalars) == scalars)
            if let owner = owners[key] {
                #expect(owner == scalars, "two strings map to \(key)")
            }
            owners[key] = scalars
            strings.insert(scalars)
        }
        #expect(owners.count == strings.count)
        #expect(strings.count > 4_000)
    }

    /// A scalar anywhere in Unicode, surrogates excepted.
    static func randomScalar(_ generator: inout SplitMix64) -> Unicode.Scalar {
        while true {
            let value = UInt32(generator.next() % 0x110000)
            if let scalar = Unicode.Scalar(value) { return scalar }
        }
    }
}

/// A small, seeded generator, so that a failing random case can be reproduced.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
