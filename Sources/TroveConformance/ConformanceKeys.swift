/// The key tables the key checks use, public so that a backend's own tests (a file-name
/// encoder, a URL encoder) can reuse them.
public enum ConformanceKeys {
    /// Keys that every store must accept and give back unchanged from reads, metadata and
    /// listings: unicode in several widths, spaces, `%`, `\`, characters that file systems or
    /// URLs treat specially, dot names that are not `.` or `..`, a 1,000-byte segment, a deep
    /// path, two spellings of `café` that are equal as Swift strings but not as bytes, and two
    /// keys that differ only in case.
    ///
    /// Every entry is at most 1,008 bytes, so the table fits in a namespace too;
    /// ``longKey(byteCount:)`` makes the longest keys.
    public static let valid: [String] = [
        "plain",
        "héllo wörld",
        "日本語/キー",
        "emoji-🦊🎉",
        "clef-𝄞",
        "with space",
        " leading and trailing space ",
        "100%",
        "%2F%00%zz",
        "back\\slash",
        "colon:star*question?quote\"angle<>pipe|",
        "tilde~hash#amp&eq=plus+semi;comma,at@bang!dollar$quote'paren()bracket[]brace{}",
        "nbsp\u{00A0}zero-width\u{200B}replacement\u{FFFD}",
        ".hidden",
        "dir/.hidden",
        "...",
        "..x",
        "a.",
        "a/b/c/d/e",
        "caf\u{E9}",
        "cafe\u{301}",
        "Case",
        "case",
        "NUL/CON.txt",
        "segment/" + String(repeating: "s", count: 8) + String(repeating: "é", count: 496),
        "single-1000-" + String(repeating: "x", count: 988),
    ]

    /// Strings that `StoreKey.init(validating:)` must refuse with
    /// `StoreError.Code.invalidKey`, each with the rule it breaks.
    public static let invalid: [(string: String, rule: String)] = [
        ("", "empty"),
        ("/", "a lone slash"),
        ("/a", "leading slash"),
        ("a/", "trailing slash"),
        ("a//b", "doubled slash"),
        (".", "'.' segment"),
        ("..", "'..' segment"),
        ("./a", "leading '.' segment"),
        ("a/..", "trailing '..' segment"),
        ("a/./b", "inner '.' segment"),
        ("a/../b", "inner '..' segment"),
        ("../escape", "leading '..' segment"),
        ("nul\u{0}byte", "NUL"),
        ("line\nbreak", "line feed"),
        ("carriage\rreturn", "carriage return"),
        ("tab\tkey", "tab"),
        ("escape\u{1B}key", "ESC"),
        ("del\u{7F}key", "DEL U+007F"),
        ("next-line\u{85}key", "NEL U+0085"),
        ("c1\u{9F}key", "C1 control U+009F"),
        (String(repeating: "k", count: 1025), "1,025 ASCII bytes"),
        (String(repeating: "k", count: 1023) + "é", "1,025 bytes ending in a two-byte character"),
        (longKey(byteCount: 1025), "1,025 bytes over several segments"),
    ]

    /// A key of exactly `byteCount` UTF-8 bytes, mixing one- to four-byte characters in
    /// segments of about 250 bytes.
    ///
    /// - Precondition: `byteCount` is at least 1.
    public static func longKey(byteCount: Int) -> String {
        precondition(byteCount >= 1, "a key has at least one byte")
        let alphabet: [Character] = ["k", "é", "日", "🦊"]
        var result = ""
        var bytes = 0
        var segmentBytes = 0
        var index = 0
        while bytes < byteCount {
            let remaining = byteCount - bytes
            if segmentBytes >= 250, remaining >= 2 {
                result.append("/")
                bytes += 1
                segmentBytes = 0
                continue
            }
            var character = alphabet[index % alphabet.count]
            index += 1
            if character.utf8.count > remaining { character = "k" }
            result.append(character)
            bytes += character.utf8.count
            segmentBytes += character.utf8.count
        }
        return result
    }
}
