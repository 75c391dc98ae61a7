extension TypedStore {
    /// Encodes `value` and stores it under its content address (the SHA-256 of the encoded
    /// bytes) unless that key already holds it; see ``KeyValueStore/setContentAddressed(_:under:)``.
    ///
    ///     let key = try await documents.setContentAddressed(report).key
    ///     let same = try await documents[key]
    ///
    /// Equal values share a key only if the codec gives equal values equal bytes: ``JSONCodec``
    /// with its default encoder does (it sorts object keys); a property list of a `Dictionary`
    /// does not.
    ///
    /// - Returns: The key, the entry's metadata, and whether this call stored it.
    /// - Throws: ``StoreError/Code/invalidArgument`` when the codec cannot encode `value`; as
    ///   ``KeyValueStore/setContentAddressed(_:under:)`` otherwise.
    @discardableResult
    public func setContentAddressed(_ value: Value) async throws -> ContentAddressedWrite {
        let bytes = try encode(value, for: nil, during: .write)
        return try await base.setContentAddressed(bytes)
    }
}
