public import Logging
public import Trove

extension KeyValueStore {
    /// This store with its retryable failures tried again under `policy`, each retry logged to
    /// `logger` (see `RetryingStore`).
    ///
    ///     let photos = s3.withTimeouts(call: .seconds(5)).retrying(logger: logger)
    ///
    /// Each retry is one message, `retrying store call`, with the metadata `trove.operation`,
    /// `trove.attempt` (the attempt that failed), `trove.error` (its code) and
    /// `trove.wait_ms`; keys are left out.
    ///
    /// - Parameters:
    ///   - policy: How often, within how long, with what waits. Defaults to
    ///     `RetryPolicy.default`.
    ///   - logger: Where the retries are logged.
    ///   - level: Their level. Defaults to `info`: a retry is worth knowing about, not a fault.
    /// - Returns: A `RetryingStore` over this store.
    public func retrying(_ policy: RetryPolicy = .default, logger: Logger, level: Logger.Level = .info) -> RetryingStore<Self> {
        retrying(policy) { event in
            logger.log(level: level, "retrying store call", metadata: [
                "trove.operation": "\(event.operation)",
                "trove.attempt": "\(event.failedAttempt)",
                "trove.error": "\(event.error.code)",
                "trove.wait_ms": "\(StoreMetrics.nanoseconds(event.wait) / 1_000_000)",
            ])
        }
    }
}
