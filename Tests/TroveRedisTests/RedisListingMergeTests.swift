import Testing
import Trove
@testable import TroveRedis

/// The merge of the buckets' listing pages, on pages made by hand: only what every bucket has
/// been read past is listed, common prefixes that several buckets found are listed once, and
/// the cursor goes on from the right place.
@Suite("RedisStore: merging the buckets' listings")
struct RedisListingMergeTests {
    private func page(_ names: [String], next: String?, prefixes: Set<String> = []) -> RedisStore.BucketPage {
        RedisStore.BucketPage(
            elements: names.map { name in
                (Array(name.utf8), prefixes.contains(name) ? ListElement.commonPrefix(name) : .entry(StoreKey(stringLiteral: name), nil))
            },
            next: next.map { Array($0.utf8) })
    }

    private func names(_ page: ListPage) -> [String] { page.elements.map(\.name) }

    @Test func onlyWhatEveryBucketHasPassedIsListed() {
        // The second bucket has read only as far as a2 (its entries there had expired).
        let merged = RedisStore.merge([page(["a1", "a3"], next: "(a3"), page([], next: "(a2"), page(["a4"], next: nil)], limit: 10)
        #expect(names(merged) == ["a1"])
        #expect(merged.nextCursor?.rawValue == "k:a2")
    }

    @Test func aFullPageEndsAtItsLastElement() {
        let merged = RedisStore.merge([page(["a1", "a3", "a5"], next: nil), page(["a2", "a4"], next: nil)], limit: 3)
        #expect(names(merged) == ["a1", "a2", "a3"])
        #expect(merged.nextCursor?.rawValue == "k:a3")
        let last = RedisStore.merge([page(["a1"], next: nil), page(["a2"], next: nil)], limit: 2)
        #expect(names(last) == ["a1", "a2"])
        #expect(last.nextCursor == nil)
    }

    @Test func commonPrefixesAreListedOnce() {
        var first = page(["a", "x/"], next: nil, prefixes: ["x/"])
        first.next = Array("[x/".utf8) + [0xFF]
        let merged = RedisStore.merge([first, page(["x/", "z"], next: nil, prefixes: ["x/"])], limit: 10)
        #expect(names(merged) == ["a", "x/"])
        #expect(merged.nextCursor?.rawValue == "p:x/")
        // Byte order, not Swift's string order: "Z" (0x5A) before "a" (0x61) before "é" (0xC3 0xA9).
        let bytes = RedisStore.merge([page(["é", "a"].sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }, next: nil),
                                      page(["Z"], next: nil)], limit: 10)
        #expect(names(bytes) == ["Z", "a", "é"])
    }
}
