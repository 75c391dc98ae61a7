import CTroveSystem
public import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension FileSystemStore {
    public func read(_ key: StoreKey) async throws -> StoreEntry? {
        try Task.checkCancellation()
        let location = EntryLocation(key)
        let now = clock.now
        let outcome = try performing(.read, key) { () throws -> (StoreEntry?, OpenedFile?) in
            guard let file = try openValueFile(location) else { return (nil, nil) }
            if Int(file.status.size) > Self.inlineIOLimit { return (nil, file) }
            defer { _ = trove_close(file.fd) }
            return (try readEntry(file, location: location, now: now), nil)
        }
        guard let large = outcome.1 else { return outcome.0 }
        return try await performingOnPool(.read, key, ifCancelledBeforeStart: { _ = trove_close(large.fd) }) { [self] in
            defer { _ = trove_close(large.fd) }
            return try readEntry(large, location: location, now: now)
        }
    }

    public func readStream(_ key: StoreKey, chunkSize: Int) async throws -> StreamedEntry? {
        try Task.checkCancellation()
        let location = EntryLocation(key)
        let now = clock.now
        guard let opened = try performing(.read, key, { try openEntry(location, now: now) }) else { return nil }
        let reader = FileChunkReader(fd: opened.fd, valueLength: opened.valueLength, chunkSize: chunkSize,
                                     path: location.relativePath, pool: configuration.blockingPool)
        let chunks = ValueChunks { ValueChunks.ChunkSource { try await reader.next() } }
        return StreamedEntry(metadata: metadata(key, header: opened.header, status: opened.status,
                                                size: Int64(opened.valueLength)),
                             chunks: chunks, closer: StreamCloser { reader.closeEarly() })
    }

    public func metadata(for key: StoreKey) async throws -> EntryMetadata? {
        try Task.checkCancellation()
        let location = EntryLocation(key)
        let now = clock.now
        return try performing(.metadata, key) {
            guard let opened = try openEntry(location, now: now) else { return nil }
            _ = trove_close(opened.fd)
            return metadata(key, header: opened.header, status: opened.status, size: Int64(opened.valueLength))
        }
    }

    public func write(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        try Task.checkCancellation()
        try refuseWritingIfReadOnly(.write, key)
        let location = EntryLocation(key)
        let now = clock.now
        if value.count > Self.inlineIOLimit || configuration.durability.syncsToDisk {
            return try await performingOnPool(.write, key) { [self] in
                try writeValue(value, location: location, options: options, now: now)
            }
        }
        // The scratch file is written on the calling thread; the key's lock is taken there too
        // unless another task or process holds it: then the wait goes to the blocking pool.
        let prepared = try performing(.write, key) { try prepareValue(value, location: location, options: options, now: now) }
        do {
            let installed = try performing(.write, key) {
                try install(prepared.scratch, at: location, condition: options.condition, now: now, waiting: false)
            }
            if !installed {
                let scratch = prepared.scratch
                _ = try await performingOnPool(.write, key) { [self] in
                    try install(scratch, at: location, condition: options.condition, now: now)
                }
            }
        } catch {
            discard(prepared.scratch)
            throw error
        }
        return prepared.metadata
    }

    public func write<Chunks: AsyncSequence & Sendable>(
        contentsOf chunks: Chunks, for key: StoreKey, options: WriteOptions
    ) async throws -> EntryMetadata where Chunks.Element == Data {
        try Task.checkCancellation()
        try refuseWritingIfReadOnly(.write, key)
        let location = EntryLocation(key)
        let now = clock.now
        let expiration = options.expiry.expirationDate(writtenAt: now)
        var scratch = try performing(.write, key) { try makeScratchFile(expiring: expiration != nil) }
        let chunks = ValueChunks(chunks, checkedAgainst: options, key: key, store: description)
        do {
            let header = EntryFileHeader(etag: scratch.etag, expiresAt: expiration, writtenAt: now,
                                         hasKeyTrailer: location.file.isShortened)
            var headerBytes = [UInt8](repeating: 0, count: EntryFileHeader.size)
            headerBytes.withUnsafeMutableBytes { header.encode(into: $0) }
            try performing(.write, key) { try headerBytes.withUnsafeBytes { try append($0, to: scratch) } }
            var size: Int64 = 0
            for try await chunk in chunks {
                try Task.checkCancellation()
                size += Int64(chunk.count)
                if chunk.count > Self.inlineIOLimit {
                    let target = scratch
                    try await performingOnPool(.write, key) { [self] in try chunk.withUnsafeBytes { try append($0, to: target) } }
                } else {
                    try performing(.write, key) { try chunk.withUnsafeBytes { try append($0, to: scratch) } }
                }
            }
            if location.file.isShortened {
                let trailer = EntryFileHeader.keyTrailer(for: location.key)
                try performing(.write, key) { try trailer.withUnsafeBytes { try append($0, to: scratch) } }
            }
            let finished = scratch
            scratch.fd = -1  // from here on the pool closure owns the descriptor
            try await performingOnPool(.write, key, ifCancelledBeforeStart: { _ = trove_close(finished.fd) }) { [self] in
                var copy = finished
                do {
                    try finish(&copy)
                    try install(copy, at: location, condition: options.condition, now: now)
                } catch {
                    discard(copy)
                    throw error
                }
            }
            return metadata(key, header: header, creationDate: now, size: size)
        } catch {
            discard(scratch)
            throw error
        }
    }

    public func delete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool {
        try Task.checkCancellation()
        try refuseWritingIfReadOnly(.delete, key)
        let location = EntryLocation(key)
        let now = clock.now
        // The key's lock is taken on the calling thread unless another task or process holds
        // it: then the wait goes to the blocking pool, as does a delete that fsyncs.
        let outcome: DeleteOutcome
        if !configuration.durability.syncsToDisk,
           let done = try performing(.delete, key, { try deleteEntry(location, condition: condition, now: now, waiting: false) }) {
            outcome = done
        } else {
            outcome = try await performingOnPool(.delete, key) { [self] in
                // With waiting, the lock is always taken.
                try deleteEntry(location, condition: condition, now: now, waiting: true)!
            }
        }
        if !location.directoryPath.isEmpty && outcome.directoryMayBeEmpty { removeEmptyDirectories(of: location) }
        return outcome.deleted
    }

    /// What ``deleteEntry(_:condition:now:waiting:)`` did.
    private struct DeleteOutcome {
        /// Whether a live value was deleted.
        var deleted: Bool
        /// `false` when the key's directory was seen to hold other entries after the delete,
        /// so that there is no empty directory to remove.
        var directoryMayBeEmpty: Bool
    }

    /// Deletes the file of `location` if `condition` holds, under the key's lock.
    ///
    /// - Returns: What it did; `nil` (nothing done) when `waiting` is `false` and the key's lock
    ///   is held by another task or process.
    private func deleteEntry(_ location: EntryLocation, condition: DeleteCondition, now: Date, waiting: Bool) throws -> DeleteOutcome? {
        let key = location.key
        guard let directory = try openParent(of: location, create: false) else {
            if condition.expectedETag != nil { throw deleteConditionFailed(condition, key, holds: nil) }
            return DeleteOutcome(deleted: false, directoryMayBeEmpty: false)
        }
        defer { directory.close() }
        guard let deleted = try deleteFile(location, in: directory, condition: condition, now: now, waiting: waiting) else {
            return nil
        }
        // A directory just opened (its listing not yet read) tells in one call whether anything
        // is left in it: most deletes leave siblings, and need not try to remove it.
        let hasEntries = directory.isOwned && trove_directory_has_entries(directory.fd, systemCalls) == 1
        return DeleteOutcome(deleted: deleted, directoryMayBeEmpty: !hasEntries)
    }

    /// The delete of `deleteEntry` in the key's directory, under the key's lock: whether a live
    /// value was deleted, or `nil` when the lock was held elsewhere and `waiting` is `false`.
    private func deleteFile(
        _ location: EntryLocation, in directory: DirectoryHandle, condition: DeleteCondition, now: Date, waiting: Bool
    ) throws -> Bool? {
        let key = location.key
        return try lock.withLock(for: key, waiting: waiting) { () throws -> Bool in
            let name = location.file.name
            if let expected = condition.expectedETag {
                // The header says which version the file holds; no status needed first.
                let header: EntryFileHeader?
                switch try readHeaderOnly(directory: directory.fd, name: name, path: location.relativePath) {
                case .missing, .directory: header = nil
                case .header(let found): header = found.isExpired(at: now) ? nil : found
                }
                guard let header, header.etagValue == expected else {
                    throw deleteConditionFailed(condition, key, holds: header?.etagValue)
                }
                guard try unlinkFile(location, in: directory) else { throw deleteConditionFailed(condition, key, holds: nil) }
                return true
            }
            if lock.kind == .sharedMutexes, !expiringEntriesMayExist() {
                // No file of this store has an expiry, and no version is asked for: whatever
                // stands under the name is a value (or a link planted there: it goes, never what
                // it points to). With record locks the flag costs a system call of its own, as
                // the status does, so the status is taken there instead. A directory under a
                // file's name is not a value of this store.
                return try unlinkFile(location, in: directory, absentAlso: EISDIR)
            }
            var status = trove_stat_t()
            guard name.withCString({ trove_statx(directory.fd, $0, AT_SYMLINK_NOFOLLOW, &status, systemCalls) }) == 0 else {
                let error = SystemCallError.last("statx", location.relativePath)
                guard error.errno == ENOENT else { throw error }
                return false
            }
            let type = status.mode & UInt32(S_IFMT)
            if type == UInt32(S_IFDIR) { return false }
            var live = true
            if type == UInt32(S_IFREG) && status.mode & UInt32(S_IXUSR) != 0 {
                let current = try readHeader(directory: directory.fd, name: name, path: location.relativePath)
                live = current.map { !$0.header.isExpired(at: now) } ?? false
            }
            return try unlinkFile(location, in: directory) && live
        }
    }

    /// Removes the file of `location` from its open `directory` and notes the change (syncing
    /// the directory when durable), under the key's lock; `false` when there was none (`ENOENT`,
    /// or `absentAlso`).
    private func unlinkFile(_ location: EntryLocation, in directory: DirectoryHandle, absentAlso: Int32 = ENOENT) throws -> Bool {
        let name = location.file.name
        guard name.withCString({ unlinkat(directory.fd, $0, 0) }) == 0 else {
            let error = SystemCallError.last("unlinkat", location.relativePath)
            if error.errno == ENOENT || error.errno == absentAlso { return false }
            throw error
        }
        lock.note(.removed, of: name, in: location.directoryPath)
        if configuration.durability.syncsToDisk { _ = fsync(directory.fd) }
        return true
    }

    /// Throws when this process may only read the store (it could not open the lock file for
    /// writing): ``StoreError/Code/permissionDenied``, or ``StoreError/Code/readOnly`` on a read-only mount.
    private func refuseWritingIfReadOnly(_ operation: StoreOperation, _ key: StoreKey?) throws {
        guard let refusal = writeRefusal else { return }
        var error = refusal.storeError(operation, key: key, store: description)
        error.message = "the store was opened for reading only: " + error.message
        throw error
    }

    private func deleteConditionFailed(_ condition: DeleteCondition, _ key: StoreKey, holds etag: ETag?) -> StoreError {
        StoreError(.conditionFailed, operation: .delete, key: key, store: description,
                   message: "condition \(condition) failed: the key " + (etag.map { "holds version \($0)" } ?? "holds no value"))
    }

    public func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
        let walker = FileSystemListing(store: self, query: query, startAfter: cursor?.rawValue, now: clock.now,
                                       snapshots: directorySnapshots)
        let limit = max(1, limit)
        let elements = try await performingOnPool(.list, nil) { try walker.nextBatch(limit: limit) }
        let next = elements.count == limit ? elements.last.map { ListCursor($0.name) } : nil
        return ListPage(elements: elements, nextCursor: next)
    }

    /// Walks the directories once for the whole listing, reading each directory a single time.
    public func list(_ query: ListQuery, pageSize: Int) -> StoreListing {
        let limit = max(1, pageSize)
        return StoreListing { [self] in
            let walker = FileSystemListing(store: self, query: query, startAfter: nil, now: clock.now)
            var finished = false
            return StoreListing.BatchSource { [self] in
                if finished { return nil }
                let batch = try await performingOnPool(.list, nil) { try walker.nextBatch(limit: limit) }
                finished = batch.count < limit
                return batch
            }
        }
    }

    public func reclaimExpired() async throws -> Int {
        try refuseWritingIfReadOnly(.reclaim, nil)
        let now = clock.now
        return try await performingOnPool(.reclaim, nil) { [self] in try reclaim(now: now) }
    }
}

extension FileSystemStore {
    /// Always `nil`: each value file starts with Trove's 40-byte header (ETag, expiry, time of
    /// the write), so no file holds exactly the value. Read values through the store, or copy
    /// one into a file of its own with ``KeyValueStore/read(_:intoFile:)``.
    public func url(for key: StoreKey, validFor lifetime: Duration) async throws -> URL? { nil }
}
