public import Foundation

extension KeyValueStore {
    /// Stores the contents of the local file at `url` under `key`, streaming it in chunks.
    ///
    /// - Parameters:
    ///   - url: The file to store.
    ///   - key: Where to store it.
    ///   - condition: When to write. Defaults to ``WriteCondition/always``.
    ///   - expiry: When the entry expires. Defaults to ``Expiry/never``.
    /// - Returns: The new entry's metadata.
    /// - Throws: ``StoreError``: ``StoreError/Code/invalidArgument`` when the file is missing or a
    ///   directory, the store's own errors otherwise.
    @discardableResult
    public func set(
        contentsOfFile url: URL, for key: StoreKey, condition: WriteCondition = .always, expiry: Expiry = .never
    ) async throws -> EntryMetadata {
        try await write(contentsOf: try FileChunks(contentsOf: url), for: key,
                        options: WriteOptions(condition: condition, expiry: expiry))
    }

    /// Writes the value under `key` into the local file at `url`, streaming it in chunks.
    ///
    /// The bytes go to a temporary file beside `url`, renamed over `url` once complete, so a
    /// failure never leaves a partial file where the complete one should be.
    ///
    /// - Returns: The entry's metadata, or `nil` (and no file is touched) when the key holds no
    ///   value.
    /// - Throws: ``StoreError``: ``StoreError/Code/invalidArgument`` when the directory of `url`
    ///   does not exist, ``StoreError/Code/io`` when the file cannot be written, the store's own
    ///   errors otherwise.
    @discardableResult
    public func read(_ key: StoreKey, intoFile url: URL) async throws -> EntryMetadata? {
        guard let entry = try await readStream(key) else { return nil }
        let directory = url.deletingLastPathComponent()
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).trove-\(UUID().uuidString)")
        func failure(_ code: StoreError.Code, _ message: String, _ cause: (any Error)? = nil) -> StoreError {
            StoreError(code, operation: .read, key: key, store: description, message: message, underlying: cause)
        }
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
            throw failure(.invalidArgument, "cannot create a file in '\(directory.path)'")
        }
        do {
            let handle = try FileHandle(forWritingTo: temporary)
            do {
                for try await chunk in entry.chunks { try handle.write(contentsOf: chunk) }
                try handle.close()
            } catch {
                try? handle.close()  // best effort: the error being reported is the one above
                throw error
            }
            guard rename(temporary.path, url.path) == 0 else {
                throw failure(.io, "cannot rename the downloaded file into '\(url.path)'")
            }
            return entry.metadata
        } catch {
            try? FileManager.default.removeItem(at: temporary)  // best-effort cleanup of the partial file
            if error is StoreError || error is CancellationError { throw error }
            throw failure(.io, "cannot write '\(url.path)'", error)
        }
    }
}
