import Foundation
import Testing
@testable import Trove
import TroveTestSupport

/// The fast JSON decoder behind ``JSONCodec`` against Foundation's `JSONDecoder`: wherever the
/// fast decoder succeeds, it must give Foundation's value, and it must fail wherever Foundation
/// fails. Where it is meant to be fast, it must also succeed.
@Suite("Fast JSON decoder")
struct FastJSONDecoderTests {
    // MARK: Scalars

    @Test func integersOfEveryWidthAtTheirBounds() {
        checkIntegers(Int8.self)
        checkIntegers(Int16.self)
        checkIntegers(Int32.self)
        checkIntegers(Int64.self)
        checkIntegers(Int.self)
        checkIntegers(UInt8.self)
        checkIntegers(UInt16.self)
        checkIntegers(UInt32.self)
        checkIntegers(UInt64.self)
        checkIntegers(UInt.self)
        expectFastRoundTrip(FJIntegers.extremes(max: true))
        expectFastRoundTrip(FJIntegers.extremes(max: false))
    }

    @Test func wideIntegersAgreeWithFoundation() {
        for text in ["0", "5", "-5", "18446744073709551615", "-9223372036854775808", "170141183460469231731687303715884105727", "1.0", "-0"] {
            expectFastDecodingAgrees(Int128.self, text)
            expectFastDecodingAgrees(UInt128.self, text)
            expectFastDecodingAgrees([Int128].self, "[\(text)]")
        }
    }

    @Test func floatingPointValuesAreBitForBitFoundations() {
        let texts = [
            "0", "-0", "0.0", "-0.0", "0e0", "-0e-5", "0e400", "1", "-1", "0.1", "0.2", "0.30000000000000004", "1.5", "-2.25",
            "3.141592653589793", "2.718281828459045", "1e22", "1e23", "1E5", "1e+5", "2.5e-5", "123456789", "9007199254740992",
            "9007199254740993", "9007199254740995", "18446744073709551615", "123456789012345678901234567890",
            "1.7976931348623157e308", "1.7976931348623158e308", "1.7976931348623159e308", "1e308", "1e309", "1e400", "-1e400",
            "2.2250738585072014e-308", "2.2250738585072011e-308", "4.9e-324", "5e-324", "2.4703282292062327e-324",
            "2.4703282292062328e-324", "1e-320", "1e-323", "1e-400", "-1e-400", "0.000001", "1e-7", "100000000000000000000000",
            "3.4028235e38", "3.4028236e38", "3.5e38", "1.17549435e-38", "1.4e-45", "1e-45", "7e-46", "1e-46", "16777216",
            "16777217", "16777219", "0.1000000000000000055511151231257827", "1.00000000000000011102230246251565404236316680908203125",
            "1.00000000000000011102230246251565404236316680908203126", "7.038531e-26", "1090544144181609348835077142190",
            "4.4501477170144023e-308", "2.225073858507201136057409796709131975934819546351645648e-308", "0.5", "1e-1",
            "100", "1e2", "12.5e1", "-12.5e-1", "1.0e+0",
        ]
        for text in texts {
            expectFastDecodingAgrees(Double.self, text)
            expectFastDecodingAgrees(Float.self, text)
            expectFastDecodingAgrees([Double].self, "[\(text)]")
            expectFastDecodingAgrees(FJFloats.self, #"{"double":\#(text),"float":\#(text)}"#)
        }
        // The common ones are read on the fast path.
        for text in ["0", "-0.0", "0.1", "1.5", "3.141592653589793", "1e22", "1.7976931348623157e308", "1e-320", "5e-324", "100", "2.5e-5"] {
            expectFastDecodingAgrees(Double.self, text, mustBeFast: true)
        }
        for text in ["0", "-0.0", "0.1", "1.5", "3.4028235e38", "1.4e-45", "16777217"] {
            expectFastDecodingAgrees(Float.self, text, mustBeFast: true)
        }
        let invalid = ["NaN", "\"NaN\"", "Infinity", "-Infinity", "\"Infinity\"", "nan", "inf", "1.", ".5", "-", "+1", "1e", "1e+",
                       "01", "-01", "00", "1.5.2", "0x10", "1_000"]
        for text in invalid {
            expectFastDecodingAgrees(Double.self, text)
            expectFastDecodingAgrees(Float.self, text)
            expectFastDecoderRejects(Double.self, text)
        }
    }

    @Test func randomDoublesAndFloatsRoundTripExactly() {
        var random = SplitMix64(seed: 0xF10A7)
        for _ in 0..<3000 {
            let double = Double(bitPattern: random.next())
            if double.isFinite { expectFastRoundTrip(FJBits(double)) }
            let float = Float(bitPattern: UInt32(truncatingIfNeeded: random.next()))
            if float.isFinite { expectFastRoundTrip(FJBits(float)) }
            let ordinary = Double.random(in: -1e6...1e6, using: &random)
            expectFastRoundTrip(FJBits(ordinary))
            expectFastRoundTrip(FJBits(Float(ordinary)))
        }
    }

    @Test func randomDecimalTextsParseAsFoundationParsesThem() {
        var random = SplitMix64(seed: 0xDEC1)
        for _ in 0..<4000 {
            let digitCount = Int.random(in: 1...28, using: &random)
            var digits = (0..<digitCount).map { _ in String(Int.random(in: 0...9, using: &random)) }.joined()
            while digits.count > 1 && digits.hasPrefix("0") { digits.removeFirst() }
            var text = Bool.random(using: &random) ? "-" : ""
            let point = Int.random(in: 0...digits.count, using: &random)
            if point > 0 && point < digits.count && Bool.random(using: &random) {
                let split = digits.index(digits.startIndex, offsetBy: point)
                text += digits[..<split] + "." + digits[split...]
            } else {
                text += digits
            }
            if Bool.random(using: &random) {
                text += ["e", "E"].randomElement(using: &random)! + ["", "+", "-"].randomElement(using: &random)!
                text += String(Int.random(in: 0...(Bool.random(using: &random) ? 40 : 340), using: &random))
            }
            expectFastDecodingAgrees(FJBits<Double>.self, #"{"value":\#(text)}"#)
            expectFastDecodingAgrees(FJBits<Float>.self, #"{"value":\#(text)}"#)
        }
    }

    @Test func booleansAndNull() {
        expectFastDecodingAgrees(Bool.self, "true", mustBeFast: true)
        expectFastDecodingAgrees(Bool.self, " false\n", mustBeFast: true)
        expectFastDecodingAgrees(Int?.self, "null", mustBeFast: true)
        expectFastDecodingAgrees([Bool?].self, "[true,null,false]", mustBeFast: true)
        for text in ["True", "tru", "truee", "1", "0", "\"true\"", "null", "nul", "NULL", "[]"] {
            expectFastDecodingAgrees(Bool.self, text)
        }
        for text in ["nul", "nulll", "Null", "undefined"] {
            expectFastDecodingAgrees(Int?.self, text)
        }
    }

    @Test func stringsWithEscapesAndUnicode() {
        let strings = [
            "", "plain", "quote \" backslash \\ slash /", "tab\tnewline\ncarriage\rback\u{8}feed\u{C}", "nul \u{0} bell \u{7} esc \u{1B}",
            "del \u{7F}", "naïve café", "日本語テキスト", "emoji 🚀👩‍👩‍👧‍👦🇫🇷", "combining e\u{301} and é", "kelvin \u{212A}",
            "\u{FFFF}\u{10FFFF}",
            "</script>", String(repeating: "long ascii text ", count: 40), String(repeating: "ü", count: 300),
        ]
        for string in strings {
            expectFastRoundTrip(string)
            expectFastRoundTrip([string])
            expectFastRoundTrip(FJInner(id: 1, payload: string))
        }
        // Hand-written escapes, including ones JSONEncoder never writes.
        let texts = [
            #""\u00e9""#, #""\u00E9\u00e9""#, #""\ud83d\ude80""#, #""\uD83D\uDE80x""#, #""\u0000""#, #""\u001f""#, #""\/\/""#,
            #""a\u0301""#, #""\uffff""#, #""\u2028\u2029""#, #""\b\f\n\r\t\"\\""#,
        ]
        for text in texts {
            expectFastDecodingAgrees(String.self, text, mustBeFast: true)
        }
    }

    @Test func invalidStringsAreNeverAccepted() {
        let texts = [
            #""\ud83d""#, #""\ud83dx""#, #""\ud83d\u0041""#, #""\ude80""#, #""\ude80\ud83d""#, #""\u12""#, #""\u12g4""#, #""\x""#,
            #""\'""#, #""\U00e9""#, "\"a\tb\"", "\"a\nb\"", "\"\u{1}\"", #""unterminated"#, #"""#, #""\""#, #""\u""#,
        ]
        for text in texts {
            expectFastDecodingAgrees(String.self, text)
            expectFastDecoderRejects(String.self, text)
        }
        // Bytes that are not UTF-8: a lone continuation byte, an overlong form, an encoded
        // surrogate, a code point above U+10FFFF, truncated sequences, Latin-1.
        let invalid: [[UInt8]] = [[0x80], [0xC0, 0xAF], [0xC1, 0xBF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
                                  [0xF5, 0x80, 0x80, 0x80], [0xE2, 0x82], [0xF0, 0x9F, 0x9A], [0xE9], [0xFF], [0xC3]]
        for bytes in invalid {
            let data = Data([0x22, 0x61] + bytes + [0x62, 0x22])
            expectFastDecodingAgrees(String.self, data)
            #expect(throws: (any Error).self) { try FastJSONDecoder.decode(String.self, from: data) }
            let keyData = Data([0x7B, 0x22] + bytes + [0x22, 0x3A, 0x31, 0x7D])
            expectFastDecodingAgrees([String: Int].self, keyData)
        }
    }

    @Test func dataIsBase64() {
        var random = SplitMix64(seed: 0xDA7A)
        for length in 0..<40 {
            let bytes = Data((0..<length).map { _ in UInt8.random(in: 0...255, using: &random) })
            expectFastRoundTrip(bytes)
            expectFastRoundTrip(FJBlob(bytes: bytes, optional: bytes, list: [bytes, Data()]))
        }
        for text in [#""""#, #""AQ==""#, #""AQI=""#, #""AQID""#, #""AR==""#, #""AQJ=""#, #""AQ""#, #""AQ=""#, #""A===""#, #""====""#,
                     #""!!!!""#, #""AQ==AQ==""#, #""AQ\u003d\u003d""#, #""A Q==""#, #""-_8=""#, "null", "12", "[]"] {
            expectFastDecodingAgrees(Data.self, text)
            expectFastDecodingAgrees(Data?.self, text)
        }
    }

    @Test func datesAreSecondsSinceTheReferenceDate() {
        for date in [Date(timeIntervalSinceReferenceDate: 0), Date(timeIntervalSince1970: 1_700_000_000.123), Date.distantPast,
                     Date.distantFuture, Date(timeIntervalSinceReferenceDate: -0.5), Date(timeIntervalSinceReferenceDate: 1e-300)] {
            expectFastRoundTrip(date)
            expectFastRoundTrip([date])
        }
        for text in ["0", "1", "-1.5", "1e10", "\"2023-11-14T22:13:20Z\"", "null", "true", "1e400"] {
            expectFastDecodingAgrees(Date.self, text)
        }
    }

    @Test func urlsAreReadWithURLStringInitializer() {
        for text in [#""https://example.com/a?b=c#d""#, #""relative/path""#, #""""#, #""a b""#, #""http://[::1]:80/""#,
                     #""file:///tmp/x y""#, #""https:\/\/example.com""#, #""%%%""#, #""http://exa mple.com""#, "12", "null"] {
            expectFastDecodingAgrees(URL.self, text)
            expectFastDecodingAgrees(FJLink.self, #"{"url":\#(text)}"#)
        }
        expectFastDecodingAgrees(URL.self, #""https://example.com/a?b=c#d""#, mustBeFast: true)
    }

    @Test func decimalsAreLeftToFoundation() throws {
        expectFastDecoderRejects(Decimal.self, "1.5")
        expectFastDecoderRejects([String: Decimal].self, #"{"a":1}"#)
        // The codec still reads them, through Foundation.
        #expect(try JSONCodec<Decimal>().decode(Data("1.5".utf8)) == Decimal(string: "1.5"))
    }

    // MARK: Structure

    @Test func topLevelFragmentsAndWhitespace() {
        expectFastDecodingAgrees(Int.self, " \t\r\n42 \t\r\n", mustBeFast: true)
        expectFastDecodingAgrees(String.self, #" "x" "#, mustBeFast: true)
        expectFastDecodingAgrees([Int].self, " [ 1 , 2 ,3 ] ", mustBeFast: true)
        expectFastDecodingAgrees(FJInner.self, " {\n \"id\" : 1 ,\t\"payload\":\"p\" } ", mustBeFast: true)
        for text in ["", " ", "42 x", "42,", "[1] [2]", "{} {}", "\"x\" \"y\"", "[1,]", "[,1]", "[1 2]", "{\"id\":1,}", "{,}", "{\"id\" 1}",
                     "{\"id\":1 \"payload\":\"p\"}", "{id:1}", "{'id':1}", "[1", "{\"id\":1", "\u{FEFF}42", "\u{0}42", "42\u{0}",
                     "/* c */ 42", "// c\n42", "[1]]", "]", "}"] {
            expectFastDecodingAgrees(Int.self, text)
            expectFastDecodingAgrees([Int].self, text)
            expectFastDecodingAgrees(FJInner.self, text)
            expectFastDecoderRejects(FJInner.self, text)
        }
        // A UTF-8 byte order mark, and UTF-16 and UTF-32, which Foundation detects.
        expectFastDecodingAgrees(Int.self, Data([0xEF, 0xBB, 0xBF, 0x34, 0x32]))
        expectFastDecodingAgrees(Int.self, Data("42".utf16.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }))
        expectFastDecodingAgrees(Int.self, Data("42".utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }))
        expectFastDecodingAgrees([Int].self, Data([0xFF, 0xFE, 0x5B, 0x00, 0x31, 0x00, 0x5D, 0x00]))
        expectFastDecodingAgrees([Int].self, Data([0x00, 0x00, 0x00, 0x5B, 0x00, 0x00, 0x00, 0x5D]))
    }

    @Test func deepNestingIsLeftToFoundation() {
        let shallow = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        expectFastDecodingAgrees(FJNested.self, shallow, mustBeFast: true)
        for depth in [255, 256, 257, 300, 511, 512, 513, 600] {
            let text = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
            expectFastDecodingAgrees(FJNested.self, text)
        }
    }

    @Test func nestedStructuresEnumsOptionalsAndCollections() throws {
        expectFastRoundTrip(FJEverything.sample)
        expectFastRoundTrip(FJEverything.sparse)
        expectFastRoundTrip([FJEverything.sample, FJEverything.sparse])
        expectFastRoundTrip(["a": FJEverything.sample])
        for shape in [FJShape.circle(radius: 1.5), .rectangle(width: 2, height: 3), .point, .labelled("x", nil),
                      .labelled("y", FJInner(id: 9, payload: "z"))] {
            expectFastRoundTrip(shape)
        }
        expectFastRoundTrip([FJColour.red, .blue])
        expectFastDecodingAgrees(FJColour.self, #""purple""#)
        expectFastDecodingAgrees(FJShape.self, #"{"circle":{"radius":1},"point":{}}"#)
        expectFastDecodingAgrees(FJShape.self, #"{"square":{}}"#)
        expectFastDecodingAgrees(FJShape.self, #"{}"#)
        expectFastRoundTrip([1, nil, 3] as [Int?])
        expectFastRoundTrip([["a": [1, nil]], [:]] as [[String: [Int?]]])
        expectFastRoundTrip([1: "one", -7: "minus seven", 0: ""] as [Int: String])
        expectFastRoundTrip([String: Int](uniqueKeysWithValues: (0..<100).map { ("key \($0)", $0) }))
        expectFastRoundTrip([Int: Int](uniqueKeysWithValues: (0..<100).map { ($0 * 37, $0) }))
        // A set's order differs from one instance to the next, so compare sets only by `==`.
        let set: Set = ["a", "b", "c"]
        #expect(try FastJSONDecoder.decode(Set<String>.self, from: JSONEncoder().encode(set)) == set)
        expectFastRoundTrip(FJWrapper(inner: FJWrapper(inner: nil)))
    }

    @Test func missingKeysNullsAndWrongTypes() {
        expectFastDecodingAgrees(FJInner.self, #"{"id":1}"#)
        expectFastDecodingAgrees(FJInner.self, #"{"payload":"p"}"#)
        expectFastDecodingAgrees(FJInner.self, #"{"id":null,"payload":"p"}"#)
        expectFastDecodingAgrees(FJInner.self, #"{"id":"1","payload":"p"}"#)
        expectFastDecodingAgrees(FJInner.self, #"{"id":1,"payload":2}"#)
        expectFastDecodingAgrees(FJInner.self, #"{"id":1,"payload":"p","extra":[1,{"a":null}]}"#, mustBeFast: true)
        expectFastDecodingAgrees(FJInner.self, #"[1,"p"]"#)
        expectFastDecodingAgrees(FJInner.self, "null")
        expectFastDecodingAgrees(FJOptionals.self, #"{}"#, mustBeFast: true)
        expectFastDecodingAgrees(FJOptionals.self, #"{"number":null,"text":null,"list":null,"inner":null}"#, mustBeFast: true)
        expectFastDecodingAgrees(FJOptionals.self, #"{"number":1,"text":"t","list":[null],"inner":{"id":1,"payload":""}}"#, mustBeFast: true)
        expectFastDecodingAgrees(FJOptionals.self, #"{"number":"1"}"#)
        expectFastDecodingAgrees(FJOptionals.self, #"{"inner":{"id":1}}"#)
        expectFastDecodingAgrees([Int].self, #"[1,"2"]"#)
        expectFastDecodingAgrees([Int].self, #"{"0":1}"#)
        expectFastDecodingAgrees([String: Int].self, #"[1]"#)
        expectFastDecodingAgrees([Int: Int].self, #"{"x":1}"#)
        expectFastDecodingAgrees([Int: Int].self, #"{"1.5":1}"#)
    }

    @Test func duplicateAndEquivalentKeys() {
        expectFastDecodingAgrees(FJInner.self, #"{"id":1,"payload":"a","id":2}"#)
        expectFastDecodingAgrees([String: Int].self, #"{"a":1,"a":2,"b":3}"#)
        // Swift compares strings by canonical equivalence, and so does Foundation's dictionary of
        // keys: "é" precomposed and decomposed are one key, and so are the Kelvin sign and "K".
        expectFastDecodingAgrees([String: Int].self, #"{"\u00e9":1,"e\u0301":2}"#)
        expectFastDecodingAgrees([String: Int].self, "{\"é\":1,\"e\u{301}\":2}")
        expectFastDecodingAgrees(FJAccent.self, "{\"e\u{301}\":1,\"\u{212A}\":2}")
        expectFastDecodingAgrees(FJAccent.self, "{\"é\":1,\"K\":2}", mustBeFast: true)
        expectFastDecodingAgrees(FJAccent.self, #"{"\u00e9":1,"\u212a":2}"#)
        // Keys that name one integer: the result would depend on the order of the keys.
        expectFastDecodingAgrees([Int: Int].self, #"{"1":1,"01":2}"#)
        expectFastDecoderRejects([Int: Int].self, #"{"1":1,"01":2}"#)
        expectFastDecodingAgrees([Int: Int].self, #"{"1":1,"+1":2}"#)
        // Many members, so that the container indexes its keys.
        let many = (0..<40).map { #""k\#($0)":\#($0)"# }.joined(separator: ",")
        expectFastDecodingAgrees([String: Int].self, "{\(many),\"k3\":99}", mustBeFast: true)
        expectFastDecodingAgrees(FJInner.self, "{\(many),\"id\":1,\"payload\":\"x\",\"id\":2}", mustBeFast: true)
    }

    @Test func classHierarchiesUseSuperDecoders() {
        expectFastRoundTrip(FJDog(name: "Rex", breed: "collie"))
        expectFastRoundTrip(FJCat(name: "Tom", lives: 9))
        expectFastRoundTrip([FJDog(name: "A", breed: "b"), FJDog(name: "C", breed: "d")])
        expectFastDecodingAgrees(FJDog.self, #"{"breed":"b"}"#)
        expectFastDecodingAgrees(FJDog.self, #"{"breed":"b","super":null}"#)
    }

    @Test func handWrittenDecodersSeeWhatFoundationsShow() {
        let text = #"""
        {"a": 1, "n": null, "list": [5, {"x": 7}, [null, 8], null, 9], "object": {"deep": 3}, "super": 4, "e\u0301": true}
        """#
        let comparison = expectFastDecodingAgrees(FJInspector.self, text, mustBeFast: true)
        if case .success(let inspector) = comparison.fast {
            #expect(inspector.observations.contains("list count Optional(5) atEnd false index 0 path list|-"))
        }
        expectFastDecodingAgrees(FJInspector.self, #"{"a": 1, "n": null, "list": [], "object": {"deep": 3}}"#)
        expectFastDecodingAgrees(FJInspector.self, #"{"a": 1, "n": null, "list": [5, 6, 7], "object": {"deep": 3}}"#)
        expectFastDecodingAgrees(FJInspector.self, #"{"n": null, "list": [], "object": {"deep": 3}}"#)
        expectFastDecodingAgrees(FJSingleValues.self, #"[1, "two", 3.5, true, null, [4], {"five": 5}]"#, mustBeFast: true)
        expectFastDecodingAgrees(FJSingleValues.self, #"[1, "two", 3.5, true, 0, [4], {"five": 5}]"#)
    }

    @Test func caughtErrorsSendTheDecodingToFoundation() throws {
        // Foundation reads 1.0 as the integer 1; the fast decoder does not, and must not let the
        // type's fallback value through.
        expectFastDecoderRejects(FJLenient.self, #"{"a":1.0}"#)
        expectFastDecodingAgrees(FJLenient.self, #"{"a":1.0}"#)
        expectFastDecodingAgrees(FJLenient.self, #"{"a":1}"#, mustBeFast: true)
        #expect(try JSONCodec<FJLenient>().decode(Data(#"{"a":1.0}"#.utf8)).a == 1)
        #expect(try JSONCodec<FJLenient>().decode(Data(#"{"a":"x"}"#.utf8)).a == -1)
        // Reading past the end of an array: Foundation answers nil and moves on.
        expectFastDecodingAgrees(FJPastTheEnd.self, "[1]")
        #expect(try JSONCodec<FJPastTheEnd>().decode(Data("[1]".utf8)) == (try JSONDecoder().decode(FJPastTheEnd.self, from: Data("[1]".utf8))))
    }

    @Test func decodersThatEscapeStayValid() throws {
        let escaped = try FastJSONDecoder.decode(FJEscaper.self, from: Data(#"{"name":"kept after decoding","n":[1,2]}"#.utf8))
        let container = try escaped.decoder.container(keyedBy: FJAnyKey.self)
        #expect(try container.decode(String.self, forKey: "name") == "kept after decoding")
        var list = try container.nestedUnkeyedContainer(forKey: "n")
        #expect(try list.decode(Int.self) == 1)
    }

    // MARK: Through the codec

    @Test func theCodecUsesTheFastDecoderOnlyWithItsDefaultDecoder() async throws {
        let store = MemoryStore()
        let records = store.typed(as: FJInner.self)
        try await checkRoundTrips(records, [FJInner(id: 1, payload: "one"), FJInner(id: -2, payload: "twö \u{0} \"2\"")])
        try await checkRoundTrips(store.typed(as: FJEverything.self), [.sample, .sparse])

        // A decoder of one's own is used as it is: ISO 8601 dates decode.
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let stamped = store.prefixed("iso").typed(as: FJStamped.self, codec: .json(encoder: encoder, decoder: decoder))
        let stamp = FJStamped(at: Date(timeIntervalSince1970: 1_700_000_000))
        try await checkRoundTrips(stamped, [stamp])
        #expect(try JSONCodec<FJStamped>(decoder: decoder).decode(Data(#"{"at":"2023-11-14T22:13:20Z"}"#.utf8)) == stamp)
        #expect(throws: DecodingError.self) { try JSONCodec<FJStamped>().decode(Data(#"{"at":"2023-11-14T22:13:20Z"}"#.utf8)) }
        // And so is a decoder that converts snake case keys.
        let snake = JSONDecoder()
        snake.keyDecodingStrategy = .convertFromSnakeCase
        #expect(try JSONCodec<FJSnake>(decoder: snake).decode(Data(#"{"user_name":"x"}"#.utf8)).userName == "x")
        #expect(throws: DecodingError.self) { try JSONCodec<FJSnake>().decode(Data(#"{"user_name":"x"}"#.utf8)) }

        // Bytes that are not JSON are still a decoding failure with Foundation's error.
        try await store.set(Data("{\"id\":1,".utf8), for: "broken")
        let error = try await expectTypedError(.decodingFailed) { _ = try await records["broken"] }
        #expect(error.underlying is DecodingError)
        try await store.set(Data(#"{"id":1.5,"payload":"p"}"#.utf8), for: "fraction")
        let mismatch = try await expectTypedError(.decodingFailed) { _ = try await records["fraction"] }
        #expect(mismatch.underlying is DecodingError)
        // What only Foundation reads still reads.
        try await store.set(Data(#"{"id":1.0,"payload":"p",}"#.utf8), for: "lenient")
        #expect(try await records["lenient"] == FJInner(id: 1, payload: "p"))
    }
}

// MARK: - Helpers

/// Checks one integer type: its bounds round trip on the fast path, and texts that are not plain
/// integers in range are never read differently from Foundation.
private func checkIntegers<T: FixedWidthInteger & Codable>(_ type: T.Type, sourceLocation: SourceLocation = #_sourceLocation) {
    var values: [T] = [.min, .max, 0, 1, .min + 1, .max - 1, .max / 3]
    if T.isSigned { values.append(-1) }
    for value in values {
        expectFastRoundTrip(value, sourceLocation: sourceLocation)
        expectFastRoundTrip([value, value], sourceLocation: sourceLocation)
        expectFastRoundTrip(["v": value], sourceLocation: sourceLocation)
    }
    let texts = [
        "0", "-0", "1", "-1", "01", "-01", "00", "1.0", "-1.0", "1.5", "1e2", "1E2", "1e+2", "1e-2", "100e-2", "0.0", "-0.0", "1e20",
        "\(T.max)", "\(T.min)", "\(T.max)0", "\(T.min)0", "\(T.max).0", "\(T.min).0", "\(T.max)e0", "18446744073709551616",
        "-9223372036854775809", "9223372036854775808", "99999999999999999999999", "300", "-129", "65536", "4294967296", "+1", "- 1",
        "0x10", "true", "\"1\"", "null", "[1]", "1 ", " 1", "1x", "9007199254740993", "9007199254740993.0", "1.00000000000000001",
    ]
    for text in texts {
        expectFastDecodingAgrees(T.self, text, sourceLocation: sourceLocation)
        expectFastDecodingAgrees([T].self, "[\(text)]", sourceLocation: sourceLocation)
        expectFastDecodingAgrees([String: T].self, "{\"k\":\(text)}", sourceLocation: sourceLocation)
        expectFastDecodingAgrees(T?.self, text, sourceLocation: sourceLocation)
    }
}

/// A coding key spelled as a string literal.
struct FJAnyKey: CodingKey, ExpressibleByStringLiteral {
    let stringValue: String
    let intValue: Int?

    init(stringValue: String) {
        self.stringValue = stringValue
        intValue = nil
    }

    init?(intValue: Int) {
        stringValue = "\(intValue)"
        self.intValue = intValue
    }

    init(stringLiteral value: String) {
        self.init(stringValue: value)
    }
}

/// A coding path as text: each key's string value and integer value.
func describe(_ path: [any CodingKey]) -> String {
    path.map { "\($0.stringValue)|\($0.intValue.map(String.init) ?? "-")" }.joined(separator: "/")
}

