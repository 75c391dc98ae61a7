import Logging
import ServiceLifecycle
import Trove

extension TrovePersistDriver {
    /// Runs the driver as a service until graceful shutdown or cancellation: every
    /// ``reclaimInterval`` it deletes the store's expired entries with
    /// ``KeyValueStore/reclaimExpired()``.
    ///
    /// A failed sweep is logged as a warning and tried again at the next interval; a store that
    /// cannot reclaim (``StoreError/Code/notSupported``) is logged once and not swept again,
    /// since its expired entries stay invisible anyway. The service itself ends only at
    /// shutdown, so that a `ServiceGroup` does not take its end for a failure. It then calls
    /// ``shutdown()``.
    public func run() async throws {
        if let reclaimInterval {
            await cancelWhenGracefulShutdown { await reclaimExpiredEntries(every: reclaimInterval) }
        }
        do {
            try await gracefulShutdown()
        } catch is CancellationError {
            // Cancelled rather than shut down gracefully: the service ends all the same.
        }
        try await shutdown()
    }

    /// Reclaims expired entries every `interval` until cancelled, or until the store says it
    /// cannot.
    private func reclaimExpiredEntries(every interval: Duration) async {
        while true {
            do {
                try await Task.sleep(for: interval)
            } catch {
                return  // cancelled, by graceful shutdown or by the task's owner
            }
            do {
                let count = try await store.reclaimExpired()
                logger.trace("reclaimed expired entries", metadata: ["store": "\(store)", "count": "\(count)"])
            } catch is CancellationError {
                return
            } catch let error as StoreError where error.code == .notSupported {
                logger.notice("the store cannot reclaim expired entries; they stay invisible, and no further sweeps are made",
                              metadata: ["store": "\(store)", "error": "\(error)"])
                return
            } catch {
                logger.warning("reclaiming expired entries failed; trying again at the next interval",
                               metadata: ["store": "\(store)", "interval": "\(interval)", "error": "\(error)"])
            }
        }
    }
}
