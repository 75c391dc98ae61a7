public import Crypto
public import Trove

/// The secret keys of a ``SignedStore`` or an ``EncryptedStore``: one current key that seals every
/// new value, and every key that may have sealed a stored value, each under its ``KeyID``.
///
/// Each envelope names the key that sealed it, so keys can be rotated without rewriting data:
/// make a new key current and keep the old ones for reading. Values sealed with a key the keyring
/// no longer holds read as `StoreError.Code.integrity` errors.
///
///     var keyring = try Keyring(current: 1, key: SymmetricKey(size: .bits256))
///     keyring = try keyring.rotating(to: 2, key: SymmetricKey(size: .bits256))
///     // writes now use key 2; values sealed with key 1 still read
///
/// Every key is 256 bits (32 bytes), as `SymmetricKey(size: .bits256)` makes them: the size of
/// an AES-256 or ChaCha20 key, and of HMAC-SHA256's output. The layers never use a key as given:
/// each derives its own working keys from it with HKDF-SHA256 under a label of its own, so one
/// keyring may serve a ``SignedStore`` and an ``EncryptedStore`` at once without a key being
/// used by two algorithms.
///
/// A keyring's ``description`` and its `Mirror` name the key ids only, never key material.
public struct Keyring: Sendable, CustomStringConvertible, CustomReflectable {
    /// The id of the key that seals new values.
    public let currentKeyID: KeyID

    private let keys: [KeyID: SymmetricKey]

    /// The size of every key, in bits.
    public static let keyBitCount = 256

    /// Creates a keyring with one key, which is current.
    ///
    /// - Parameters:
    ///   - current: The key's id.
    ///   - key: A 256-bit key, such as `SymmetricKey(size: .bits256)`.
    /// - Throws: `StoreError.Code.invalidArgument` when the key is not 256 bits long.
    public init(current: KeyID, key: SymmetricKey) throws(StoreError) {
        try self.init(current: current, keys: [current: key])
    }

    /// Creates a keyring from several keys, one of which is current.
    ///
    /// - Parameters:
    ///   - current: The id of the key that seals new values; `keys` must hold it.
    ///   - keys: Every key that may have sealed a stored value, by id. Each is 256 bits long.
    /// - Throws: `StoreError.Code.invalidArgument` when `keys` does not hold `current` or a key
    ///   is not 256 bits long (the message names the key's id and size, never its bytes).
    public init(current: KeyID, keys: [KeyID: SymmetricKey]) throws(StoreError) {
        guard keys[current] != nil else {
            throw Self.invalid("the current key \(current) is not among the keyring's keys "
                               + "(\(keys.keys.sorted().map(\.description).joined(separator: ", ")))")
        }
        for (id, key) in keys where key.bitCount != Self.keyBitCount {
            throw Self.invalid("key \(id) is \(key.bitCount) bits long; every key must be \(Self.keyBitCount) bits "
                               + "(make one with SymmetricKey(size: .bits256))")
        }
        self.currentKeyID = current
        self.keys = keys
    }

    /// The ids of every key, in increasing order.
    public var keyIDs: [KeyID] { keys.keys.sorted() }

    /// Whether the keyring holds a key with id `id`.
    public func contains(_ id: KeyID) -> Bool { keys[id] != nil }

    /// The key with id `id`, or `nil` if the keyring does not hold one.
    public func key(_ id: KeyID) -> SymmetricKey? { keys[id] }

    /// The same keyring with `key` added under `id` and made current; the other keys stay, so
    /// that values they sealed still read.
    ///
    /// - Throws: `StoreError.Code.invalidArgument` when the keyring already holds a different
    ///   key under `id` (reusing an id would make older values unreadable) or `key` is not 256
    ///   bits long.
    public func rotating(to id: KeyID, key: SymmetricKey) throws(StoreError) -> Keyring {
        if let existing = keys[id], existing != key {
            throw Self.invalid("the keyring already holds another key with id \(id): give the new key a new id")
        }
        var keys = self.keys
        keys[id] = key
        return try Keyring(current: id, keys: keys)
    }

    /// The same keyring without the key `id`; values it sealed will read as
    /// `StoreError.Code.integrity` errors.
    ///
    /// - Throws: `StoreError.Code.invalidArgument` when `id` is the current key.
    public func removing(_ id: KeyID) throws(StoreError) -> Keyring {
        guard id != currentKeyID else {
            throw Self.invalid("key \(id) is current: rotate to another key before removing it")
        }
        var keys = self.keys
        keys[id] = nil
        return try Keyring(current: currentKeyID, keys: keys)
    }

    /// The key ids and which is current, such as `keyring [1, 2] current 2`.
    public var description: String {
        "keyring [\(keyIDs.map(\.description).joined(separator: ", "))] current \(currentKeyID)"
    }

    /// A mirror that shows the key ids only, so that `dump` and debuggers never print key bytes.
    public var customMirror: Mirror {
        Mirror(self, children: ["currentKeyID": currentKeyID, "keyIDs": keyIDs], displayStyle: .struct)
    }

    private static func invalid(_ message: String) -> StoreError {
        StoreError(.invalidArgument, operation: .validate, store: "keyring", message: message)
    }
}
