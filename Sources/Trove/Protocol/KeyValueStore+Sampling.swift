import Foundation

/// Which timestamp orders entries for ``KeyValueStore/oldestKeys(_:by:withPrefix:)``.
public struct EntryTimestamp: Hashable, Sendable {
    private let useCreation: Bool

    /// The time of the last write.
    public static let modification = EntryTimestamp(useCreation: false)
    /// The time of creation, where the store keeps it (else the time of the last write).
    public static let creation = EntryTimestamp(useCreation: true)

    func date(of metadata: EntryMetadata) -> Date {
        useCreation ? (metadata.creationDate ?? metadata.modificationDate) : metadata.modificationDate
    }
}

extension KeyValueStore {
    /// A key chosen uniformly at random among those that start with `prefix`, or `nil` if none.
    ///
    /// - Complexity: One full listing of the prefix (reservoir sampling), no value reads.
    public func randomKey(withPrefix prefix: String = "") async throws -> StoreKey? {
        var generator = SystemRandomNumberGenerator()
        return try await randomKey(withPrefix: prefix, using: &generator)
    }

    /// A key chosen uniformly at random with `generator`, among those that start with `prefix`.
    public func randomKey<G: RandomNumberGenerator>(
        withPrefix prefix: String = "", using generator: inout G
    ) async throws -> StoreKey? {
        var chosen: StoreKey?
        var seen = 0
        for try await key in try keys(withPrefix: prefix) {
            seen += 1
            if Int.random(in: 0..<seen, using: &generator) == 0 { chosen = key }
        }
        return chosen
    }

    /// The `count` keys with the earliest timestamps, oldest first.
    ///
    /// By modification date, this needs a store that keeps one
    /// (``StoreCapabilities/modificationDate``); on another, the keys are some `count` keys
    /// under the prefix.
    ///
    /// - Complexity: One listing with metadata of the prefix; memory for `count` entries.
    public func oldestKeys(_ count: Int, by timestamp: EntryTimestamp = .modification, withPrefix prefix: String = "") async throws -> [StoreKey] {
        try await extremeKeys(count, by: timestamp, withPrefix: prefix, newest: false)
    }

    /// The `count` keys with the latest timestamps, newest first.
    ///
    /// By modification date, this needs a store that keeps one
    /// (``StoreCapabilities/modificationDate``); on another, the keys are some `count` keys
    /// under the prefix.
    ///
    /// - Complexity: One listing with metadata of the prefix; memory for `count` entries.
    public func newestKeys(_ count: Int, by timestamp: EntryTimestamp = .modification, withPrefix prefix: String = "") async throws -> [StoreKey] {
        try await extremeKeys(count, by: timestamp, withPrefix: prefix, newest: true)
    }

    private func extremeKeys(_ count: Int, by timestamp: EntryTimestamp, withPrefix prefix: String, newest: Bool) async throws -> [StoreKey] {
        guard count > 0 else { return [] }
        // Ordered so that `first` is the best; ties broken by key for a stable answer.
        func better(_ a: (Date, StoreKey), _ b: (Date, StoreKey)) -> Bool {
            if a.0 != b.0 { return newest ? a.0 > b.0 : a.0 < b.0 }
            return a.1 < b.1
        }
        var best: [(Date, StoreKey)] = []
        for try await metadata in try self.metadata(withPrefix: prefix) {
            let candidate = (timestamp.date(of: metadata), metadata.key)
            if best.count == count, let last = best.last, !better(candidate, last) { continue }
            let index = best.firstIndex { better(candidate, $0) } ?? best.endIndex
            best.insert(candidate, at: index)
            if best.count > count { best.removeLast() }
        }
        return best.map(\.1)
    }
}
