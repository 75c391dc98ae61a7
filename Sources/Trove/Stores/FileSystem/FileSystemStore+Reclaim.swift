import CTroveSystem
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension FileSystemStore {
    /// How old a scratch file must be before reclaiming takes it for the leftover of a crashed
    /// writer.
    static let abandonedScratchAge: TimeInterval = 24 * 60 * 60

    /// Deletes expired value files, empty directories and abandoned scratch files.
    func reclaim(now: Date) throws -> Int {
        var deleted = 0
        try reclaimDirectory(rootFD, path: "", prefix: "", now: now, deleted: &deleted)
        try removeAbandonedScratchFiles(now: now)
        return deleted
    }

    private func reclaimDirectory(_ fd: Int32, path: String, prefix: String, now: Date, deleted: inout Int) throws {
        for entry in try FileSystemListing.readDirectory(fd, path: path) where !entry.name.hasPrefix(".") {
            let childPath = path.isEmpty ? entry.name : path + "/" + entry.name
            var status = trove_stat_t()
            guard trove_statx(fd, entry.name, AT_SYMLINK_NOFOLLOW, &status, systemCalls) == 0 else { continue }
            switch status.mode & UInt32(S_IFMT) {
            case UInt32(S_IFDIR):
                let decoded = FileNameCodec.decodeDirectoryName(entry.name)
                guard decoded != .foreign else { continue }
                let child = openat(fd, entry.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard child >= 0 else { continue }
                var segment: String?
                if case .segment(let name) = decoded { segment = name } else { segment = readNameFile(in: child) }
                if let segment {
                    do {
                        try reclaimDirectory(child, path: childPath, prefix: prefix + segment + "/", now: now, deleted: &deleted)
                    } catch {
                        _ = trove_close(child)
                        throw error
                    }
                }
                _ = trove_close(child)
                // Fails harmlessly when the directory is not empty (or is a shortened one,
                // which keeps its name file).
                if unlinkat(fd, entry.name, AT_REMOVEDIR) == 0 { lock.note(.other, of: entry.name, in: path) }
            case UInt32(S_IFREG):
                guard status.mode & UInt32(S_IXUSR) != 0 else { continue }
                let key: StoreKey?
                switch FileNameCodec.decodeFileName(entry.name) {
                case .foreign: key = nil
                case .segment(let segment): key = try? StoreKey(validating: prefix + segment)
                case .shortened: key = readTrailerKey(directory: fd, name: entry.name)
                }
                guard let key else { continue }
                let removed = try lock.withLock(for: key) { () throws -> Bool in
                    guard let current = try? readHeader(directory: fd, name: entry.name, path: childPath),
                          current.header.isExpired(at: now) else { return false }
                    guard unlinkat(fd, entry.name, 0) == 0 else {
                        let error = SystemCallError.last("unlinkat", childPath)
                        if error.errno == ENOENT { return false }
                        throw error
                    }
                    lock.note(.removed, of: entry.name, in: path)
                    return true
                }
                if removed { deleted += 1 }
            default:
                continue
            }
        }
    }

    private func removeAbandonedScratchFiles(now: Date) throws {
        for entry in try FileSystemListing.readDirectory(temporaryFD, path: ".trove/tmp") {
            var status = trove_stat_t()
            guard trove_statx(temporaryFD, entry.name, AT_SYMLINK_NOFOLLOW, &status, systemCalls) == 0 else { continue }
            let age = now.timeIntervalSince1970 - TimeInterval(status.mtime_sec)
            if age > Self.abandonedScratchAge { _ = unlinkat(temporaryFD, entry.name, 0) }
        }
    }
}
