import Foundation
import Synchronization
import Trove

/// Running a call on a connection: on the calling task, or on the blocking pool.
extension SQLiteStore {
    /// Runs `body` on a connection: on the calling task first, when the connection is free and
    /// without waiting for the database's locks; on the blocking pool, waiting up to the busy
    /// timeout, when the connection was in use, the database was busy, or `heavy` is set.
    /// SQLite failures become ``StoreError``s naming `operation` and `key`; a ``CallerError`` is
    /// unwrapped and its error thrown as it is.
    func perform<T: Sendable>(
        _ operation: StoreOperation, _ key: StoreKey?, writes: Bool, heavy: Bool = false, scans: Bool = false,
        _ body: @escaping @Sendable (SQLiteConnection) throws -> T
    ) async throws -> T {
        try Task.checkCancellation()
        // A commit with synchronous=FULL syncs the log to disk.
        let heavy = heavy || (writes && options.synchronization == .full)
        let connection: SQLiteConnection
        if writes {
            guard let writer else { throw refusal(operation, key) }
            connection = writer
        } else {
            connection = scans ? readers[readers.count - 1] : reader()
        }
        if !heavy {
            do {
                if let (result, checkpointIsDue) = try Self.usingIfFree(connection, body) {
                    if checkpointIsDue {
                        // Best effort, after the write: a checkpoint that fails is tried again
                        // after the next write.
                        _ = try? await offload { try Self.using(connection, waitingUntil: 0) { $0.checkpoint() } }
                    }
                    return result
                }
            } catch let failure as SQLiteFailure where failure.isBusy {
                // Wait for the lock on a thread of the pool, below.
            } catch let caller as CallerError {
                throw caller.error
            } catch {
                throw storeError(error, operation, key)
            }
        }
        // The connection is in use (perhaps by a call waiting for another process's lock), the
        // database is busy, or the call is heavy: wait on a thread of the pool, not here.
        let timeout = options.busyTimeout
        do {
            return try await offload {
                try Self.using(connection, waitingUntil: deadline(after: timeout)) { connection in
                    let result = try body(connection)
                    if connection.isCheckpointDue { connection.checkpoint() }
                    return result
                }
            }
        } catch let caller as CallerError {
            throw caller.error
        } catch let cancellation as CancellationError {
            // Cancelled while it waited for a thread of the pool: the body never ran.
            throw cancellation
        } catch {
            throw storeError(error, operation, key)
        }
    }

    /// `body`'s result on `connection` if no one else is using it, without waiting for the
    /// database's locks, and whether a checkpoint is due after it; `nil` when the connection is
    /// in use.
    private static func usingIfFree<T>(
        _ connection: SQLiteConnection, _ body: (SQLiteConnection) throws -> T
    ) throws -> (T, Bool)? {
        guard connection.lock.try() else { return nil }
        defer { connection.lock.unlock() }
        assert(connection.waitDeadline == 0, "a call on the calling task must not wait for a lock")
        return (try body(connection), connection.isCheckpointDue)
    }

    private static func using<T>(
        _ connection: SQLiteConnection, waitingUntil deadline: UInt64, _ body: (SQLiteConnection) throws -> T
    ) throws -> T {
        connection.lock.lock()
        defer {
            connection.waitDeadline = 0
            connection.lock.unlock()
        }
        connection.waitDeadline = deadline
        return try body(connection)
    }

    /// A connection for reads of single entries: a free one if there is one (the one for scans,
    /// which maps none of the file, last), else the next in turn.
    private func reader() -> SQLiteConnection {
        let start = nextReader.add(1, ordering: .relaxed).newValue
        let pointReaders = readers.count >= 2 ? readers.count - 1 : readers.count
        for offset in 0..<readers.count {
            let candidate = offset < pointReaders ? readers[(start + offset) % pointReaders] : readers[readers.count - 1]
            if candidate.lock.try() {
                candidate.lock.unlock()
                return candidate
            }
        }
        return readers[start % pointReaders]
    }
}
