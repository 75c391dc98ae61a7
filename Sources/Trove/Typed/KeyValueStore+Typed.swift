extension KeyValueStore {
    /// A view of this store as a dictionary of `Codable` values, stored as JSON.
    ///
    ///     let users = file.prefixed("app").cached(in: memory).typed(as: User.self)
    ///     let alice = try await users["alice"]
    ///
    /// To give the view a namespace of its own, prefix the store first:
    /// `store.prefixed("users").typed(as: User.self)` stores `alice` as `users/alice`.
    ///
    /// - Parameter type: The value type. Defaults to the type the context expects.
    /// - Returns: A view whose codec is ``JSONCodec`` with sorted keys.
    public func typed<Value: Codable>(as type: Value.Type = Value.self) -> TypedStore<Value> {
        typed(as: type, codec: .json)
    }

    /// A view of this store as a dictionary of `Value`s, encoded with a built-in `codec`.
    ///
    /// Views with different codecs can share one store, each under its own prefix
    /// (persidict's OverlappingMultiDict):
    ///
    ///     let profiles = store.prefixed("profiles").typed(as: Profile.self, codec: .json)
    ///     let avatars = store.prefixed("avatars").typed(as: Data.self, codec: .data)
    ///     let bios = store.prefixed("bios").typed(as: String.self, codec: .text)
    ///
    /// `.json` and `.propertyList` are offered for every `Codable` type, `.data` only for `Data`
    /// and `.text` only for `String`.
    ///
    /// - Parameters:
    ///   - type: The value type. Defaults to the codec's.
    ///   - codec: How values become bytes: `.json`, `.propertyList`, `.data`, `.text`, or
    ///     `.custom(…)`.
    public func typed<Value>(as type: Value.Type = Value.self, codec: AnyValueCodec<Value>) -> TypedStore<Value> {
        TypedStore(base: self, codec: codec)
    }

    /// A view of this store as a dictionary of `Value`s, encoded with a codec of your own.
    ///
    ///     let images = store.prefixed("images").typed(as: Bitmap.self, codec: PNGCodec())
    ///
    /// - Parameters:
    ///   - type: The value type. Defaults to the codec's.
    ///   - codec: Any ``ValueCodec`` of `Value`.
    public func typed<Value>(as type: Value.Type = Value.self, codec: some ValueCodec<Value>) -> TypedStore<Value> {
        typed(as: type, codec: AnyValueCodec(codec))
    }
}
