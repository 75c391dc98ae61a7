public import CoreMetrics
import Synchronization
public import Trove

/// Measures a store's calls with swift-metrics: how many, with what outcome, how long they
/// took, how many bytes they moved, how many are running.
///
///     MetricsSystem.bootstrap(prometheus)          // first, once per process
///     let sessions = redis.recordingMetrics(system: "redis", name: "sessions")
///
/// The metrics, each with the dimensions `system` and `store` (the names given here):
/// - `trove_operations_total` (counter), with `operation` (`StoreCall.Method.name`: `read`,
///   `write`, `list`, …) and `outcome`: `ok`, `notFound` (a read, metadata or delete that
///   found no live value), the `StoreError.Code` of a failure (`unavailable`,
///   `conditionFailed`, …), `cancelled`, or `error` for an error of another type;
/// - `trove_operation_duration_seconds` (timer), with `operation`;
/// - `trove_read_bytes_total` and `trove_written_bytes_total` (counters): the bytes of values
///   read (a stream's as its chunks are read) and written;
/// - `trove_batch_entry_failures_total` (counter), with `operation`: entries of a batch that
///   failed on their own while the batch call succeeded;
/// - `trove_operations_in_flight` (meter): calls running now.
///
/// Labels never hold keys or values, so the number of series stays small: the methods times
/// the outcomes. The metrics are made when this value is created, from the factory given or
/// the one bootstrapped then (swift-metrics keeps a metric's factory for its life): bootstrap
/// the metrics system before creating the store. With no backend (swift-metrics' no-op
/// handler), calls pass through without measuring.
public struct StoreMetrics: StoreObserver {
    /// The metrics; `nil` when they would go to swift-metrics' no-op handler, so that calls
    /// skip the work.
    private let instruments: Instruments?

    /// Creates the metrics of one store.
    ///
    /// - Parameters:
    ///   - system: What kind of store it is, as the `system` dimension: `redis`, `postgresql`,
    ///     `s3`, `file`, `sqlite`, `memory`.
    ///   - name: The store's name in the program, as the `store` dimension: `sessions`,
    ///     `photos`. Keep it to a few fixed names.
    ///   - factory: Where the metrics go. Defaults to the factory bootstrapped in
    ///     `MetricsSystem`.
    public init(system: String, name: String, factory: (any MetricsFactory)? = nil) {
        let factory = factory ?? MetricsSystem.factory
        instruments = factory is NOOPMetricsHandler ? nil : Instruments(system: system, name: name, factory: factory)
    }

    /// Runs `body`, counting and timing it.
    public func observe<T>(_ call: StoreCall, _ body: () async throws -> (T, CallOutcome)) async throws -> T {
        guard let instruments else { return try await body().0 }
        let method = instruments.method(call.method)
        instruments.inFlight.increment()
        let start = ContinuousClock.now
        defer { instruments.inFlight.decrement() }
        do {
            let (value, outcome) = try await body()
            method.duration.recordNanoseconds(Self.nanoseconds(ContinuousClock.now - start))
            if outcome.found == false { method.notFound.increment() } else { method.ok.increment() }
            if outcome.bytesRead > 0 { instruments.bytesRead.increment(by: outcome.bytesRead) }
            if outcome.bytesWritten > 0 { instruments.bytesWritten.increment(by: outcome.bytesWritten) }
            if outcome.failedEntries > 0 { method.entryFailures.increment(by: outcome.failedEntries) }
            return value
        } catch {
            method.duration.recordNanoseconds(Self.nanoseconds(ContinuousClock.now - start))
            instruments.failures(of: call.method, Self.outcome(of: error)).increment()
            throw error
        }
    }

    /// Counts the bytes of a stream's chunk.
    public func streamed(_ count: Int, of call: StoreCall) {
        instruments?.bytesRead.increment(by: count)
    }

    /// The `outcome` dimension of a failure.
    static func outcome(of error: any Error) -> String {
        switch error {
        case let error as StoreError: error.code.description
        case is CancellationError: "cancelled"
        default: "error"
        }
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

/// The metrics of one store, made once.
private final class Instruments: Sendable {
    /// The metrics of one method.
    struct Method: Sendable {
        let ok: Counter
        let notFound: Counter
        let duration: Timer
        let entryFailures: Counter
    }

    let dimensions: [(String, String)]
    let factory: any MetricsFactory
    let bytesRead: Counter
    let bytesWritten: Counter
    let inFlight: Meter
    private let methods: [String: Method]
    /// Failure counters, by method and outcome, made on first use.
    private let failureCounters = Mutex<[String: Counter]>([:])

    static let allMethods: [StoreCall.Method] = [
        .read, .readStream, .metadata, .write, .writeStream, .delete, .list, .count,
        .readBatch, .writeBatch, .deleteBatch, .url, .reclaimExpired,
    ]

    init(system: String, name: String, factory: any MetricsFactory) {
        let dimensions = [("system", system), ("store", name)]
        self.dimensions = dimensions
        self.factory = factory
        bytesRead = Counter(label: "trove_read_bytes_total", dimensions: dimensions, factory: factory)
        bytesWritten = Counter(label: "trove_written_bytes_total", dimensions: dimensions, factory: factory)
        inFlight = Meter(label: "trove_operations_in_flight", dimensions: dimensions, factory: factory)
        var methods: [String: Method] = [:]
        for method in Self.allMethods {
            let operation = dimensions + [("operation", method.name)]
            methods[method.name] = Method(
                ok: Counter(label: "trove_operations_total", dimensions: operation + [("outcome", "ok")], factory: factory),
                notFound: Counter(label: "trove_operations_total", dimensions: operation + [("outcome", "notFound")], factory: factory),
                duration: Timer(label: "trove_operation_duration_seconds", dimensions: operation, factory: factory),
                entryFailures: Counter(label: "trove_batch_entry_failures_total", dimensions: operation, factory: factory))
        }
        self.methods = methods
    }

    func method(_ method: StoreCall.Method) -> Method {
        methods[method.name]!
    }

    func failures(of method: StoreCall.Method, _ outcome: String) -> Counter {
        let name = "\(method.name) \(outcome)"
        return failureCounters.withLock { counters in
            if let counter = counters[name] { return counter }
            let counter = Counter(
                label: "trove_operations_total",
                dimensions: dimensions + [("operation", method.name), ("outcome", outcome)], factory: factory)
            counters[name] = counter
            return counter
        }
    }
}

extension KeyValueStore {
    /// This store with its calls measured (see ``StoreMetrics``).
    ///
    ///     let sessions = redis.recordingMetrics(system: "redis", name: "sessions")
    ///
    /// - Parameters:
    ///   - system: What kind of store it is: `redis`, `postgresql`, `s3`, `file`, `sqlite`.
    ///   - name: The store's name in the program.
    ///   - factory: Where the metrics go. Defaults to the bootstrapped `MetricsSystem`.
    /// - Returns: An `ObservedStore` over this store.
    public func recordingMetrics(
        system: String, name: String, factory: (any MetricsFactory)? = nil
    ) -> ObservedStore<Self, StoreMetrics> {
        observed(by: StoreMetrics(system: system, name: name, factory: factory))
    }
}
