public import Foundation

extension StoreKey {
    /// A new unique key that sorts after every key made before it in this process: a ULID from
    /// ``TimeOrderedKeyGenerator/shared``, such as `01J9ZQ3V6RW4TT3B9X8M2N5KQH`.
    ///
    ///     try await events.set(event, for: .timeOrdered())   // listing order is creation order
    ///
    /// Keys made by other processes are unique too and ordered to the millisecond.
    public static func timeOrdered() -> StoreKey {
        TimeOrderedKeyGenerator.shared.makeKey()
    }

    /// A new unique, time-ordered key under `prefix`, such as `events/01J9ZQ3V6RW4TT3B9X8M2N5KQH`.
    ///
    /// - Throws: ``StoreError/Code/invalidKey`` when `prefix` leaves no room for the key's
    ///   27 bytes (a slash and 26 characters).
    public static func timeOrdered(under prefix: StoreKey) throws(StoreError) -> StoreKey {
        try TimeOrderedKeyGenerator.shared.makeKey(under: prefix)
    }

    /// The content address of `value`: the SHA-256 digest of its bytes as 64 lowercase
    /// hexadecimal digits. Equal bytes always give the same key, different bytes (in practice)
    /// different keys.
    ///
    ///     StoreKey.contentAddress(of: Data("abc".utf8))
    ///     // ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
    ///
    /// - Complexity: O(n) in the size of `value`; the value is hashed in memory.
    public static func contentAddress(of value: Data) -> StoreKey {
        StoreKey(unchecked: SHA256.hexDigest(value))
    }

    /// The content address of `value` under `prefix`, such as `blobs/ba7816bf…15ad`.
    ///
    /// - Throws: ``StoreError/Code/invalidKey`` when `prefix` leaves no room for the address's
    ///   65 bytes (a slash and 64 digits).
    public static func contentAddress(of value: Data, under prefix: StoreKey) throws(StoreError) -> StoreKey {
        try prefix.appending(contentAddress(of: value))
    }
}
