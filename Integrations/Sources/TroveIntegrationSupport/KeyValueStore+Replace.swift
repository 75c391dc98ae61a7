package import Foundation
package import Trove

extension KeyValueStore {
    /// How many times a replacing write is tried while other writers keep changing the entry.
    package static var replaceAttempts: Int { 100 }

    /// Stores `value` under `key` as one compare-and-swap: with `expiry` when it is given, with
    /// the entry's current expiry when it is `nil`.
    ///
    /// The write is conditional on the version that was read (``WriteCondition/ifMatches(_:)``,
    /// or ``WriteCondition/ifAbsent`` for a missing key), so an expiry read is never applied to a
    /// value another writer put there in between; a lost race is retried after a jittered
    /// pause. A current expiry is kept as ``Expiry/at(_:)``. When the key holds no live value,
    /// `whenAbsent` decides: create it (with `expiry`, or none), or write nothing.
    ///
    /// With `expiry` given and `whenAbsent` ``AbsentEntryPolicy/create``, nothing needs to be kept,
    /// and the write is a single unconditional one.
    ///
    /// - Returns: The new entry's metadata, or `nil` when the key was absent and `whenAbsent` is
    ///   ``AbsentEntryPolicy/skip``.
    /// - Throws: ``StoreError/Code/conditionFailed`` when every one of ``replaceAttempts`` attempts
    ///   lost a race; any error of the store.
    @discardableResult
    package func replace(
        _ value: Data, for key: StoreKey, expiry: Expiry?, whenAbsent: AbsentEntryPolicy
    ) async throws -> EntryMetadata? {
        if let expiry, whenAbsent == .create {
            return try await write(value, for: key, options: WriteOptions(condition: .always, expiry: expiry))
        }
        for attempt in 1...Self.replaceAttempts {
            try Task.checkCancellation()
            let current = try await metadata(for: key)
            if current == nil, whenAbsent == .skip { return nil }
            let options = WriteOptions(
                condition: current.map { .ifMatches($0.etag) } ?? .ifAbsent,
                expiry: expiry ?? current?.expirationDate.map { .at($0) } ?? .never
            )
            do {
                return try await write(value, for: key, options: options)
            } catch let error as StoreError where error.code == .conditionFailed {
                if attempt < Self.replaceAttempts { try await Backoff.default.pause(afterConflict: attempt) }
            }
        }
        throw StoreError(
            .conditionFailed, operation: .write, key: key, store: description,
            message: "gave up after \(Self.replaceAttempts) attempts: other writers kept changing the entry "
                + "between reading its expiry and writing the new value"
        )
    }
}
