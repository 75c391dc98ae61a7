import Testing
import Trove

/// Found by the `store-url` fuzz target (Fuzz/): a password holding a raw `?` is hidden in
/// ``StoreURL/redacted`` (the authority runs to the first `/` there), but parsing cuts the
/// query at that `?` first and reads the password's head as a port; the error quoted it
/// (`the port 'hunt' is not a number ...`), and now names no part of it.
@Suite("Store URL passwords in errors")
struct StoreURLPasswordTests {
    @Test("a password with a raw '?' does not show in the parse error")
    func rawQuestionMarkInPassword() {
        let error = #expect(throws: StoreError.self) { try StoreURL(parsing: "redis://alice:hunt?er2@cache.local/0") }
        #expect(error?.message.contains("alice:***@cache.local/0") == true)
        #expect(error?.message.contains("hunt") == false)
        #expect(error?.message.contains("percent-encoded") == true)
    }
}

/// Found by the `store-url` fuzz target (Fuzz/): the parser found its delimiters by
/// `Character`, so a `#` followed by a joiner (one `Character`) was not seen as a fragment, and
/// a `?`, `/` or `:` followed by a combining mark did not end its part.
@Suite("Store URL delimiters found by bytes")
struct StoreURLDelimiterTests {
    @Test func aFragmentMarkBeforeAJoinerIsRefused() {
        let error = #expect(throws: StoreError.self) { try StoreURL(parsing: "http:#\u{200D}zz@b") }
        #expect(error?.code == .invalidArgument)
    }

    @Test func delimitersBeforeCombiningMarksEndTheirParts() throws {
        let url = try StoreURL(parsing: "redis://h\u{301}:6380/\u{301}db?\u{301}x=1&y=\u{301}2")
        #expect(url.host.map { Array($0.utf8) } == Array("h\u{301}".utf8))
        #expect(url.port == 6380)
        #expect(Array(url.path.utf8) == Array("/\u{301}db".utf8))
        #expect(url.queryItems.map { Array($0.name.utf8) } == [Array("\u{301}x".utf8), Array("y".utf8)])
    }
}

/// Found by the `store-url` fuzz target: the hint for a string that looks like a file path
/// quoted the string as given, password and all.
@Suite("Store URL path hints")
struct StoreURLPathHintTests {
    @Test func theHintQuotesTheURLRedacted() {
        let error = #expect(throws: StoreError.self) { try StoreURL(parsing: "/redis://u:s\u{E9}cret@h:99999/") }
        #expect(error?.message.contains("s\u{E9}cret") == false, "\(String(describing: error?.message))")
        #expect(error?.message.contains("file:///redis://u:***@h:99999/") == true, "\(String(describing: error?.message))")
    }
}

/// Found by the `store-url` fuzz target: a password that starts with a combining mark is one
/// `Character` with the ':' before it, and the redaction kept that mark.
@Suite("Store URL redaction by bytes")
struct StoreURLRedactionTests {
    @Test func aPasswordStartingWithACombiningMarkIsHiddenWhole() throws {
        let url = try StoreURL(parsing: "redis://alice:\u{301}secret@cache.local:6380/2")
        #expect(Array(url.redacted.utf8) == Array("redis://alice:***@cache.local:6380/2".utf8))
        #expect(url.password.map { Array($0.utf8) } == Array("\u{301}secret".utf8))
    }
}

/// Found by the `store-url` fuzz target: in a URL whose password holds a raw '?', the query
/// starts inside the password, and the error for an option without a name quoted that option.
@Suite("Store URL parts quoted in errors")
struct StoreURLQuotedPartTests {
    @Test func anOptionCutFromAPasswordIsNotQuoted() {
        let error = #expect(throws: StoreError.self) { try StoreURL(parsing: "redis://alice:6379?=nter2@cache.local/0") }
        #expect(error?.message.contains("nter2") == false, "\(String(describing: error?.message))")
        #expect(error?.message.contains("not shown") == true, "\(String(describing: error?.message))")
    }

    @Test func partsOfAURLWithoutAPasswordAreQuoted() {
        let error = #expect(throws: StoreError.self) { try StoreURL(parsing: "redis://cache.local/0?=1") }
        #expect(error?.message.contains("'=1'") == true, "\(String(describing: error?.message))")
    }
}
