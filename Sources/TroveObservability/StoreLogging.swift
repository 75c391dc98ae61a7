public import Logging
public import Trove

/// Logs a store's calls with swift-log: every call at `trace`, failures at `debug`, calls
/// slower than a threshold at `notice`, and the failures that need a person (a checksum that
/// does not match, a write whose outcome is unknown) at `warning`.
///
///     let sessions = redis.logging(to: Logger(label: "app.sessions"), slowerThan: .milliseconds(250))
///
/// Each message has the metadata `trove.store` (the store's name), `trove.operation` (the
/// method), `trove.duration_ms`, and for a failure `trove.error` (its `StoreError.Code`);
/// the error's message and the key appear only with `includingKeys`, since both can name
/// personal data. Values never appear, nor do credentials: stores keep passwords out of their
/// errors. A read that finds nothing is not a failure.
public struct StoreLogging: StoreObserver {
    /// Where the messages go.
    public let logger: Logger
    /// The store's name in the program.
    public let name: String
    /// Calls that take longer are logged at ``slowLevel``.
    public let slowThreshold: Duration
    /// The level of a slow call. Defaults to `notice`.
    public let slowLevel: Logger.Level
    /// Whether messages carry the key and the error's message.
    public let includingKeys: Bool

    /// Creates the logging of one store.
    ///
    /// - Parameters:
    ///   - logger: Where the messages go.
    ///   - name: The store's name in the program. Defaults to the logger's label.
    ///   - slowThreshold: Calls that take longer are logged as slow. Defaults to 1 second.
    ///   - slowLevel: The level of a slow call. Defaults to `notice`.
    ///   - includingKeys: Whether messages carry keys and error messages. Defaults to `false`.
    public init(logger: Logger, name: String? = nil, slowerThan slowThreshold: Duration = .seconds(1),
                slowLevel: Logger.Level = .notice, includingKeys: Bool = false) {
        self.logger = logger
        self.name = name ?? logger.label
        self.slowThreshold = slowThreshold
        self.slowLevel = slowLevel
        self.includingKeys = includingKeys
    }

    /// Runs `body`, logging it.
    public func observe<T>(_ call: StoreCall, _ body: () async throws -> (T, CallOutcome)) async throws -> T {
        let start = ContinuousClock.now
        do {
            let (value, outcome) = try await body()
            let elapsed = ContinuousClock.now - start
            if elapsed > slowThreshold {
                logger.log(level: slowLevel, "slow store call", metadata: metadata(call, elapsed))
            } else if logger.logLevel <= .trace {
                var metadata = metadata(call, elapsed)
                if let found = outcome.found { metadata["trove.found"] = "\(found)" }
                logger.trace("store call", metadata: metadata)
            }
            return value
        } catch {
            let elapsed = ContinuousClock.now - start
            var metadata = metadata(call, elapsed)
            metadata["trove.error"] = "\(StoreMetrics.outcome(of: error))"
            if includingKeys { metadata["trove.error.message"] = "\((error as? StoreError)?.message ?? "\(error)")" }
            logger.log(level: level(of: error), "store call failed", metadata: metadata)
            throw error
        }
    }

    private func level(of error: any Error) -> Logger.Level {
        guard let error = error as? StoreError else { return .debug }
        switch error.code {
        case .integrity, .outcomeUnknown: return .warning
        default: return .debug
        }
    }

    private func metadata(_ call: StoreCall, _ elapsed: Duration) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "trove.store": "\(name)",
            "trove.operation": "\(call.method.name)",
            "trove.duration_ms": "\(StoreMetrics.nanoseconds(elapsed) / 1_000_000)",
        ]
        if call.entryCount != 1 { metadata["trove.entries"] = "\(call.entryCount)" }
        if includingKeys, let key = call.key { metadata["trove.key"] = "\(key)" }
        return metadata
    }
}

extension KeyValueStore {
    /// This store with its calls logged (see ``StoreLogging``).
    ///
    ///     let sessions = redis.logging(to: Logger(label: "app.sessions"))
    ///
    /// - Parameters:
    ///   - logger: Where the messages go.
    ///   - name: The store's name. Defaults to the logger's label.
    ///   - slowThreshold: Calls that take longer are logged as slow. Defaults to 1 second.
    ///   - includingKeys: Whether messages carry keys. Defaults to `false`.
    /// - Returns: An `ObservedStore` over this store.
    public func logging(
        to logger: Logger, name: String? = nil, slowerThan slowThreshold: Duration = .seconds(1), includingKeys: Bool = false
    ) -> ObservedStore<Self, StoreLogging> {
        observed(by: StoreLogging(logger: logger, name: name, slowerThan: slowThreshold, includingKeys: includingKeys))
    }
}
