public import Foundation

/// A store that can walk the entries under a prefix in key order and replace some of them, in
/// one atomic step that no other writer interleaves with: one transaction on SQLite.
///
/// ``DurableQueue`` uses it by itself when its store conforms: taking leases on the oldest free
/// elements is then one such step, instead of a listing page, a batch read and a batch of
/// compare-and-swaps. Layers do not forward it (a layer that changes values or keys could not
/// keep its promise), so a queue on a stack of layers takes the general path.
///
///     let result = try await store.updateInKeyOrder(withPrefix: "jobs/", after: nil, examining: 100) { entry in
///         entry.value.isEmpty ? .replace(Data("filled".utf8)) : .keep
///     }
public protocol OrderedUpdating: KeyValueStore {
    /// Hands the live entries whose keys start with `prefix` to `decide`, in byte-wise key
    /// order, and applies what it returns, all in one atomic step: no other writer changes any
    /// of these entries between the read that `decide` sees and the replacement.
    ///
    /// `decide` runs synchronously inside the step (on a thread that may block, holding the
    /// store's write lock): keep it short, and do not call the store from it.
    ///
    /// - Parameters:
    ///   - prefix: A plain byte prefix of the keys to walk (such as `jobs/items/`).
    ///   - after: Where to start: past this key; `nil` for the first key under `prefix`.
    ///   - limit: The most entries to hand to `decide`, at least 1.
    ///   - decide: What to do with each entry: keep it, replace its value (the replacement has
    ///     a new ETag, no expiry, and the entry's creation date), or stop the walk (the entry is
    ///     kept).
    /// - Returns: The metadata of each replaced entry, in key order, and whether the walk
    ///   reached the last entry under `prefix`.
    /// - Throws: ``StoreError/Code/invalidArgument`` for a `limit` below 1; an error that
    ///   `decide` throws, as it is, after undoing the step; the codes of a write.
    func updateInKeyOrder(
        withPrefix prefix: String, after: StoreKey?, examining limit: Int,
        _ decide: @escaping @Sendable (StoreEntry) throws -> OrderedUpdate
    ) async throws -> OrderedUpdateResult
}

/// What ``OrderedUpdating/updateInKeyOrder(withPrefix:after:examining:_:)`` does with one entry.
public enum OrderedUpdate: Sendable, Equatable {
    /// Leave the entry as it is and go on.
    case keep
    /// Replace the entry's value and go on.
    case replace(Data)
    /// Leave the entry as it is and end the walk.
    case stop
}

/// What a walk of ``OrderedUpdating/updateInKeyOrder(withPrefix:after:examining:_:)`` did.
public struct OrderedUpdateResult: Sendable {
    /// The metadata of the replaced entries, in key order.
    public var replaced: [EntryMetadata]
    /// Whether every entry under the prefix (past the starting key) was handed to `decide`
    /// (the walk was not cut short by its limit or by ``OrderedUpdate/stop``).
    public var reachedTheEnd: Bool

    /// Creates a result.
    public init(replaced: [EntryMetadata], reachedTheEnd: Bool) {
        self.replaced = replaced
        self.reachedTheEnd = reachedTheEnd
    }
}
