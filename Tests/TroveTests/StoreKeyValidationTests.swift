import Foundation
import Testing
@_spi(Testing) import Trove
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

/// Found by the `store-key` fuzz target (Fuzz/): `segments` split by `Character`, so a `/`
/// followed by a combining mark, one `Character`, did not end a segment although validation
/// (by bytes) counts it as a separator; the file store then made a file name holding a `/`.
@Suite("Key segments split by bytes")
struct StoreKeySegmentBytesTests {
    @Test(arguments: ["a/\u{301}b", ".,xd/\u{487}\u{FFFD}\u{FFFD}(", "x/\u{301}/y", "a/\u{20DD}"])
    func aSlashBeforeACombiningMarkEndsASegment(_ raw: String) throws {
        let key = try StoreKey(validating: raw)
        let bytes = Array(raw.utf8)
        let expected = bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).map(Array.init)
        #expect(key.segments.map { Array($0.utf8) } == expected)
        #expect(key.segments.allSatisfy { !$0.utf8.contains(UInt8(ascii: "/")) })
        #expect(Array(key.segments.last!.utf8) == Array(key.lastSegment.utf8))
    }

    @Test func aFileStoreKeepsSuchAKeyApartFromItsParent() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("trove-segments-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try FileSystemStore(root: directory)
        let parent = try StoreKey(validating: ".,xd")
        let child = try StoreKey(validating: ".,xd/\u{301}x")
        try await store.set(Data("parent".utf8), for: parent)
        try await store.set(Data("child".utf8), for: child)
        #expect(try await store.value(for: parent) == Data("parent".utf8))
        #expect(try await store.value(for: child) == Data("child".utf8))
    }
}

/// Found by the `store-key` and `file-name` fuzz targets (Fuzz/): `lastSegment` and the file
/// store's path of a key stepped over a `/` by `Character`, so the combining mark after it was
/// dropped from the last segment, and `EntryLocation` cut a path inside a character and
/// stopped on a nil (any operation on `a/\u{301}b` in a file store crashed the process).
@Suite("Key last segments after a combining mark")
struct StoreKeyLastSegmentTests {
    @Test func lastSegmentKeepsTheCombiningMark() throws {
        let key = try StoreKey(validating: "a/\u{301}b")
        #expect(Array(key.lastSegment.utf8) == Array("\u{301}b".utf8))
        #expect(key.parent == "a")
        let appended = try StoreKey(validating: "a\u{301}").appending(try StoreKey(validating: "\u{301}x"))
        #expect(Array(appended.lastSegment.utf8) == Array("\u{301}x".utf8))
    }

    @Test func aFileStoreReadsAndWritesSuchAKey() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("trove-last-segment-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try FileSystemStore(root: directory)
        let key = try StoreKey(validating: "a/\u{301}b")
        try await store.set(Data("value".utf8), for: key)
        #expect(try await store.value(for: key) == Data("value".utf8))
        var listed: [StoreKey] = []
        for try await item in try store.keys(withPrefix: "a/") { listed.append(item) }
        #expect(listed == [key])
    }
}

/// A `/` before a combining mark in the places that split a path or a prefix of their own: a
/// listing's prefix, and the component-by-component walk of the portable system calls. Both
/// split by `Character` before, so `a/\u{301}b/` named one directory `a/\u{301}b`.
@Suite("Paths and prefixes split by bytes")
struct SlashBeforeCombiningMarkTests {
    @Test(arguments: [FileSystemStore.SystemCalls.native, .portable])
    func nestedKeysAreWrittenReadAndListedUnderSuchAPrefix(_ systemCalls: FileSystemStore.SystemCalls) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("trove-combining-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try FileSystemStore(root: directory, systemCalls: systemCalls)
        let nested = try StoreKey(validating: "a/\u{301}b/c")
        let plain = try StoreKey(validating: "a/b/c")
        try await store.set(Data("nested".utf8), for: nested)
        try await store.set(Data("plain".utf8), for: plain)
        #expect(try await store.value(for: nested) == Data("nested".utf8))
        #expect(try await store.value(for: plain) == Data("plain".utf8))

        var listed: [StoreKey] = []
        for try await key in try store.keys(withPrefix: "a/\u{301}b/") { listed.append(key) }
        #expect(listed == [nested])
        var names: [String] = []
        for try await element in store.list(try ListQuery(prefix: "a/\u{301}", delimiter: "/")) { names.append(element.name) }
        #expect(names.map { Array($0.utf8) } == [Array("a/\u{301}b/".utf8)])
    }
}
