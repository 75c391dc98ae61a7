extension KeyValueStore {
    /// This store with its retryable failures tried again under `policy` (see
    /// ``RetryingStore``).
    ///
    ///     let photos = s3.retrying(RetryPolicy(attempts: 6))
    ///
    /// Put timeouts inside the retries, so that a call that hangs is cut short and tried
    /// again: `store.withTimeouts(call: .seconds(5)).retrying()`.
    ///
    /// - Parameters:
    ///   - policy: How often, within how long, with what waits. Defaults to
    ///     ``RetryPolicy/default``: 4 attempts within 10 seconds.
    ///   - onRetry: Told of each retry before its wait, to log or count it. Defaults to none.
    /// - Returns: A ``RetryingStore`` over this store.
    public func retrying(_ policy: RetryPolicy = .default, onRetry: (@Sendable (RetryEvent) -> Void)? = nil) -> RetryingStore<Self> {
        RetryingStore(base: self, policy: policy, onRetry: onRetry)
    }
}
