public import Foundation

extension KeyValueStore {
    /// Stores `value` under its content address (the SHA-256 of its bytes, as 64 hexadecimal
    /// digits) unless that key already holds it, and returns the key.
    ///
    ///     let first = try await blobs.setContentAddressed(photo)
    ///     let again = try await blobs.setContentAddressed(photo)
    ///     // again.key == first.key, again.isNew == false, the entry was not rewritten
    ///
    /// Write-once and deduplicating: an entry already under the address is taken to be the
    /// same bytes (that is what the address means) and is neither read nor rewritten, so its
    /// ETag and dates do not change. Safe against concurrent writers of the same bytes, in
    /// this process or others sharing the store: the write is conditional
    /// (``WriteCondition/ifAbsent``), and a writer that loses the race returns the winner's
    /// entry.
    ///
    /// - Parameters:
    ///   - value: The bytes to store.
    ///   - prefix: A key to store them under (`blobs` gives `blobs/<digest>`). Defaults to
    ///     `nil`: the digest alone is the key.
    /// - Returns: The key, the entry's metadata, and whether this call stored it.
    /// - Throws: ``StoreError/Code/invalidKey`` when `prefix` leaves no room for the address;
    ///   ``StoreError/Code/notSupported`` when the store has no conditional writes; any error of
    ///   the store.
    /// - Implementation details: One metadata read when the value is already there; else that
    ///   read and one conditional write, so a large value already stored is not sent again.
    @discardableResult
    public func setContentAddressed(_ value: Data, under prefix: StoreKey? = nil) async throws -> ContentAddressedWrite {
        let address = StoreKey.contentAddress(of: value)
        let key = try prefix.map { prefix throws(StoreError) in try prefix.appending(address) } ?? address
        // An entry can vanish between a failed `ifAbsent` write and the next look (a delete, an
        // expiry); each round trip settles it unless that keeps happening.
        var lastRace: StoreError?
        for _ in 0..<8 {
            try Task.checkCancellation()
            if let existing = try await metadata(for: key) {
                return ContentAddressedWrite(key: key, metadata: existing, isNew: false)
            }
            do {
                let written = try await write(value, for: key, options: WriteOptions(condition: .ifAbsent))
                return ContentAddressedWrite(key: key, metadata: written, isNew: true)
            } catch let error as StoreError where error.code == .conditionFailed {
                lastRace = error
            }
        }
        throw StoreError(
            .conditionFailed, operation: .write, key: key, store: description,
            message: "the content-addressed entry kept appearing and disappearing; gave up after 8 attempts",
            underlying: lastRace
        )
    }
}
