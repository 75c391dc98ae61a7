import Testing
import Trove
@testable import TroveS3

/// A batch's keys that nest (`a`, `a/b`) go in one group, written one after another, outer
/// first; the rest each go alone, in parallel.
@Suite struct S3NestedBatchTests {
    @Test("nested keys group together in key order; others stay alone")
    func nestedKeysGroup() throws {
        let keys: [StoreKey] = ["a/b/c", "x", "a", "ab", "deep/x/y", "a/b", "deep/x/y/z", "deep/q", "ab/c"]
        let groups = S3Store.nestedGroups(keys).map { $0.map { keys[$0].rawValue } }
        #expect(Set(groups) == [["a", "a/b", "a/b/c"], ["x"], ["ab", "ab/c"], ["deep/x/y", "deep/x/y/z"], ["deep/q"]])
        #expect(groups.count == 5)
        #expect(S3Store.nestedGroups([]).isEmpty)
        // Keys that share only a directory (no key is another's parent) stay apart.
        #expect(S3Store.nestedGroups(["p/1", "p/2", "p/3"]).count == 3)
    }
}
