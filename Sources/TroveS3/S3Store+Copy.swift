public import Foundation
public import Trove
public import TroveS3Client

extension S3Store {
    /// Copies the value of `key` to `destinationKey` of `destination` on the server (S3's
    /// CopyObject, or UploadPartCopy in parts past 5 GiB): the bytes never pass through this
    /// process.
    ///
    ///     try await photos.copyValue("2026/cat.jpg", to: "cat.jpg", in: archive)
    ///
    /// Both stores must be on the same endpoint; the request goes through the destination's
    /// client, whose credentials must be allowed to read the source. The copy keeps the
    /// source's content type and user metadata; S3 gives it a new modification time and keeps
    /// the ETag of a copy in one request (a copy in parts has a multipart ETag).
    ///
    /// - Parameters:
    ///   - key: The key to copy.
    ///   - destinationKey: The key to write. Defaults to `key`.
    ///   - destination: The store to write into. Defaults to this store.
    ///   - condition: When to write: always, only if `destinationKey` is absent, or only if it
    ///     has an ETag (on servers that honour conditions on copies, SeaweedFS among them).
    ///   - sourceETag: An ETag the source must have, else `StoreError.Code.conditionFailed`.
    /// - Returns: The new entry's metadata, or `nil` when `key` holds no value (nothing is
    ///   written then).
    /// - Throws: `StoreError`: `StoreError.Code.notSupported` when the stores are on
    ///   different endpoints, `StoreError.Code.conditionFailed` when a condition does not
    ///   hold, and the codes of ``write(_:for:options:)``.
    @discardableResult
    public func copyValue(_ key: StoreKey, to destinationKey: StoreKey? = nil, in destination: S3Store? = nil,
                          condition: WriteCondition = .always, sourceETag: ETag? = nil) async throws -> EntryMetadata? {
        let destination = destination ?? self
        let destinationKey = destinationKey ?? key
        try checkSameEndpoint(destination)
        let source = try await checkedObjectKey(key, .copy)
        let target = try await destination.checkedObjectKey(destinationKey, .copy)
        do {
            let result = try await destination.mapErrors(.copy, key: destinationKey) {
                try await destination.client.copyObject(fromBucket: bucket, key: source, toBucket: destination.bucket, key: target,
                                                        sourceIfMatch: sourceETag?.rawValue,
                                                        ifNoneMatch: condition.requiresAbsence ? "*" : nil,
                                                        ifMatch: condition.expectedETag?.rawValue,
                                                        concurrentParts: destination.options.concurrentParts)
            }
            return EntryMetadata(key: destinationKey, size: result.size, etag: ETag(Self.quoted(result.etag)),
                                 modificationDate: result.lastModified ?? Date())
        } catch let error as StoreError where (error.underlying as? S3Error).map(isMissingSource) == true {
            return nil
        }
    }

    /// Copies every entry whose key starts with `prefix` into `destination` on the server, under
    /// the same key (below the destination's prefix), `concurrency` at a time: the server-side
    /// counterpart of `KeyValueStore.copy(to:withPrefix:replacing:concurrency:chunkSize:expiries:onProgress:)` for
    /// two stores on one endpoint, in which no byte of a value passes through this process.
    ///
    /// - Parameters:
    ///   - destination: The store to copy into, on the same endpoint.
    ///   - prefix: The bytes keys must start with. Defaults to `""`, every key.
    ///   - replacing: Whether to overwrite keys the destination holds. Defaults to `true`; with
    ///     `false` they are skipped (a copy conditional on absence), so running it again resumes.
    ///   - concurrency: How many entries are copied at once. Defaults to 8.
    ///   - onProgress: Called after each entry with the totals so far, one call at a time (not
    ///     concurrently), in the task that called `copyOnServer`. Defaults to `nil`.
    /// - Returns: How many entries were copied and skipped (held by the destination, or gone
    ///   from the source before their turn), and their bytes.
    /// - Throws: The first `StoreError`, naming its key (entries copied before it stay copied);
    ///   `StoreError.Code.notSupported` when the stores are on different endpoints.
    @discardableResult
    public func copyOnServer(to destination: S3Store, withPrefix prefix: String = "", replacing: Bool = true,
                             concurrency: Int = 8, onProgress: ((CopyReport) -> Void)? = nil) async throws -> CopyReport {
        try checkSameEndpoint(destination)
        return try await copy(to: destination, withPrefix: prefix, replacing: replacing, concurrency: concurrency,
                              onProgress: onProgress)
    }

    /// Whether `other` is on the same endpoint as this store, so that values can be copied
    /// between the two on the server (``copyValue(_:to:in:condition:sourceETag:)``,
    /// ``copyOnServer(to:withPrefix:replacing:concurrency:onProgress:)``).
    public func isOnSameEndpoint(as other: S3Store) -> Bool {
        client.configuration.endpoint.absoluteString == other.client.configuration.endpoint.absoluteString
    }

    private func checkSameEndpoint(_ destination: S3Store) throws {
        let here = client.configuration.endpoint.absoluteString, there = destination.client.configuration.endpoint.absoluteString
        guard isOnSameEndpoint(as: destination) else {
            throw StoreError(.notSupported, operation: .copy, store: description,
                             message: "a server-side copy needs both stores on one endpoint, not \(here) and \(there); "
                                + "copy(to:) streams the values through this process instead")
        }
    }

    private func isMissingSource(_ error: S3Error) -> Bool {
        error.kind == .notFound && error.code == "NoSuchKey" && error.bucket == bucket
    }
}

extension S3Store: ServerSideCopying {
    /// Whether `destination` is an ``S3Store`` on the same endpoint, so that
    /// `KeyValueStore.copy(to:withPrefix:replacing:concurrency:chunkSize:expiries:onProgress:)`
    /// and `KeyValueStore.synchronize(to:withPrefix:byContent:maximumDeletes:dryRun:concurrency:comparisonConcurrency:chunkSize:expiries:onStep:)`
    /// copy into it on the server.
    public func copiesOnServer(to destination: any KeyValueStore) -> Bool {
        (destination as? S3Store).map(isOnSameEndpoint) ?? false
    }

    /// Copies the value of `key` into `destination` on the server, as
    /// ``copyValue(_:to:in:condition:sourceETag:)`` does.
    ///
    /// - Throws: `StoreError.Code.notSupported` when `destination` is not an ``S3Store`` on
    ///   this endpoint, or when `expiry` is not `Expiry.never` (S3 keeps no expiry); the
    ///   errors of ``copyValue(_:to:in:condition:sourceETag:)``.
    public func copyOnServer(
        _ key: StoreKey, to destination: any KeyValueStore, condition: WriteCondition, expiry: Expiry
    ) async throws -> EntryMetadata? {
        guard let destination = destination as? S3Store else {
            throw StoreError(.notSupported, operation: .copy, key: key, store: description,
                             message: "a server-side copy needs an S3 store as the destination, not \(destination)")
        }
        guard expiry == .never else {
            throw StoreError(.notSupported, operation: .copy, key: key, store: destination.description,
                             message: "the entry expires, and the destination cannot keep an expiry")
        }
        return try await copyValue(key, in: destination, condition: condition)
    }
}
