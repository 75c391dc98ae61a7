extension KeyValueStore {
    /// A view of this store as a dictionary of `Codable` values, stored as JSON.
    ///
    ///     let users = file.prefixed("app").cached(in: memory).typed(as: User.self)
    ///     let alice = try await users["alice"]
    ///
    /// - Parameters:
    ///   - type: The value type. Defaults to the type the context expects.
    ///   - prefix: A namespace for the view's keys (`users` stores `alice` as `users/alice`),
    ///     so that several views can share one store. Defaults to `nil`: the keys as they are.
    /// - Returns: A view whose codec is ``JSONCodec`` with sorted keys.
    public func typed<Value: Codable>(as type: Value.Type = Value.self, under prefix: StoreKey? = nil) -> TypedStore<Value> {
        typed(as: type, codec: .json, under: prefix)
    }

    /// A view of this store as a dictionary of `Value`s, encoded with a built-in `codec`.
    ///
    /// Views with different codecs can share one store, each under its own prefix
    /// (persidict's OverlappingMultiDict):
    ///
    ///     let profiles = store.typed(as: Profile.self, codec: .json, under: "profiles")
    ///     let avatars = store.typed(as: Data.self, codec: .data, under: "avatars")
    ///     let bios = store.typed(as: String.self, codec: .text, under: "bios")
    ///
    /// `.json` and `.propertyList` are offered for every `Codable` type, `.data` only for `Data`
    /// and `.text` only for `String`.
    ///
    /// - Parameters:
    ///   - type: The value type. Defaults to the codec's.
    ///   - codec: How values become bytes: `.json`, `.propertyList`, `.data`, `.text`, or
    ///     `.custom(…)`.
    ///   - prefix: A namespace for the view's keys. Defaults to `nil`: the keys as they are.
    public func typed<Value>(
        as type: Value.Type = Value.self, codec: AnyValueCodec<Value>, under prefix: StoreKey? = nil
    ) -> TypedStore<Value> {
        if let prefix {
            return TypedStore(base: PrefixedStore(base: self, prefix: prefix), codec: codec)
        }
        return TypedStore(base: self, codec: codec)
    }

    /// A view of this store as a dictionary of `Value`s, encoded with a codec of your own.
    ///
    ///     let images = store.typed(as: Bitmap.self, codec: PNGCodec(), under: "images")
    ///
    /// - Parameters:
    ///   - type: The value type. Defaults to the codec's.
    ///   - codec: Any ``ValueCodec`` of `Value`.
    ///   - prefix: A namespace for the view's keys. Defaults to `nil`: the keys as they are.
    public func typed<Value>(
        as type: Value.Type = Value.self, codec: some ValueCodec<Value>, under prefix: StoreKey? = nil
    ) -> TypedStore<Value> {
        typed(as: type, codec: AnyValueCodec(codec), under: prefix)
    }
}
