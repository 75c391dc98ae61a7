import Foundation
import Trove

extension ContractCheck {
    /// A key can hold a value and be the prefix of other keys at once (`a` and `a/b`), whichever
    /// is written first and at any depth; deleting one leaves the other, and a prefix whose last
    /// key is deleted vanishes from delimiter listings.
    public static let keyAndPrefixCoexist = ContractCheck(
        "keyAndPrefixCoexist",
        "a and a/b both hold values; deleting one leaves the other"
    ) { try await HierarchyChecks.keyAndPrefixCoexist($0) }

    /// A sub-store view (`KeyValueStore.prefixed(_:)`) reads, writes, deletes and lists only
    /// the keys under its prefix, without the prefix, and nests; keys that merely start with the
    /// same letters (`subway`) and the prefix's own value are not part of it.
    public static let subStoreView = ContractCheck(
        "subStoreView",
        "a sub-store lists only its keys, without the prefix"
    ) { try await HierarchyChecks.subStoreView($0) }
}

/// The bodies of the hierarchy checks.
enum HierarchyChecks {
    static func keyAndPrefixCoexist(_ c: CheckContext) async throws {
        // Parent first, child first, and three levels written out of order.
        let order = ["a", "a/b", "c/d", "c", "m/n/o", "m", "m/n"]
        for name in order { try await c.store.set(CheckContext.bytes("value of \(name)"), for: c.key(name)) }
        try await expectValues(order, c)
        try c.expectEqual(try await c.names(.all), ["a", "a/b", "c", "c/d", "m", "m/n", "m/n/o"],
                          "keys that are also prefixes must all be listed")
        try c.expectEqual(ListingChecks.kinds(try await c.elements(ListQuery(delimiter: "/"))),
                          ["a", "a/ (prefix)", "c", "c/ (prefix)", "m", "m/ (prefix)"],
                          "a delimiter listing must show both the key and the prefix")

        try c.expect(try await c.store.delete("a"), "deleting a key that is also a prefix must return true", key: "a")
        try c.expect(try await c.store.read("a") == nil, "a deleted key that is also a prefix still reads a value", key: "a")
        try await expectValues(["a/b"], c)
        try c.expect(try await c.store.delete("c/d"), "deleting the key under another key must return true", key: "c/d")
        try await expectValues(["c"], c)
        try c.expect(try await c.store.delete("m/n"), "deleting a middle level must return true", key: "m/n")
        try await expectValues(["m", "m/n/o"], c)
        try await c.store.set(CheckContext.bytes("value of m, again"), for: "m")
        try await expectValues(["m/n/o"], c)
        try c.expectEqual(ListingChecks.kinds(try await c.elements(ListQuery(delimiter: "/"))),
                          ["a/ (prefix)", "c", "m", "m/ (prefix)"],
                          "after the deletes a delimiter listing must show what is left, and nothing else")

        // A prefix whose last key is deleted disappears.
        try await c.store.set(CheckContext.bytes("deep"), for: "z/deep/er/key")
        try c.expect(try await c.store.delete("z/deep/er/key"), "deleting a deep key must return true", key: "z/deep/er/key")
        try c.expectEqual(try await c.names(ListQuery(delimiter: "/")), ["a/", "c", "m", "m/"],
                          "a prefix whose last key was deleted must not be listed")
        try c.expectEqual(try await c.count(withPrefix: "z"), 0, "no key may remain under a prefix whose last key was deleted")

        // The key that was deleted can be written again beside its children.
        try await c.store.set(CheckContext.bytes("value of a"), for: "a")
        try await expectValues(["a", "a/b"], c)
        try c.expectEqual(try await c.names(.all), ["a", "a/b", "c", "m", "m/n/o"], "the keys left at the end")
    }

    /// Checks that each named key reads back `value of <name>` and reports it in its metadata.
    static func expectValues(_ names: [String], _ c: CheckContext, fileID: String = #fileID, line: Int = #line) async throws {
        for name in names {
            let key = try c.key(name)
            let value = CheckContext.bytes("value of \(name)")
            try c.expectValue(try await c.store.read(key)?.value, value,
                              "a key that is also a prefix (or under one) must keep its own value", key: key, fileID: fileID, line: line)
            try c.expectEqual(try await c.store.metadata(for: key)?.size, Int64(value.count),
                              "metadata of a key that is also a prefix (or under one)", key: key, fileID: fileID, line: line)
        }
    }

    static func subStoreView(_ c: CheckContext) async throws {
        let sub = makeSubStore(c.store, "sub")
        let view = c.with(store: sub)
        try await sub.set(CheckContext.bytes("k1"), for: "k1")
        try await sub.set(CheckContext.bytes("n/k2"), for: "n/k2")
        for (name, value) in [("sub/k3", "k3"), ("subway", "outside"), ("sub-x", "outside"), ("other/k", "outside"), ("sub", "the prefix itself")] {
            try await c.store.set(CheckContext.bytes(value), for: c.key(name))
        }

        try c.expectEqual(try await view.names(.all), ["k1", "k3", "n/k2"], "a sub-store must list only its keys, without the prefix")
        try c.expectEqual(try await c.names(.all), ["other/k", "sub", "sub-x", "sub/k1", "sub/k3", "sub/n/k2", "subway"],
                          "keys written through a sub-store must be stored under its prefix")
        try c.expectValue(try await sub.read("k3")?.value, CheckContext.bytes("k3"), "a sub-store reads the keys under its prefix", key: "k3")
        try c.expectValue(try await c.store.read("sub/k1")?.value, CheckContext.bytes("k1"),
                          "a key written through a sub-store, read from the whole store", key: "sub/k1")
        try c.expectEqual(try await sub.metadata(for: "n/k2")?.key, "n/k2", "sub-store metadata must name the key without the prefix")
        try c.expectEqual(try await sub.read("n/k2")?.metadata.key, "n/k2", "a sub-store read must name the key without the prefix")
        for element in try await view.elements(ListQuery(includesMetadata: true)) {
            try c.expectEqual(element.metadata?.key, element.key, "a sub-store listing with metadata must name keys without the prefix")
        }
        try c.expectEqual(ListingChecks.kinds(try await view.elements(ListQuery(delimiter: "/"))), ["k1", "k3", "n/ (prefix)"],
                          "a sub-store delimiter listing must give its own top level")
        try c.expectEqual(try await view.names(ListQuery(prefix: "n")), ["n/k2"], "a sub-store listing with a prefix")
        try c.expectEqual(try await sub.count(), 3, "a sub-store counts only its keys")

        let nested = makeSubStore(sub, "n")
        try c.expectEqual(try await view.with(store: nested).names(.all), ["k2"], "a sub-store of a sub-store lists its own keys")
        try c.expectValue(try await nested.read("k2")?.value, CheckContext.bytes("n/k2"), "a nested sub-store read", key: "k2")

        try c.expect(try await sub.delete("k1"), "deleting through a sub-store must return true", key: "k1")
        try c.expect(try await c.store.read("sub/k1") == nil, "a key deleted through a sub-store is still in the whole store", key: "sub/k1")
        try c.expectValue(try await c.store.read("sub")?.value, CheckContext.bytes("the prefix itself"),
                          "a sub-store must not touch the value of its prefix", key: "sub")
        try c.expect(try await sub.read("k1") == nil, "a deleted key still reads through the sub-store", key: "k1")
        if c.capabilities.contains(.conditionalWrites) {
            try await c.expectError(.conditionFailed, "conditions must hold through a sub-store", key: "k3") {
                try await sub.set(CheckContext.bytes("again"), for: "k3", condition: .ifAbsent)
            }
        }
        try c.expectEqual(try await view.names(.all), ["k3", "n/k2"], "the sub-store's keys at the end")
    }
}
