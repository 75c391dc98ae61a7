import CTroveSystem
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An open directory: the root (owned by the store) or one opened for an operation.
struct DirectoryHandle {
    let fd: Int32
    let isOwned: Bool

    func close() {
        if isOwned { _ = trove_close(fd) }
    }
}

extension FileSystemStore {
    /// Opens `path` (relative to the root) without leaving the root or following any link.
    ///
    /// Uses openat2 with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`; where the kernel lacks it,
    /// walks the path one component at a time with `O_NOFOLLOW`.
    ///
    /// - Returns: The descriptor, or -1 with `errno` set.
    func openBeneath(_ path: String, flags: Int32, mode: mode_t = 0) -> Int32 {
        // A file of one component (no `/`; stored names are never `.` or `..`) cannot leave the
        // root: O_NOFOLLOW alone refuses a link there (ELOOP), and costs less than openat2.
        // Directories take openat2, which reports a planted link as ELOOP rather than ENOTDIR.
        if flags & O_DIRECTORY == 0, !path.utf8.contains(UInt8(ascii: "/")), path != ".", path != ".." {
            return path.withCString { openat(rootFD, $0, flags | O_NOFOLLOW | O_CLOEXEC, mode) }
        }
        if resolvesBeneath {
            return path.withCString { trove_open_beneath(rootFD, $0, flags | O_CLOEXEC, mode, systemCalls) }
        }
        var components = path.slashSeparatedParts(omittingEmptyParts: true)
        guard let last = components.popLast() else { return openat(rootFD, ".", flags | O_CLOEXEC) }
        var directory = rootFD
        for component in components {
            let next = openat(directory, String(component), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            var saved = trove_errno()
            if directory != rootFD { _ = trove_close(directory) }
            // Trove's directories are never links or files: report one as openat2 would.
            if saved == ENOTDIR { saved = ELOOP }
            guard next >= 0 else { errno = saved; return -1 }
            directory = next
        }
        let fd = openat(directory, String(last), flags | O_NOFOLLOW | O_CLOEXEC, mode)
        let saved = trove_errno()
        if directory != rootFD { _ = trove_close(directory) }
        errno = saved
        return fd
    }

    /// Opens the directory that holds `location`'s file.
    ///
    /// - Parameter create: Whether to create missing directories (and the name files of
    ///   shortened ones).
    /// - Returns: The directory, or `nil` when it does not exist and `create` is `false`.
    func openParent(of location: EntryLocation, create: Bool) throws -> DirectoryHandle? {
        if location.directoryPath.isEmpty { return DirectoryHandle(fd: rootFD, isOwned: false) }
        let fd = openBeneath(location.directoryPath, flags: O_RDONLY | O_DIRECTORY)
        if fd >= 0 { return DirectoryHandle(fd: fd, isOwned: true) }
        let error = SystemCallError.last("openat2", location.directoryPath)
        guard error.errno == ENOENT || error.errno == ENOTDIR else { throw error }
        guard create else { return nil }
        return try createDirectories(of: location)
    }

    private func createDirectories(of location: EntryLocation) throws -> DirectoryHandle {
        var current = DirectoryHandle(fd: rootFD, isOwned: false)
        var path = ""
        for (segment, name) in location.directories {
            let parentPath = path
            path = path.isEmpty ? name.name : path + "/" + name.name
            var created = false
            if mkdirat(current.fd, name.name, 0o755) == 0 {
                created = true
                lock.note(.other, of: name.name, in: parentPath)
            } else if trove_errno() != EEXIST {
                let error = SystemCallError.last("mkdirat", path)
                current.close()
                throw error
            }
            let next = openat(current.fd, name.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if next < 0 {
                let error = SystemCallError.last("openat", path)
                current.close()
                if error.errno == ENOTDIR || error.errno == ELOOP {
                    // Trove never makes anything but directories with these names.
                    throw StoreError(.permissionDenied, operation: .write, store: description,
                                     message: "'\(path)' is not a directory but a link or file planted in the store; "
                                        + "file stores never follow links", underlying: error)
                }
                throw error
            }
            if created, configuration.durability.syncsToDisk { _ = fsync(current.fd) }
            current.close()
            current = DirectoryHandle(fd: next, isOwned: true)
            if name.isShortened {
                do {
                    try ensureNameFile(in: current.fd, segment: segment, path: path)
                } catch {
                    current.close()
                    throw error
                }
            }
        }
        return current
    }

    /// Writes the original segment of a shortened directory into its name file, atomically.
    private func ensureNameFile(in directory: Int32, segment: Substring, path: String) throws {
        if faccessat(directory, FileNameCodec.directoryNameFile, F_OK, AT_SYMLINK_NOFOLLOW) == 0 { return }
        let scratch = try makeScratchFile(expiring: false)
        var bytes = Array(segment.utf8)
        let written = bytes.withUnsafeMutableBytes { trove_write3(scratch.fd, $0.baseAddress, $0.count, nil, 0, nil, 0) }
        _ = trove_close(scratch.fd)
        guard written == 0, renameat(temporaryFD, scratch.name, directory, FileNameCodec.directoryNameFile) == 0 else {
            let error = SystemCallError.last("renameat", path + "/" + FileNameCodec.directoryNameFile)
            _ = unlinkat(temporaryFD, scratch.name, 0)
            throw error
        }
    }

    /// Reads a shortened directory's original segment, or `nil` if it has none yet.
    func readNameFile(in directory: Int32) -> String? {
        let fd = openat(directory, FileNameCodec.directoryNameFile, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { _ = trove_close(fd) }
        var buffer = [UInt8](repeating: 0, count: StoreKey.maximumByteCount + 1)
        let count = buffer.withUnsafeMutableBytes { trove_pread_full(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0, count <= StoreKey.maximumByteCount else { return nil }
        return String(validating: buffer[..<count], as: UTF8.self)
    }

    /// Removes the now empty directories of `location`, deepest first, stopping at the first
    /// that is not empty. Shortened directories keep their name file and stay.
    func removeEmptyDirectories(of location: EntryLocation) {
        var directories = location.directories.map(\.name.name)
        while !directories.isEmpty {
            let name = directories.removeLast()
            let parentPath = directories.joined(separator: "/")
            let parent: Int32 = parentPath.isEmpty ? rootFD : openBeneath(parentPath, flags: O_RDONLY | O_DIRECTORY)
            guard parent >= 0 else { return }
            let removed = unlinkat(parent, name, AT_REMOVEDIR) == 0
            if removed { lock.note(.other, of: name, in: parentPath) }
            if parent != rootFD { _ = trove_close(parent) }
            if !removed { return }
        }
    }
}
