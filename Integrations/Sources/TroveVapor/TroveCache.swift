public import Foundation
public import NIOCore
public import Trove
import TroveIntegrationSupport
public import Vapor

/// A Vapor `Cache` over any Trove store: cached values kept in memory, in files, in SQLite,
/// Redis, PostgreSQL or S3, or in any stack of layers.
///
///     try app.caches.use(.trove(FileSystemStore(root: cacheDirectory)))
///     try await req.cache.set("greeting", to: "hello", expiresIn: .minutes(5))
///
/// **Keys.** Each string key becomes one key of ``store`` by the reversible, injective mapping
/// of ``storeKey(for:)``; a key too long once mapped throws ``StoreError/Code/invalidKey``.
/// Give the cache a namespace of its own when the store is shared: `store.prefixed("cache")`.
///
/// **Values** are JSON, written by ``encoder`` and read by ``decoder``. A stored value that does
/// not decode as the type asked for throws ``StoreError/Code/decodingFailed``, naming the key
/// and the type.
///
/// **Expiry.** `expiresIn` becomes the entry's ``Expiry/after(_:)``, decided by the store's clock;
/// a `set` without it stores a value that never expires, replacing any earlier expiry (as
/// Vapor's memory cache does). An expired entry reads as `nil`. Setting `nil` deletes the key.
/// The store must have ``StoreCapabilities/expiration``; wrap one without it in
/// `store.expiring()`.
///
/// Every operation is one call of the store: atomic, and shared by every process that uses the
/// same store.
public struct TroveCache: Cache, Sendable {
    /// The store that keeps the cached values.
    public let store: any KeyValueStore
    /// The event loop on which the cache's futures complete.
    public let eventLoop: any EventLoop
    /// Writes values as JSON.
    public let encoder: JSONEncoder
    /// Reads values from JSON.
    public let decoder: JSONDecoder

    /// Creates a cache that keeps its values in `store`.
    ///
    /// - Parameters:
    ///   - store: The store, or stack of layers, that keeps the values. It needs
    ///     ``StoreCapabilities/expiration``.
    ///   - eventLoop: The event loop on which futures complete.
    ///   - encoder: Writes values. Defaults to a `JSONEncoder` with `.sortedKeys`.
    ///   - decoder: Reads values. Defaults to a plain `JSONDecoder`.
    /// - Throws: ``StoreError`` with code ``StoreError/Code/notSupported`` when `store` has no
    ///   expiry, naming the store.
    public init(
        store: some KeyValueStore,
        on eventLoop: any EventLoop,
        encoder: JSONEncoder = TroveCache.makeDefaultEncoder(),
        decoder: JSONDecoder = JSONDecoder()
    ) throws(StoreError) {
        try Self.checkRequirements(of: store)
        self.init(checked: store, on: eventLoop, encoder: encoder, decoder: decoder)
    }

    /// A cache over a store whose capabilities were checked.
    init(checked store: any KeyValueStore, on eventLoop: any EventLoop, encoder: JSONEncoder, decoder: JSONDecoder) {
        self.store = store
        self.eventLoop = eventLoop
        self.encoder = encoder
        self.decoder = decoder
    }

    /// Throws ``StoreError/Code/notSupported`` unless `store` can keep a cache.
    static func checkRequirements(of store: some KeyValueStore) throws(StoreError) {
        try store.check([.expiration(for: "to let cached values expire")], for: "TroveCache")
    }

    /// A `JSONEncoder` that sorts object keys, so that equal values give equal bytes.
    public static func makeDefaultEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }

    /// The store key under which the value of `key` is kept.
    ///
    /// The mapping is reversible and injective: `%` becomes `%25`, `/` becomes `%2F`, each
    /// control character the percent-encoding of its UTF-8 bytes, the whole strings `.` and `..`
    /// become `%2E` and `%2E%2E`, the empty string becomes `%`, and every other character stays
    /// as it is: `user:42/profile` is stored as `user:42%2Fprofile`. Strings are told apart by
    /// their Unicode scalars, not by Swift's `==`.
    ///
    /// - Throws: ``StoreError`` with code ``StoreError/Code/invalidKey`` when the mapped key is
    ///   longer than ``StoreKey/maximumByteCount`` bytes.
    public func storeKey(for key: String) throws(StoreError) -> StoreKey {
        do {
            return try StringKeyEncoding.storeKey(for: key)
        } catch {
            throw error.inStore(store.description)
        }
    }

    /// The string key that ``storeKey(for:)`` maps to `storeKey`, or `nil` for a store key it
    /// never produces.
    public func key(for storeKey: StoreKey) -> String? {
        StringKeyEncoding.string(for: storeKey)
    }

    // MARK: Cache

    /// The value under `key`, or `nil` if there is none or it expired.
    public func get<T>(_ key: String, as type: T.Type) -> EventLoopFuture<T?> where T: Decodable & Sendable {
        eventLoop.makeFutureWithTask { try await self.get(key, as: type) }
    }

    /// Stores `value` under `key` without expiry, or deletes the key when `value` is `nil`.
    public func set<T>(_ key: String, to value: T?) -> EventLoopFuture<Void> where T: Encodable & Sendable {
        set(key, to: value, expiresIn: nil)
    }

    /// Stores `value` under `key` for `expirationTime` (for ever if `nil`), or deletes the key
    /// when `value` is `nil`.
    public func set<T>(
        _ key: String, to value: T?, expiresIn expirationTime: CacheExpirationTime?
    ) -> EventLoopFuture<Void> where T: Encodable & Sendable {
        eventLoop.makeFutureWithTask { try await self.set(key, to: value, expiresIn: expirationTime) }
    }

    /// This cache, completing its futures on `request`'s event loop.
    public func `for`(_ request: Request) -> TroveCache {
        TroveCache(checked: store, on: request.eventLoop, encoder: encoder, decoder: decoder)
    }

    // MARK: async

    /// The value under `key`, or `nil` if there is none or it expired.
    ///
    /// - Throws: ``StoreError`` with code ``StoreError/Code/decodingFailed`` when the stored
    ///   value does not decode as `T`; ``StoreError/Code/invalidKey`` for a key too long to
    ///   store; any failure of the store.
    public func get<T>(_ key: String, as type: T.Type) async throws -> T? where T: Decodable & Sendable {
        let entryKey = try storeKey(for: key)
        guard let entry = try await store.read(entryKey) else { return nil }
        do {
            return try decoder.decode(T.self, from: entry.value)
        } catch {
            throw StoreError(.decodingFailed, operation: .read, key: entryKey, store: store.description,
                             message: "the cached value is not JSON of type \(T.self)", underlying: error)
        }
    }

    /// Stores `value` under `key` without expiry, or deletes the key when `value` is `nil`.
    public func set<T>(_ key: String, to value: T?) async throws where T: Encodable & Sendable {
        try await set(key, to: value, expiresIn: nil)
    }

    /// Stores `value` under `key` for `expirationTime` (for ever if `nil`), or deletes the key
    /// when `value` is `nil`.
    ///
    /// - Throws: ``StoreError`` with code ``StoreError/Code/invalidArgument`` when `value`
    ///   cannot be encoded (nothing is written); ``StoreError/Code/invalidKey`` for a key too
    ///   long to store; any failure of the store.
    public func set<T>(
        _ key: String, to value: T?, expiresIn expirationTime: CacheExpirationTime?
    ) async throws where T: Encodable & Sendable {
        let entryKey = try storeKey(for: key)
        guard let value else {
            try await store.discard(entryKey)
            return
        }
        let bytes: Data
        do {
            bytes = try encoder.encode(value)
        } catch {
            throw StoreError(.invalidArgument, operation: .write, key: entryKey, store: store.description,
                             message: "a value of type \(T.self) could not be encoded as JSON; nothing was written",
                             underlying: error)
        }
        let expiry: Expiry = expirationTime.map { .after(.seconds($0.seconds)) } ?? .never
        _ = try await store.write(bytes, for: entryKey, options: WriteOptions(condition: .always, expiry: expiry))
    }

    /// Deletes the value under `key`; deleting a missing key does nothing.
    public func delete(_ key: String) async throws {
        try await store.discard(storeKey(for: key))
    }
}
