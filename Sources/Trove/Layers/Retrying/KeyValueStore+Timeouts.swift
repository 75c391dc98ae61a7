extension KeyValueStore {
    /// This store with a time limit on each call and on each chunk of a stream (see
    /// ``TimeoutStore``).
    ///
    ///     let store = s3.withTimeouts(call: .seconds(5)).retrying()
    ///
    /// Put retries around the timeouts, as above, so that a call cut short is tried again.
    ///
    /// - Parameters:
    ///   - call: The longest a call may take to answer. Defaults to 30 seconds.
    ///   - idle: The longest a stream may go without a chunk. Defaults to 30 seconds.
    /// - Returns: A ``TimeoutStore`` over this store.
    public func withTimeouts(call: Duration = .seconds(30), idle: Duration = .seconds(30)) -> TimeoutStore<Self> {
        TimeoutStore(base: self, callLimit: call, idleLimit: idle)
    }
}

extension RetryingStore {
    /// The same retries, with time limits placed inside them: each attempt, not all of them
    /// together, is cut short at the limit, and then retried.
    ///
    ///     let store = s3.retrying().withTimeouts(call: .seconds(5))   // retries around timeouts
    ///
    /// - Parameters:
    ///   - call: The longest an attempt may take to answer. Defaults to 30 seconds.
    ///   - idle: The longest a stream may go without a chunk. Defaults to 30 seconds.
    /// - Returns: A ``RetryingStore`` over a ``TimeoutStore`` over this store's base.
    public func withTimeouts(call: Duration = .seconds(30), idle: Duration = .seconds(30)) -> RetryingStore<TimeoutStore<Base>> {
        RetryingStore<TimeoutStore<Base>>(base: TimeoutStore(base: base, callLimit: call, idleLimit: idle),
                                          policy: policy, retryClock: clock, onRetry: onRetry)
    }
}
