import CTroveSystem
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file in the store's scratch directory, being written before it is renamed into place.
struct ScratchFile {
    let name: String
    var fd: Int32
    let etag: (UInt64, UInt64)
}

extension FileSystemStore {
    /// Creates a new, empty scratch file with a fresh ETag.
    ///
    /// The name is `w` and the base-36 sum of the instance's random number and the write's serial:
    /// at most 14 bytes, so Swift keeps it without a heap allocation. `O_EXCL` turns the unlikely
    /// clash with another instance's scratch file into a retry with the next serial.
    func makeScratchFile(expiring: Bool) throws -> ScratchFile {
        if expiring { try markExpiringEntries() }
        while true {
            let serial = writeCounter.add(1, ordering: .relaxed).newValue
            let name = "w" + String(instanceID &+ serial, radix: 36)
            let fd = name.withCString { openat(temporaryFD, $0, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, expiring ? 0o744 : 0o644) }
            guard fd >= 0 else {
                let error = SystemCallError.last("openat", ".trove/tmp/" + name)
                if error.errno == EEXIST { continue }
                throw error
            }
            // The owner-execute bit marks files with an expiry; set it whatever the umask says.
            if expiring, fchmod(fd, 0o744) != 0 {
                let error = SystemCallError.last("fchmod", ".trove/tmp/" + name)
                discard(ScratchFile(name: name, fd: fd, etag: (0, 0)))
                throw error
            }
            return ScratchFile(name: name, fd: fd, etag: (instanceID, serial))
        }
    }

    /// Closes and removes a scratch file that will not be installed.
    func discard(_ scratch: ScratchFile) {
        if scratch.fd >= 0 { _ = trove_close(scratch.fd) }
        _ = unlinkat(temporaryFD, scratch.name, 0)
    }

    /// Writes `bytes` at the scratch file's current end.
    func append(_ bytes: UnsafeRawBufferPointer, to scratch: ScratchFile) throws {
        guard trove_write3(scratch.fd, bytes.baseAddress, bytes.count, nil, 0, nil, 0) == 0 else {
            throw SystemCallError.last("write", ".trove/tmp/" + scratch.name)
        }
    }

    /// Syncs (when durable) and closes a fully written scratch file.
    func finish(_ scratch: inout ScratchFile) throws {
        if configuration.durability.syncsToDisk, fsync(scratch.fd) != 0 {
            throw SystemCallError.last("fsync", ".trove/tmp/" + scratch.name)
        }
        let fd = scratch.fd
        scratch.fd = -1
        guard trove_close(fd) == 0 else {
            throw SystemCallError.last("close", ".trove/tmp/" + scratch.name)
        }
    }

    /// Renames a finished scratch file into `location` if `condition` holds, as one step under
    /// the key's lock.
    ///
    /// - Parameter waiting: Whether to wait for the key's lock when another task or process holds
    ///   it (only on threads that may block); without waiting, a held lock returns `false`.
    /// - Returns: `true` once installed; `false` (nothing done, the scratch file intact) when
    ///   `waiting` is `false` and the lock was held elsewhere.
    /// - Throws: ``StoreError/Code/conditionFailed`` when the condition does not hold; the
    ///   scratch file is then left for the caller to discard.
    @discardableResult
    func install(_ scratch: ScratchFile, at location: EntryLocation, condition: WriteCondition, now: Date,
                 waiting: Bool = true) throws -> Bool {
        // A concurrent delete may remove an emptied directory between opening it and renaming
        // into it; the rename then fails with ENOENT and the directory is made again.
        for _ in 0..<16 {
            guard let directory = try openParent(of: location, create: true) else { continue }
            defer { directory.close() }
            let outcome = try lock.withLock(for: location.key, waiting: waiting) { () throws -> Bool in
                try renameIntoPlace(scratch, directory: directory.fd, location: location, condition: condition, now: now)
            }
            guard let installed = outcome else { return false }
            if installed {
                if configuration.durability.syncsToDisk, fsync(directory.fd) != 0 {
                    throw SystemCallError.last("fsync", location.directoryPath.isEmpty ? "." : location.directoryPath)
                }
                return true
            }
        }
        throw StoreError(.io, operation: .write, key: location.key, store: description,
                         message: "the directory '\(location.directoryPath)' kept disappearing while writing into it")
    }

    /// The condition check and rename, under the key's lock. Returns `false` when the target
    /// directory vanished (try again).
    private func renameIntoPlace(
        _ scratch: ScratchFile, directory: Int32, location: EntryLocation, condition: WriteCondition, now: Date
    ) throws -> Bool {
        let name = location.file.name
        if condition.requiresAbsence {
            if Self.rename(temporaryFD, scratch.name, directory, name, flags: UInt32(TROVE_RENAME_NOREPLACE), calls: systemCalls) == 0 {
                lock.note(.added, of: name, in: location.directoryPath)
                return true
            }
            let error = SystemCallError.last("renameat2", location.relativePath)
            switch error.errno {
            case ENOENT:
                return false
            case EEXIST, EINVAL:
                // EINVAL: the file system lacks RENAME_NOREPLACE; the lock makes check-then-rename safe.
                switch try readHeaderOnly(directory: directory, name: name, path: location.relativePath) {
                case .missing: break
                case .directory: throw notAValueFile(location.relativePath, "it is not a regular file")
                case .header(let current):
                    if !current.isExpired(at: now) { throw conditionFailed(condition, location.key, holds: current.etagValue) }
                }
            default:
                throw error
            }
        } else if let expected = condition.expectedETag {
            let live: EntryFileHeader?
            switch try readHeaderOnly(directory: directory, name: name, path: location.relativePath) {
            case .missing: live = nil
            case .directory: throw notAValueFile(location.relativePath, "it is not a regular file")
            case .header(let current): live = current.isExpired(at: now) ? nil : current
            }
            guard let live, live.etagValue == expected else {
                throw conditionFailed(condition, location.key, holds: live?.etagValue)
            }
        }
        if Self.rename(temporaryFD, scratch.name, directory, name, flags: 0, calls: systemCalls) == 0 {
            lock.note(.added, of: name, in: location.directoryPath)
            return true
        }
        let error = SystemCallError.last("renameat", location.relativePath)
        if error.errno == ENOENT { return false }
        throw error
    }

    /// renameat2(2) (or its portable equivalent, per `calls`), passing the names without
    /// copying them to the heap.
    static func rename(_ fromDirectory: Int32, _ from: String, _ toDirectory: Int32, _ to: String, flags: UInt32,
                       calls: trove_calls_t) -> Int32 {
        from.withCString { source in
            to.withCString { target in trove_renameat2(fromDirectory, source, toDirectory, target, flags, calls) }
        }
    }

    func conditionFailed(_ condition: WriteCondition, _ key: StoreKey, holds etag: ETag?) -> StoreError {
        StoreError(.conditionFailed, operation: .write, key: key, store: description,
                   message: "condition \(condition) failed: the key " + (etag.map { "holds version \($0)" } ?? "holds no value"))
    }

    /// Writes a whole value: scratch file, one vectored write, rename into place, waiting for
    /// the key's lock if need be (on threads that may block).
    func writeValue(_ value: Data, location: EntryLocation, options: WriteOptions, now: Date) throws -> EntryMetadata {
        let prepared = try prepareValue(value, location: location, options: options, now: now)
        do {
            try install(prepared.scratch, at: location, condition: options.condition, now: now)
        } catch {
            discard(prepared.scratch)
            throw error
        }
        return prepared.metadata
    }

    /// Writes a whole value into a finished (closed) scratch file, to be installed; returns it
    /// with the metadata the entry will have.
    func prepareValue(_ value: Data, location: EntryLocation, options: WriteOptions, now: Date) throws
        -> (scratch: ScratchFile, metadata: EntryMetadata) {
        let expiration = options.expiry.expirationDate(writtenAt: now)
        var scratch = try makeScratchFile(expiring: expiration != nil)
        do {
            let header = EntryFileHeader(etag: scratch.etag, expiresAt: expiration, writtenAt: now,
                                         hasKeyTrailer: location.file.isShortened)
            let trailer = location.file.isShortened ? EntryFileHeader.keyTrailer(for: location.key) : []
            let result = withUnsafeTemporaryAllocation(byteCount: EntryFileHeader.size, alignment: 8) { head in
                header.encode(into: head)
                return trailer.withUnsafeBytes { tail in
                    value.withUnsafeBytes { body in
                        trove_write3(scratch.fd, head.baseAddress, head.count, body.baseAddress, body.count,
                                     tail.baseAddress, tail.count)
                    }
                }
            }
            guard result == 0 else { throw SystemCallError.last("write", ".trove/tmp/" + scratch.name) }
            try finish(&scratch)
            return (scratch, metadata(location.key, header: header, creationDate: now, size: Int64(value.count)))
        } catch {
            discard(scratch)
            throw error
        }
    }

    /// Builds metadata from a header; the creation date is the file's birth time where known.
    func metadata(_ key: StoreKey, header: EntryFileHeader, status: trove_stat_t, size: Int64) -> EntryMetadata {
        let born = status.has_btime != 0
            ? Date(timeIntervalSince1970: TimeInterval(status.btime_sec) + TimeInterval(status.btime_nsec) / 1e9)
            : nil
        return metadata(key, header: header, creationDate: born, size: size)
    }

    func metadata(_ key: StoreKey, header: EntryFileHeader, creationDate: Date?, size: Int64) -> EntryMetadata {
        EntryMetadata(key: key, size: size, etag: header.etagValue, modificationDate: header.writtenAt,
                      creationDate: hasBirthTimes ? creationDate : nil, expirationDate: header.expirationDate)
    }
}
