import Trove

/// Runs `body` on a thread of the blocking pool and returns its result, suspending the calling
/// task: every SQLite call that may wait (for another process's lock, for an fsync, for a large
/// value) goes through here, so that no cooperative thread blocks on it.
///
/// The one place this target names the pool. Once submitted, `body` runs to its end even if the
/// task is cancelled meanwhile; callers check for cancellation before.
func offload<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await BlockingPool.shared.run(body)
}
