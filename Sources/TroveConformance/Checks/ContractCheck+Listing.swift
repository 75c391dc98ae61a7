import Foundation
import Trove

extension ContractCheck {
    /// Listings are in byte-wise order of the keys' UTF-8 (exactly `a`, `a-c`, `a/b`, `a0`;
    /// uppercase before lowercase; U+FFFD before an emoji, unlike UTF-16 order), the same with
    /// metadata and in small pages; a prefix is a plain byte prefix, and prefixes no key can
    /// start with (`/`, `../`, `a//`) list nothing without an error.
    public static let listingOrder = ContractCheck(
        "listingOrder",
        "listing is in byte-wise key order: a, a-c, a/b, a0; prefixes are byte prefixes"
    ) { try await ListingChecks.listingOrder($0) }

    /// A delimiter listing returns one level of the hierarchy, as S3 does: the keys at that
    /// level and one common prefix (ending with the delimiter) per sub-level, interleaved in
    /// byte-wise order, with metadata for keys only, and each common prefix exactly once
    /// whatever the page size.
    public static let delimiterListing = ContractCheck(
        "delimiterListing",
        "a delimiter listing returns the keys and common prefixes of one level, in order"
    ) { try await ListingChecks.delimiterListing($0) }

    /// 2,500 keys listed with pages of 1,000 come back every one exactly once and in order,
    /// over several pages none longer than its limit, through the store's listing sequence and
    /// through `listPage` directly.
    public static let paging = ContractCheck(
        "paging",
        "2,500 keys in pages of 1,000: every key exactly once, in order, no page over its limit"
    ) { try await ListingChecks.paging($0) }

    /// Pages of 7, 2 and 1 elements, with and without delimiter and metadata, give the same
    /// listing as one big page (a common prefix never repeats across a page boundary).
    public static let smallPages = ContractCheck(
        "smallPages",
        "pages of 7, 2 and 1 give the same listing, common prefixes included, as one big page"
    ) { try await ListingChecks.smallPages($0) }

    /// A listing that stops after N elements asks for no further page: breaking within the first
    /// page of 10 requests one page, breaking on the 11th element two.
    public static let earlyStop = ContractCheck(
        "earlyStop",
        "a listing stopped early requests no further page"
    ) { try await ListingChecks.earlyStop($0) }
}

/// The bodies of the listing checks.
enum ListingChecks {
    static func listingOrder(_ c: CheckContext) async throws {
        let four = ["a0", "a/b", "a", "a-c"]
        for name in four { try await c.store.set(CheckContext.bytes(name), for: c.key(name)) }
        try c.expectEqual(try await c.names(.all), ["a", "a-c", "a/b", "a0"], "listing must be in byte-wise order")

        let more = ["B", "Z", "b", "a b", "a.", "~", "\u{E9}", "e\u{301}", "\u{FFFD}", "🦊", "日本", "z/zz", "z", "e"]
        for name in more { try await c.store.set(CheckContext.bytes(name), for: c.key(name)) }
        let all = (four + more).sorted(by: bytewisePrecedes)
        try c.expectEqual(try await c.names(.all), all, "listing must be in byte-wise order of the UTF-8 bytes")
        try c.expectEqual(try await c.names(.all, pageSize: 3), all, "listing in pages of 3")
        try c.expectEqual(try await c.names(.all), all, "a second listing must give the same order")

        let withMetadata = try await c.elements(ListQuery(includesMetadata: true))
        try c.expectEqual(withMetadata.map(\.name), all, "a listing with metadata must be in the same order")
        for element in withMetadata {
            guard let key = element.key, let metadata = element.metadata else {
                throw c.failure("a listing with metadata returned an element without metadata", got: "\(element)")
            }
            try c.expectEqual(metadata.key, key, "a listing paired a key with another key's metadata", key: key)
            try c.expectEqual(metadata.size, Int64(key.rawValue.utf8.count), "a listing reported the wrong size", key: key)
        }

        let prefixes = ["", "a", "a/", "a-", "a0", "B", "e", "\u{E9}", "z", "zz", "q", "🦊",
                        "/", "../", "./", "a//", "\\", "%", "a/b/", "a/b/c"]
        for prefix in prefixes {
            let expected = all.filter { $0.utf8.starts(with: prefix.utf8) }
            try c.expectEqual(try await c.names(ListQuery(prefix: prefix)), expected,
                              "a listing with prefix '\(prefix)' must give exactly the keys starting with those bytes")
        }
        var viaKeys: [String] = []
        for try await key in try c.store.keys(withPrefix: "a") { viaKeys.append(key.rawValue) }
        try c.expectEqual(viaKeys, all.filter { $0.hasPrefix("a") }, "keys(withPrefix:) must list the same keys")
    }

    static func delimiterListing(_ c: CheckContext) async throws {
        let keys = ["top", "x-y", "x/1", "x/2", "x/y", "x/y/3", "x/y/4", "x/z/5", "x/z/w/6", "x0"]
        for name in keys.reversed() { try await c.store.set(CheckContext.bytes(name), for: c.key(name)) }

        let cases: [(prefix: String, delimiter: Character, expected: [String])] = [
            ("", "/", ["top", "x-y", "x/ (prefix)", "x0"]),
            ("x/", "/", ["x/1", "x/2", "x/y", "x/y/ (prefix)", "x/z/ (prefix)"]),
            ("x/y/", "/", ["x/y/3", "x/y/4"]),
            ("x/z/", "/", ["x/z/5", "x/z/w/ (prefix)"]),
            ("x", "/", ["x-y", "x/ (prefix)", "x0"]),
            ("x/y", "/", ["x/y", "x/y/ (prefix)"]),
            ("x/z/w/", "/", ["x/z/w/6"]),
            ("q/", "/", []),
            ("", "-", ["top", "x- (prefix)", "x/1", "x/2", "x/y", "x/y/3", "x/y/4", "x/z/5", "x/z/w/6", "x0"]),
        ]
        for (prefix, delimiter, expected) in cases {
            let query = try ListQuery(prefix: prefix, delimiter: delimiter)
            let what = "a listing of prefix '\(prefix)' with delimiter '\(delimiter)'"
            try c.expectEqual(kinds(try await c.elements(query)), expected, "\(what) gave the wrong level")
            for pageSize in [1, 2, 3] {
                try c.expectEqual(kinds(try await c.elements(query, pageSize: pageSize)), expected, "\(what) in pages of \(pageSize)")
            }
            let paged = try await c.pagedElements(query, limit: 1, expectedCount: expected.count)
            try c.expectEqual(kinds(paged.elements), expected, "\(what) through listPage with limit 1")
        }

        let withMetadata = try await c.elements(try ListQuery(prefix: "x/", delimiter: "/", includesMetadata: true))
        for element in withMetadata {
            switch element {
            case .entry(let key, let metadata):
                try c.expectEqual(metadata?.key, key, "a delimiter listing with metadata must give each key its metadata", key: key)
            case .commonPrefix(let name):
                try c.expect(name.hasSuffix("/"), "a common prefix must end with the delimiter", got: name)
            }
        }
        try c.expectEqual(kinds(withMetadata), cases[1].expected, "a delimiter listing with metadata")
    }

    static func paging(_ c: CheckContext) async throws {
        var generator = SeededGenerator(state: 2500)
        let keys = try (0..<2500).map { try c.key("page/\($0)") }.shuffled(using: &generator)
        let others = ["page", "pagf", "paga", "pag"]
        try await c.writeAll(keys + others.map { try c.key($0) }) { CheckContext.bytes($0.rawValue) }
        let expected = keys.map(\.rawValue).sorted(by: bytewisePrecedes)
        let query = try ListQuery(prefix: "page/")

        try expectListing(try await c.names(query, pageSize: 1000), expected, "listing 2,500 keys in pages of 1,000", c)
        let paged = try await c.pagedElements(query, limit: 1000, expectedCount: expected.count)
        try expectListing(paged.elements.map(\.name), expected, "listPage with limit 1,000", c)
        try c.expect(paged.pages >= 3, "2,500 keys cannot fit in fewer than 3 pages of 1,000",
                     expected: "at least 3 pages", got: "\(paged.pages)")

        let everything = try await c.elements(ListQuery(includesMetadata: true))
        try expectListing(everything.map(\.name), (expected + others).sorted(by: bytewisePrecedes),
                          "listing every key with metadata", c)
        try c.expect(everything.allSatisfy { $0.metadata?.key == $0.key }, "a listing with metadata lacked or mismatched metadata")
        try c.expectEqual(try await c.store.count(withPrefix: "page/"), 2500, "count of 2,500 keys")
    }

    static func smallPages(_ c: CheckContext) async throws {
        var names = (0..<20).map { "s/\($0)" } + ["s", "s/d2", "t/0", "t/1", "t/2", "u"]
        for directory in 0..<5 { for entry in 0..<6 { names.append("s/d\(directory)/\(entry)") } }
        try await c.writeAll(try names.map { try c.key($0) }) { CheckContext.bytes($0.rawValue) }

        let queries = [
            ListQuery.all, try ListQuery(prefix: "s/"), try ListQuery(prefix: "s/", delimiter: "/"),
            try ListQuery(prefix: "", delimiter: "/"), try ListQuery(prefix: "s/d", delimiter: "/"),
            try ListQuery(prefix: "s/d", delimiter: "/", includesMetadata: true),
        ]
        for query in queries {
            let expected = reference(names, query)
            for pageSize in [7, 2, 1] {
                let what = "prefix '\(query.prefix)', delimiter \(query.delimiter.map { "'\($0)'" } ?? "none"), pages of \(pageSize)"
                try expectListing(try await c.names(query, pageSize: pageSize), expected, "listing \(what)", c)
                let paged = try await c.pagedElements(query, limit: pageSize, expectedCount: expected.count)
                try expectListing(paged.elements.map(\.name), expected, "listPage \(what)", c)
            }
        }
    }

    static func earlyStop(_ c: CheckContext) async throws {
        let names = (0..<30).map { $0 < 10 ? "e/0\($0)" : "e/\($0)" }
        try await c.writeAll(try names.map { try c.key($0) }) { CheckContext.bytes($0.rawValue) }

        for (stopAfter, pages) in [(5, 1), (10, 1), (11, 2), (25, 3)] {
            let counting = CountingStore(base: c.store)
            var seen: [String] = []
            for try await element in counting.list(.all, pageSize: 10) {
                seen.append(element.name)
                if seen.count == stopAfter { break }
            }
            try c.expectEqual(seen, Array(names.prefix(stopAfter)), "the first \(stopAfter) elements of a listing")
            try c.expectEqual(counting.counters.value.pageRequests, pages,
                              "a listing stopped after \(stopAfter) elements, in pages of 10, must request exactly \(pages) page(s)")
            try c.expect(counting.counters.value.largestPage <= 10, "a page exceeded its limit of 10",
                         expected: "at most 10", got: "\(counting.counters.value.largestPage)")
        }

        var seen: [String] = []
        for try await element in c.store.list(.all, pageSize: 10) {
            seen.append(element.name)
            if seen.count == 3 { break }
        }
        try c.expectEqual(seen, Array(names.prefix(3)), "the store's own listing stopped after 3 elements")
    }

    /// What a listing of `keys` under `query` must give, computed independently of any store.
    static func reference(_ keys: [String], _ query: ListQuery) -> [String] {
        var result: [String] = []
        var seen = Set<[UInt8]>()
        let prefix = Array(query.prefix.utf8)
        for key in keys {
            let bytes = Array(key.utf8)
            guard bytes.starts(with: prefix) else { continue }
            var name = bytes
            if let delimiter = query.delimiter?.asciiValue, let index = bytes[prefix.count...].firstIndex(of: delimiter) {
                name = Array(bytes[...index])
            }
            if seen.insert(name).inserted { result.append(String(decoding: name, as: UTF8.self)) }
        }
        return result.sorted(by: bytewisePrecedes)
    }

    /// Names of elements, common prefixes marked, for comparing the shape of a delimiter listing.
    static func kinds(_ elements: [ListElement]) -> [String] {
        elements.map { element in
            switch element {
            case .entry(let key, _): return key.rawValue
            case .commonPrefix(let prefix): return prefix + " (prefix)"
            }
        }
    }

    /// Compares a long listing with what it must be, reporting duplicates, gaps and the first
    /// place where the order differs rather than both lists whole.
    static func expectListing(_ got: [String], _ expected: [String], _ what: String, _ c: CheckContext,
                              fileID: String = #fileID, line: Int = #line) throws(ConformanceFailure) {
        guard got != expected else { return }
        let gotBytes = got.map { Array($0.utf8) }, expectedBytes = expected.map { Array($0.utf8) }
        let duplicates = Dictionary(grouping: gotBytes, by: { $0 }).filter { $0.value.count > 1 }.keys
        let missing = Set(expectedBytes).subtracting(gotBytes)
        let extra = Set(gotBytes).subtracting(expectedBytes)
        let firstDifference = zip(got, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            ?? min(got.count, expected.count)
        func window(_ names: [String]) -> String {
            let range = max(0, firstDifference - 2)..<min(names.count, firstDifference + 3)
            return describe(Array(names[range]))
        }
        var problems: [String] = []
        if !duplicates.isEmpty { problems.append("\(duplicates.count) duplicated") }
        if !missing.isEmpty { problems.append("\(missing.count) missing") }
        if !extra.isEmpty { problems.append("\(extra.count) unexpected") }
        if problems.isEmpty { problems.append("out of order") }
        throw c.failure("\(what): \(problems.joined(separator: ", "))",
                        expected: "\(expected.count) names, from index \(max(0, firstDifference - 2)): \(window(expected))",
                        got: "\(got.count) names, from index \(max(0, firstDifference - 2)): \(window(got))",
                        fileID: fileID, line: line)
    }
}
