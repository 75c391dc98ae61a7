import Foundation
public import Hummingbird
public import Logging
public import Trove
import TroveIntegrationSupport

/// A Hummingbird `PersistDriver` over any Trove store: sessions, rate limits and other
/// cross-request values kept in memory, in files, in SQLite, Redis, PostgreSQL or S3, or in any
/// stack of layers.
///
///     let store = try FileSystemStore(root: dataDirectory).prefixed("hummingbird")
///     let persist = try TrovePersistDriver(store: store)
///     let app = Application(router: router, services: [persist])
///
/// **Keys.** Each string key becomes one key of `store`, by a reversible, injective mapping
/// (see ``storeKey(for:)``): `/`, `%`, control characters, the empty string and the strings `.`
/// and `..` are percent-encoded, every other character is kept. A key too long for a
/// ``StoreKey`` once mapped is refused with ``StoreError/Code/invalidKey``. To share one store
/// between applications, give each a namespace: `store.prefixed("hummingbird")`.
///
/// **Values** are encoded by ``format`` (JSON by default, see ``PersistValueFormat``). A value
/// that does not decode as the type asked for throws `PersistError.invalidConversion`, as
/// Hummingbird's own drivers do (the decoding error itself is not kept by that error type).
///
/// **Expiry.** `expires` becomes the entry's ``Expiry/after(_:)``: the store's own expiry,
/// decided by its clock. The store must have ``StoreCapabilities/expiration``; a store without
/// it is refused when the driver is made, rather than wrapped behind your back, because
/// wrapping changes how values are stored (see ``ExpiringStore``): wrap it yourself with
/// `store.expiring()`.
///
/// **Atomicity.** `create` is one conditional write (``WriteCondition/ifAbsent``): of two
/// concurrent creates of a key, on one machine or many sharing the store, exactly one succeeds
/// and the other throws `PersistError.duplicate`. An expired entry counts as absent. `set`
/// without `expires` keeps the entry's current expiry by compare-and-swap: it reads the entry's
/// metadata and writes on the condition that its ETag is unchanged, retrying if another writer
/// came in between. Both need ``StoreCapabilities/conditionalWrites``, which the driver also
/// checks when it is made. (On a store whose ETags are content digests, as S3's are, a
/// concurrent write of identical bytes with another expiry cannot be told apart; see
/// ``StoreCapabilities/distinctETagPerWrite``.)
///
/// **Running.** As a `Service`, ``run()`` sweeps expired entries every ``reclaimInterval`` with
/// ``KeyValueStore/reclaimExpired()`` until graceful shutdown; expired entries are invisible
/// whether or not they have been swept. The driver does not own the store: ``shutdown()`` does
/// nothing, and a store that needs closing is closed by whoever opened it.
public struct TrovePersistDriver: PersistDriver {
    /// The store that keeps the values.
    public let store: any KeyValueStore
    /// How values become bytes.
    public let format: any PersistValueFormat
    /// The clock that `getWithTTL` measures the time left by: the store's clock.
    public let clock: WallClock
    /// How often ``run()`` reclaims the space of expired entries, or `nil` to leave it to the
    /// store (a server with its own expiry, say).
    public let reclaimInterval: Duration?
    /// Where ``run()`` reports sweeps that fail.
    public let logger: Logger

    /// Creates a driver that keeps its values in `store`.
    ///
    /// - Parameters:
    ///   - store: The store, or stack of layers, that keeps the values. It needs
    ///     ``StoreCapabilities/expiration`` and ``StoreCapabilities/conditionalWrites``.
    ///   - format: How values become bytes. Defaults to ``PersistValueFormat/json``.
    ///   - clock: The clock by which `store` decides expiry, from which `getWithTTL` measures
    ///     the time left. Defaults to ``WallClock/system``; give the driver the clock you gave the
    ///     store (a ``ManualWallClock``'s in tests).
    ///   - reclaimInterval: How often ``run()`` reclaims expired entries. Defaults to 10 minutes,
    ///     as Hummingbird's `MemoryPersistDriver` tidies; `nil` never does.
    ///   - logger: Where failed sweeps are reported. Defaults to a logger labelled
    ///     `TroveHummingbird`.
    /// - Throws: ``StoreError`` with code ``StoreError/Code/notSupported`` when `store` lacks a
    ///   capability the driver needs, naming the store and the capability.
    public init(
        store: some KeyValueStore,
        format: some PersistValueFormat = .json,
        clock: WallClock = .system,
        reclaimInterval: Duration? = .seconds(600),
        logger: Logger = Logger(label: "TroveHummingbird")
    ) throws(StoreError) {
        try store.check([
            .conditionalWrites(for: "to create entries only if absent and to keep an expiry when a value is replaced"),
            .expiration(for: "to let entries expire"),
        ], for: "TrovePersistDriver")
        self.store = store
        self.format = format
        self.clock = clock
        self.reclaimInterval = reclaimInterval
        self.logger = logger
    }

    /// The store key under which the value of `key` is kept.
    ///
    /// The mapping is reversible and injective: `%` becomes `%25`, `/` becomes `%2F`, each
    /// control character the percent-encoding of its UTF-8 bytes, the whole strings `.` and `..`
    /// become `%2E` and `%2E%2E`, the empty string becomes `%`, and every other character stays
    /// as it is. So `hbs.Zm9v/YmFy+==` is stored as `hbs.Zm9v%2FYmFy+==`, one entry directly
    /// under the store. Strings are told apart by their Unicode scalars, not by Swift's `==`.
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
    /// never produces (one written by other code).
    public func key(for storeKey: StoreKey) -> String? {
        StringKeyEncoding.string(for: storeKey)
    }

    /// Stores `value` under `key` if the key holds no live value, as one atomic conditional write.
    ///
    /// - Parameters:
    ///   - key: The key; any string (see ``storeKey(for:)``).
    ///   - value: The value, encoded by ``format``.
    ///   - expires: How long the entry lives, or `nil` for ever.
    /// - Throws: `PersistError.duplicate` when the key holds a live value (nothing is written);
    ///   ``StoreError`` for a key too long to store, a value that cannot be encoded
    ///   (``StoreError/Code/invalidArgument``) or a failure of the store.
    public func create<Object: Codable & Sendable>(key: String, value: Object, expires: Duration?) async throws {
        let entryKey = try storeKey(for: key)
        let bytes = try encode(value, for: entryKey)
        do {
            _ = try await store.write(bytes, for: entryKey, options: WriteOptions(condition: .ifAbsent, expiry: expiry(expires)))
        } catch let error as StoreError where error.code == .conditionFailed {
            throw PersistError.duplicate
        }
    }

    /// Stores `value` under `key`, replacing any value there.
    ///
    /// With `expires`, the entry lives that long from now. Without it, an existing entry keeps
    /// its expiry (if it has one) and a new entry never expires, as the `PersistDriver` contract
    /// asks; the expiry is kept by compare-and-swap, so it is never taken from a value that
    /// another writer replaced in between.
    ///
    /// - Throws: ``StoreError`` for a key too long to store, a value that cannot be encoded
    ///   (``StoreError/Code/invalidArgument``), ``StoreError/Code/conditionFailed`` if other
    ///   writers kept changing the entry for 100 attempts, or a failure of the store.
    public func set<Object: Codable & Sendable>(key: String, value: Object, expires: Duration?) async throws {
        let entryKey = try storeKey(for: key)
        let bytes = try encode(value, for: entryKey)
        try await store.replace(bytes, for: entryKey, expiry: expires.map(expiry), whenAbsent: .create)
    }

    /// The value under `key`, or `nil` if the key holds no live value.
    ///
    /// - Throws: `PersistError.invalidConversion` when the stored value does not decode as
    ///   `Object`; ``StoreError`` for a key too long to store or a failure of the store.
    public func get<Object: Codable & Sendable>(key: String, as type: Object.Type) async throws -> Object? {
        guard let entry = try await store.read(storeKey(for: key)) else { return nil }
        return try decode(entry.value, as: type)
    }

    /// The value under `key` and the time it has left, or `nil` if the key holds no live value.
    ///
    /// The time left is the entry's ``EntryMetadata/expirationDate`` less ``clock``'s now, at
    /// least zero; `nil` for an entry that does not expire.
    ///
    /// - Throws: As ``get(key:as:)``.
    public func getWithTTL<Object: Codable & Sendable>(key: String, as type: Object.Type) async throws -> (object: Object, ttl: Duration?)? {
        guard let entry = try await store.read(storeKey(for: key)) else { return nil }
        let ttl = entry.metadata.expirationDate.map { date in
            Duration.seconds(max(0, date.timeIntervalSince(clock.now)))
        }
        return (try decode(entry.value, as: type), ttl)
    }

    /// Deletes the value under `key`; removing a missing key does nothing.
    ///
    /// - Throws: ``StoreError`` for a key too long to store or a failure of the store.
    public func remove(key: String) async throws {
        try await store.discard(storeKey(for: key))
    }

    /// Does nothing: the driver does not own its store.
    public func shutdown() async throws {}

    /// The expiry of a write that asks for `expires`.
    private func expiry(_ expires: Duration?) -> Expiry {
        expires.map { .after($0) } ?? .never
    }

    private func encode<Object: Codable & Sendable>(_ value: Object, for key: StoreKey) throws(StoreError) -> Data {
        let codec = format.codec(for: Object.self)
        do {
            return try codec.encode(value)
        } catch {
            throw StoreError(.invalidArgument, operation: .write, key: key, store: store.description,
                             message: "a value of type \(Object.self) could not be encoded as \(codec.name); nothing was written",
                             underlying: error)
        }
    }

    private func decode<Object: Codable & Sendable>(_ bytes: Data, as type: Object.Type) throws -> Object {
        do {
            return try format.codec(for: type).decode(bytes)
        } catch {
            throw PersistError.invalidConversion
        }
    }
}
