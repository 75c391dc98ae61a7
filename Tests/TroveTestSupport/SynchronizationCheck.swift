public import Foundation
import Testing
public import Trove

/// Copies a fixture from `source` to `destination`, compares the two key by key and value by
/// value, then synchronizes after changing the destination: the check a networked store's
/// suite runs to show that copying, comparing and synchronizing work with it as either end.
///
/// The fixture (written to `source`, which must be empty) has a key that is also a prefix
/// (`a` and `a/b`), an empty value, a value of 2 MiB and 5 bytes, and, when `destination`
/// keeps expiry dates, an entry that expires in an hour. When it does not, copying an expiring
/// entry is checked to fail with ``StoreError/Code/notSupported`` and write nothing.
///
/// - Throws: The first error of either store, or of a `#require`.
public func checkCopyCompareSynchronize(from source: some KeyValueStore, to destination: some KeyValueStore) async throws {
    let big = patternedBytes(2 << 20 + 5, seed: 19)
    let keepsExpiry = destination.capabilities.contains(.expiration)
    let expiry = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 * 1000).rounded() / 1000 + 3600)
    var fixture: [(StoreKey, Data)] = [("a", Data("one".utf8)), ("a/b", Data("two".utf8)), ("empty", Data()), ("big", big)]
    for (key, value) in fixture { try await source.set(value, for: key) }

    if keepsExpiry {
        try await source.set(Data("expires".utf8), for: "soon", expiry: .at(expiry))
        fixture.append(("soon", Data("expires".utf8)))
    } else {
        try await source.set(Data("expires".utf8), for: "soon", expiry: .at(expiry))
        try await expectStoreError(.notSupported) { try await source.copy(to: destination, withPrefix: "soon") }
        #expect(try await destination.contains("soon") == false)
        try await source.delete("soon")
    }

    let report = try await source.copy(to: destination, concurrency: 3)
    #expect(report.copied == fixture.count)
    #expect(report.bytes == Int64(fixture.reduce(0) { $0 + $1.1.count }))
    for (key, value) in fixture {
        let entry = try #require(try await destination.read(key), "\(key) was not copied to \(destination)")
        #expect(entry.value == value, "\(key) holds other bytes in \(destination)")
        if key == "soon" {
            let kept = try #require(entry.metadata.expirationDate, "the expiry of \(key) was not kept")
            #expect(abs(kept.timeIntervalSince(expiry)) < 0.002, "\(kept) is not \(expiry)")
        }
    }
    let copied = try await source.compare(with: destination, byContent: true)
    #expect(copied.isIdentical, "\(copied.differences)")
    #expect(copied.matchingCount == fixture.count)

    try await destination.set(Data("ONE".utf8), for: "a")
    try await destination.set(Data("extra".utf8), for: "zz/extra")
    let changed = try await source.compare(with: destination, byContent: true)
    #expect(changed.differing == ["a"])
    #expect(changed.onlyInDestination == ["zz/extra"])
    #expect(changed.onlyInSource.isEmpty)

    try await expectStoreError(.limitExceeded) {
        try await source.synchronize(to: destination, byContent: true, maximumDeletes: 0)
    }
    #expect(try await destination.contains("zz/extra"))
    let synchronized = try await source.synchronize(to: destination, byContent: true, maximumDeletes: 1)
    #expect(synchronized.deleted == 1)
    #expect(try await destination["a"] == Data("one".utf8))
    #expect(try await source.compare(with: destination, byContent: true).isIdentical)
}
