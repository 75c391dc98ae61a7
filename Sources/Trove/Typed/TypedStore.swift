public import Foundation

/// A dictionary of `Value`s over any ``KeyValueStore``: values are encoded with a codec on the
/// way in and decoded on the way out.
///
///     let users = try FileSystemStore(root: dataDirectory).prefixed("users").typed(as: User.self)
///     try await users.set(alice, for: "alice")
///     if let alice = try await users["alice"] { print(alice.name) }
///     try await users.update("alice") { current in
///         guard var user = current else { return .keep }
///         user.visits += 1
///         return .set(user)
///     }
///
/// A typed view adds no storage of its own: keys, conditions, expiry, ETags and listing are
/// the underlying store's, and every call is one call to it (reads, writes and deletes are as
/// atomic as the store makes them). Several views with different codecs can share one store,
/// each under its own prefix: `store.prefixed("users").typed(as: User.self, codec: .json)`.
///
/// A stored value that the codec cannot decode is reported as ``StoreError`` with code
/// ``StoreError/Code/decodingFailed``, naming the key and the codec, with the codec's error as
/// ``StoreError/underlying``; the bytes are left as they are. A value the codec cannot encode
/// is reported as ``StoreError/Code/invalidArgument`` and nothing is written.
///
/// Typed views are values: cheap to copy, `Sendable`, safe to use from many tasks at once.
public struct TypedStore<Value>: Sendable, CustomStringConvertible {
    /// The store beneath, which holds the encoded bytes.
    public let base: any KeyValueStore
    /// The codec that turns values into bytes and back.
    public let codec: AnyValueCodec<Value>

    /// Creates a typed view of `base` with a built-in codec such as `.json`.
    ///
    ///     let users = TypedStore<User>(base: store, codec: .json)
    public init(base: some KeyValueStore, codec: AnyValueCodec<Value>) {
        self.base = base
        self.codec = codec
    }

    /// Creates a typed view of `base` with a codec of your own.
    public init(base: some KeyValueStore, codec: some ValueCodec<Value>) {
        self.init(base: base, codec: AnyValueCodec(codec))
    }

    /// The value type, the codec and the store, such as `User values as json in memory prefix users/`.
    public var description: String { "\(Value.self) values as \(codec.name) in \(base.description)" }

    /// The capabilities of the store beneath.
    public var capabilities: StoreCapabilities { base.capabilities }

    /// The value stored under `key`, or `nil` if there is none.
    ///
    ///     if let alice = try await users["alice"] { … }
    ///
    /// - Throws: ``StoreError/Code/decodingFailed`` when the stored bytes are not a valid
    ///   encoding of `Value` for this codec; any error of the store beneath.
    public subscript(key: StoreKey) -> Value? {
        get async throws { try await value(for: key) }
    }

    /// The value stored under `key`, or `nil` if there is none.
    ///
    /// - Throws: ``StoreError/Code/decodingFailed`` when the stored bytes cannot be decoded;
    ///   any error of the store beneath.
    public func value(for key: StoreKey) async throws -> Value? {
        try await read(key)?.value
    }

    /// The value stored under `key` with its metadata, or `nil` if there is none.
    ///
    /// - Throws: ``StoreError/Code/decodingFailed`` when the stored bytes cannot be decoded;
    ///   any error of the store beneath.
    public func read(_ key: StoreKey) async throws -> TypedEntry<Value>? {
        guard let entry = try await base.read(key) else { return nil }
        return TypedEntry(value: try decode(entry.value, for: key, during: .read), metadata: entry.metadata)
    }

    /// The metadata of the entry under `key` (the size is that of the encoded bytes), or `nil`
    /// if there is none. Reads no value.
    public func metadata(for key: StoreKey) async throws -> EntryMetadata? {
        try await base.metadata(for: key)
    }

    /// Encodes `value` and stores it under `key` if `condition` holds, as one atomic step.
    ///
    ///     try await users.set(alice, for: "alice", condition: .ifAbsent)
    ///
    /// - Parameters:
    ///   - value: The value to store.
    ///   - key: Where to store it.
    ///   - condition: When to write. Defaults to ``WriteCondition/always``.
    ///   - expiry: When the entry expires. Defaults to ``Expiry/never``.
    /// - Returns: The new entry's metadata, with its new ETag.
    /// - Throws: ``StoreError/Code/invalidArgument`` when the codec cannot encode `value`
    ///   (nothing is written); ``StoreError/Code/conditionFailed`` when `condition` does not
    ///   hold; any error of the store beneath.
    @discardableResult
    public func set(
        _ value: Value, for key: StoreKey, condition: WriteCondition = .always, expiry: Expiry = .never
    ) async throws -> EntryMetadata {
        let bytes = try encode(value, for: key, during: .write)
        return try await base.write(bytes, for: key, options: WriteOptions(condition: condition, expiry: expiry))
    }

    /// Deletes the value under `key` if `condition` holds.
    ///
    /// - Parameters:
    ///   - key: The key to delete.
    ///   - condition: When to delete. Defaults to ``DeleteCondition/always``.
    /// - Returns: Whether a live value was deleted.
    /// - Throws: ``StoreError/Code/conditionFailed`` when an ETag condition does not hold.
    @discardableResult
    public func delete(_ key: StoreKey, condition: DeleteCondition = .always) async throws -> Bool {
        try await base.delete(key, condition: condition)
    }

    /// Whether `key` holds a live value. Reads no value, so it does not check that the value
    /// decodes.
    public func contains(_ key: StoreKey) async throws -> Bool {
        try await base.metadata(for: key) != nil
    }

    /// A URL from which the encoded value under `key` can be fetched directly, where the store
    /// beneath has one (see ``KeyValueStore/url(for:)``); the bytes behind it are in this
    /// view's codec. `nil` for stores without URLs, such as ``FileSystemStore``.
    public func url(for key: StoreKey) async throws -> URL? {
        try await base.url(for: key)
    }

    /// `value` in bytes, or an ``StoreError/Code/invalidArgument`` error naming key and codec.
    func encode(_ value: Value, for key: StoreKey?, during operation: StoreOperation) throws(StoreError) -> Data {
        do {
            return try codec.encode(value)
        } catch {
            throw StoreError(
                .invalidArgument, operation: operation, key: key, store: description,
                message: "the \(Value.self) value cannot be encoded with codec '\(codec.name)'; nothing was written",
                underlying: error
            )
        }
    }

    /// The value of `bytes`, or a ``StoreError/Code/decodingFailed`` error naming key and codec.
    func decode(_ bytes: Data, for key: StoreKey, during operation: StoreOperation) throws(StoreError) -> Value {
        do {
            return try codec.decode(bytes)
        } catch {
            throw StoreError(
                .decodingFailed, operation: operation, key: key, store: description,
                message: "the \(bytes.count)-byte value is not a valid \(Value.self) in codec '\(codec.name)'; "
                    + "it was left as it is (was it written by another view or another version of the type?)",
                underlying: error
            )
        }
    }
}
