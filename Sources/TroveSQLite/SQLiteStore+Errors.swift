import CTroveSQLite
import Foundation
import Trove

/// How SQLite's failures, and writes to a read-only store, become ``StoreError``s.
extension SQLiteStore {
    /// The error for a write to a read-only store.
    func refusal(_ operation: StoreOperation, _ key: StoreKey?) -> StoreError {
        StoreError(.readOnly, operation: operation, key: key, store: description,
                   message: "the store was opened read-only (mode=readonly), so '\(path.path)' is not written; "
                    + "open it with mode=readwrite to write")
    }

    /// `error` as a ``StoreError`` of this store.
    func storeError(_ error: any Error, _ operation: StoreOperation, _ key: StoreKey?) -> StoreError {
        if let error = error as? StoreError { return error.relabeled(store: description, key: key) }
        guard let failure = error as? SQLiteFailure else {
            return StoreError(.io, operation: operation, key: key, store: description,
                              message: "\(error)", underlying: error)
        }
        return Self.storeError(failure, operation, key, store: description, path: path.path,
                               busyTimeout: options.busyTimeout)
    }

    /// The ``StoreError`` for an SQLite failure.
    static func storeError(
        _ failure: SQLiteFailure, _ operation: StoreOperation, _ key: StoreKey?, store: String, path: String,
        busyTimeout: Duration
    ) -> StoreError {
        func error(_ code: StoreError.Code, _ message: String, retryable: Bool = false) -> StoreError {
            StoreError(code, operation: operation, key: key, store: store, message: message, underlying: failure,
                       isRetryable: retryable)
        }
        switch failure.code {
        case SQLITE_BUSY, SQLITE_LOCKED:
            return error(.timedOut, "'\(path)' stayed locked by another connection for \(busyTimeout): \(failure.description)",
                         retryable: true)
        case SQLITE_FULL:
            return error(.outOfSpace, "the disk holding '\(path)' is full: \(failure.message); nothing was written; free space and retry",
                         retryable: true)
        case SQLITE_READONLY:
            return error(.readOnly, "'\(path)' cannot be written: \(failure.message)")
        case SQLITE_PERM, SQLITE_AUTH:
            return error(.permissionDenied, "access to '\(path)' was denied: \(failure.message)")
        case SQLITE_CANTOPEN:
            return error(.io, "'\(path)' cannot be opened: \(failure.message)")
        case SQLITE_NOTADB:
            return error(.invalidArgument, "'\(path)' is not an SQLite database")
        case SQLITE_CORRUPT:
            return error(.integrity, "'\(path)' is damaged: \(failure.message)")
        case SQLITE_TOOBIG:
            return error(.valueTooLarge, "the value is too large for SQLite: \(failure.message)")
        case SQLITE_NOMEM:
            return error(.unavailable, "SQLite ran out of memory: \(failure.message)", retryable: true)
        case SQLITE_INTERRUPT:
            return error(.unavailable, "the call was interrupted: \(failure.message)", retryable: true)
        default:
            return error(.io, "SQLite failed on '\(path)': \(failure.description)")
        }
    }

    /// The end of the message of an error that opening for reading only would avoid.
    static let readOnlyHint = "; to read the store without writing, open it with mode=readonly (SQLiteStore.AccessMode.readOnly)"
}
