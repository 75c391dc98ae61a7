import Foundation

/// A store that can copy its entries into some other stores on the server, without the bytes
/// of a value passing through this process: S3's CopyObject between two buckets (or two
/// prefixes) of one endpoint, say.
///
/// ``KeyValueStore/copy(to:withPrefix:replacing:concurrency:chunkSize:expiries:onProgress:)``
/// and ``KeyValueStore/synchronize(to:withPrefix:byContent:maximumDeletes:dryRun:concurrency:comparisonConcurrency:chunkSize:expiries:onStep:)``
/// use it by themselves whenever the source conforms and ``copiesOnServer(to:)`` says yes, so
/// callers need not know about it: each value is copied with one request to the server
/// instead of being read and written again.
public protocol ServerSideCopying: KeyValueStore {
    /// Whether ``copyOnServer(_:to:condition:expiry:)`` can copy entries of this store into
    /// `destination`.
    func copiesOnServer(to destination: any KeyValueStore) -> Bool

    /// Copies the value of `key` on the server into `destination`, under the same key.
    ///
    /// - Parameters:
    ///   - key: The key to copy.
    ///   - destination: A store for which ``copiesOnServer(to:)`` is `true`.
    ///   - condition: When to write: always, or only if the destination does not hold the key.
    ///   - expiry: When the copy expires.
    /// - Returns: The copy's metadata, or `nil` when this store no longer holds `key` (nothing
    ///   is written then).
    /// - Throws: ``StoreError/Code/conditionFailed`` when `condition` does not hold;
    ///   ``StoreError/Code/notSupported`` when `destination` is not one this store copies into,
    ///   or cannot keep `expiry`; the codes of a write.
    func copyOnServer(
        _ key: StoreKey, to destination: any KeyValueStore, condition: WriteCondition, expiry: Expiry
    ) async throws -> EntryMetadata?
}

extension KeyValueStore {
    /// Whether ``copy(to:withPrefix:replacing:concurrency:chunkSize:expiries:onProgress:)`` and
    /// ``synchronize(to:withPrefix:byContent:maximumDeletes:dryRun:concurrency:comparisonConcurrency:chunkSize:expiries:onStep:)``
    /// copy this store's values into `destination` on the server (see ``ServerSideCopying``)
    /// rather than reading and writing them.
    public func canCopyOnServer(to destination: some KeyValueStore) -> Bool {
        (self as? any ServerSideCopying)?.copiesOnServer(to: destination) ?? false
    }
}
