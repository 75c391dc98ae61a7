import Foundation
import Testing
@testable import TroveS3
import TroveS3Client

/// The depth-first walk and its merge, against an in-memory server that lists as SeaweedFS
/// does (each level by entry name, a file and a directory of the same name side by side), with
/// no server.
@Suite struct S3HierarchyWalkTests {
    /// A server holding `keys` that lists one level of `prefix` by entry name, `pageSize`
    /// entries a page, with start-after by name.
    final class DirectoryServer: Sendable {
        let keys: [String]
        let pageSize: Int
        init(_ keys: [String], pageSize: Int) {
            self.keys = keys
            self.pageSize = pageSize
        }

        func level(_ prefix: String, startAfter: String?, token: String?) -> S3LevelPage {
            // Entries of the level: (name without slash, isDirectory), sorted by name, files
            // before directories of the same name.
            var entries = Set<String>()
            var directories = Set<String>()
            for key in keys where key.hasPrefix(prefix) {
                let rest = key.dropFirst(prefix.count)
                if let slash = rest.firstIndex(of: "/") {
                    directories.insert(String(rest[..<slash]))
                } else {
                    entries.insert(String(rest))
                }
            }
            var all = entries.map { ($0, false) } + directories.map { ($0, true) }
            all.sort { $0.0 == $1.0 ? !$0.1 : $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
            let lastName: String? = token ?? startAfter.map { String($0.dropFirst(prefix.count)) }
            var index = 0
            if let token, let position = Int(token) { index = position } else if let lastName {
                index = all.firstIndex { lastName.utf8.lexicographicallyPrecedes($0.0.utf8) } ?? all.count
            }
            let page = all[index..<min(index + pageSize, all.count)]
            let next = index + page.count < all.count ? String(index + page.count) : nil
            return S3LevelPage(entries: page.map { name, isDirectory in
                isDirectory ? S3LevelEntry(name: prefix + name + "/", object: nil)
                    : S3LevelEntry(name: prefix + name, object: S3ListedObject(key: prefix + name, size: 0, etag: "", lastModified: nil))
            }, nextContinuationToken: next)
        }
    }

    static let keys = ["p/a", "p/a/b", "p/a-c", "p/a0", "p/a b", "p/a+c", "p/a.d", "p/a/b/c", "p/a/b-d", "p/b", "p/ሴ",
                       "p/a/b/c/d", "p/a/b/c-e", "p/z", "p/z/z/z", "q"]

    func walk(_ keys: [String], prefix: String, after: String?, descends: Bool, pageSize: Int) async throws -> ([String], Int) {
        let server = DirectoryServer(keys, pageSize: pageSize)
        var walk = S3HierarchyWalk(prefix: prefix, after: after, descends: descends) { prefix, startAfter, token in
            server.level(prefix, startAfter: startAfter, token: token)
        }
        var names: [String] = []
        while let entry = try await walk.next() { names.append(entry.name) }
        return (names, walk.requests)
    }

    static func byteOrder(_ names: [String]) -> [String] { names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) } }

    @Test(arguments: [1, 2, 3, 1000]) func aFlatWalkYieldsEveryKeyInByteOrder(pageSize: Int) async throws {
        let (names, _) = try await walk(Self.keys, prefix: "p/", after: nil, descends: true, pageSize: pageSize)
        #expect(names == Self.byteOrder(Self.keys.filter { $0.hasPrefix("p/") }))
    }

    @Test(arguments: [1, 2, 1000]) func aWalkResumedAfterAnyKeyYieldsTheRest(pageSize: Int) async throws {
        let expected = Self.byteOrder(Self.keys.filter { $0.hasPrefix("p/") })
        for (index, cursor) in expected.enumerated() {
            let (names, _) = try await walk(Self.keys, prefix: "p/", after: cursor, descends: true, pageSize: pageSize)
            #expect(names == Array(expected[(index + 1)...]), "after \(cursor)")
        }
    }

    @Test(arguments: [1, 2, 1000]) func aDelimiterLevelMergesKeysAndPrefixes(pageSize: Int) async throws {
        let (names, _) = try await walk(Self.keys, prefix: "p/", after: nil, descends: false, pageSize: pageSize)
        #expect(names == ["p/a", "p/a b", "p/a+c", "p/a-c", "p/a.d", "p/a/", "p/a0", "p/b", "p/z", "p/z/", "p/ሴ"])
        // Resumed after each element, as pages of one would.
        for (index, cursor) in names.enumerated() {
            let (rest, _) = try await walk(Self.keys, prefix: "p/", after: cursor, descends: false, pageSize: pageSize)
            #expect(rest == Array(names[(index + 1)...]), "after \(cursor)")
        }
    }

    @Test func randomTreesComeOutInByteOrder() async throws {
        var random = SplitMix64(seed: 42)
        let alphabet = Array("ab-./ +0z")
        for _ in 0..<40 {
            var keys = Set<String>()
            for _ in 0..<Int.random(in: 1...60, using: &random) {
                let raw = String((0..<Int.random(in: 1...7, using: &random)).map { _ in alphabet.randomElement(using: &random)! })
                let segments = raw.split(separator: "/", omittingEmptySubsequences: true)
                guard !segments.isEmpty else { continue }
                keys.insert("r/" + segments.joined(separator: "/"))
            }
            let pageSize = Int.random(in: 1...5, using: &random)
            let (names, _) = try await walk(Array(keys), prefix: "r/", after: nil, descends: true, pageSize: pageSize)
            #expect(names == Self.byteOrder(Array(keys)), "keys \(keys.sorted()) pages of \(pageSize)")
        }
    }

    /// What the walk costs in listing requests per 1,000 keys (pages of 1,000): one per
    /// directory with keys under it, plus one per further page of a directory.
    @Test func listingRequestsPerThousandKeys() async throws {
        let flat = (0..<1000).map { "k/\($0)" }
        #expect(try await walk(flat, prefix: "k/", after: nil, descends: true, pageSize: 1000).1 == 1)
        let tenDirectories = (0..<1000).map { "k/d\($0 % 10)/\($0)" }
        #expect(try await walk(tenDirectories, prefix: "k/", after: nil, descends: true, pageSize: 1000).1 == 11)
        let oneEach = (0..<1000).map { "k/d\($0)/v" }
        #expect(try await walk(oneEach, prefix: "k/", after: nil, descends: true, pageSize: 1000).1 == 1001)
    }

    @Test func theMergerHoldsAPrefixBackUntilNoEarlierNameCanCome() {
        var merger = S3LevelMerger()
        merger.add([S3LevelEntry(name: "a", object: S3ListedObject(key: "a", size: 0, etag: "", lastModified: nil)),
                    S3LevelEntry(name: "a/", object: nil)])
        #expect(merger.next(complete: false)?.name == "a")
        // "a-c" (< "a/") may still come: "a/" waits.
        #expect(merger.next(complete: false) == nil)
        merger.add([S3LevelEntry(name: "a-c", object: S3ListedObject(key: "a-c", size: 0, etag: "", lastModified: nil))])
        #expect(merger.next(complete: false)?.name == "a-c")
        #expect(merger.next(complete: false) == nil)
        #expect(merger.next(complete: true)?.name == "a/")
    }
}
