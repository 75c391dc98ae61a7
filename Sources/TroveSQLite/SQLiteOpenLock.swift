import CTroveSystem
import Foundation
import Trove

/// The lock every open store holds on `<file>-trove-lock`: shared, or exclusive for a store in
/// exclusive mode, so that an exclusive store and any other store of the same file never run at
/// once. An open-file-description lock (flock on platforms other than Linux): it conflicts
/// between two opens in one process too, and it goes away with the process.
///
/// The lock is on a companion file, not on the database: closing a descriptor of the database
/// would drop the POSIX locks that SQLite's own connections in this process hold on it.
final class OpenLock: Sendable {
    private let descriptor: Int32

    /// Opens (creating it if needed) and locks the companion of `databasePath`.
    convenience init(databasePath: String, exclusive: Bool, description: String) throws {
        let path = databasePath + "-trove-lock"
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            let code = errno
            let reason = "cannot open the lock file '\(path)' for writing: \(String(cString: strerror(code)))"
            switch code {
            case EROFS:
                throw StoreError(.readOnly, operation: .open, store: description,
                                 message: "'\(databasePath)' lies on a read-only file system (\(reason))" + SQLiteStore.readOnlyHint)
            case EACCES, EPERM:
                throw StoreError(.permissionDenied, operation: .open, store: description,
                                 message: "the process may not write beside '\(databasePath)' (\(reason))" + SQLiteStore.readOnlyHint)
            default:
                throw StoreError(.io, operation: .open, store: description, message: reason)
            }
        }
        try self.init(descriptor: descriptor, path: path, databasePath: databasePath, exclusive: exclusive,
                      description: description)
    }

    /// Opens the companion of `databasePath` for reading and takes a shared lock on it; `nil`
    /// when there is no companion, or the process may not read it: a read-only store neither
    /// creates nor writes it.
    convenience init?(readingDatabaseAt databasePath: String, description: String) throws {
        let path = databasePath + "-trove-lock"
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        try self.init(descriptor: descriptor, path: path, databasePath: databasePath, exclusive: false,
                      description: description)
    }

    private init(descriptor: Int32, path: String, databasePath: String, exclusive: Bool, description: String) throws {
        guard trove_try_lock_byte(descriptor, 0, exclusive ? 2 : 1, TROVE_CALLS_NATIVE) == 0 else {
            let code = errno
            close(descriptor)
            let message = exclusive
                ? "'\(databasePath)' is open in another store (in this process or another), so it cannot be held exclusively"
                : "'\(databasePath)' is held exclusively by another store (in this process or another)"
            throw StoreError(.unavailable, operation: .open, store: description,
                             message: code == EAGAIN || code == EACCES ? message : "cannot lock '\(path)': \(String(cString: strerror(code)))")
        }
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
    }
}
