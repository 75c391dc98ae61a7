public import Trove
public import Tracing

/// Traces a store's calls with swift-distributed-tracing: a client span per call, named after
/// the call and the store (`read sessions`), as a child of the task's current span.
///
///     InstrumentationSystem.bootstrap(otelTracer)  // once per process
///     let sessions = redis.tracing(system: "redis", name: "sessions")
///
/// Each span carries OpenTelemetry's database attributes where they fit: `db.system.name`
/// (and the older `db.system`) for the kind of store, `db.namespace` for its name,
/// `db.operation.name` for the method (`read`, `writeBatch`, …), `db.operation.batch.size`
/// for a batch; and Trove's own: `trove.found` for reads and deletes, `trove.bytes_read`,
/// `trove.bytes_written`, `trove.batch.failed_entries`. A failure is recorded on the span as
/// an error, with `error.type` its `StoreError.Code`, and sets the span's status to error;
/// a read that finds nothing is not a failure. Keys are left out unless
/// `recordingKeys` is set (`trove.key`): they can be personal data. Values never appear.
///
/// With no tracer bootstrapped (the no-op tracer), calls run without any span work.
public struct StoreTracing: StoreObserver {
    /// The kind of store, as `db.system.name`.
    public let system: String
    /// The store's name in the program, as `db.namespace` and in span names.
    public let name: String
    /// Whether spans carry the key a call is about, as `trove.key`.
    public let recordingKeys: Bool
    private let tracer: (any Tracer)?

    /// Creates the tracing of one store.
    ///
    /// - Parameters:
    ///   - system: What kind of store it is: `redis`, `postgresql`, `s3`, `file`, `sqlite`,
    ///     `memory`.
    ///   - name: The store's name in the program: `sessions`, `photos`.
    ///   - recordingKeys: Whether spans carry keys. Defaults to `false`.
    ///   - tracer: The tracer that makes the spans. Defaults to the one bootstrapped in
    ///     `InstrumentationSystem` (or bound by `withTracer`) when each call starts.
    public init(system: String, name: String, recordingKeys: Bool = false, tracer: (any Tracer)? = nil) {
        self.system = system
        self.name = name
        self.recordingKeys = recordingKeys
        self.tracer = tracer
    }

    /// Runs `body` inside a span of its own.
    public func observe<T>(_ call: StoreCall, _ body: () async throws -> (T, CallOutcome)) async throws -> T {
        let tracer: any Tracer
        if let chosen = self.tracer {
            tracer = chosen
        } else {
            // The cheap check first: with nothing bootstrapped or bound, no span at all.
            let instrument = InstrumentationSystem.instrument
            if instrument is NoOpInstrument || instrument is NoOpTracer { return try await body().0 }
            tracer = InstrumentationSystem.tracer
        }
        if tracer is NoOpTracer { return try await body().0 }
        let span = tracer.startSpan("\(call.method.name) \(name)", context: InstrumentationContext.current ?? .topLevel, ofKind: .client)
        defer { span.end() }
        span.updateAttributes { attributes in
            attributes["db.system.name"] = system
            attributes["db.system"] = system
            attributes["db.namespace"] = name
            attributes["db.operation.name"] = call.method.name
            if call.key == nil, call.entryCount != 1 || call.method.name.hasSuffix("Batch") {
                attributes["db.operation.batch.size"] = call.entryCount
            }
            if recordingKeys, let key = call.key { attributes["trove.key"] = key.description }
        }
        do {
            let (value, outcome) = try await InstrumentationContext.$current.withValue(span.context) {
                try await body()
            }
            span.updateAttributes { attributes in
                if let found = outcome.found { attributes["trove.found"] = found }
                if outcome.bytesRead > 0 { attributes["trove.bytes_read"] = outcome.bytesRead }
                if outcome.bytesWritten > 0 { attributes["trove.bytes_written"] = outcome.bytesWritten }
                if outcome.failedEntries > 0 { attributes["trove.batch.failed_entries"] = outcome.failedEntries }
            }
            return value
        } catch {
            span.attributes["error.type"] = StoreMetrics.outcome(of: error)
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error))
            throw error
        }
    }
}

extension KeyValueStore {
    /// This store with a span per call (see ``StoreTracing``).
    ///
    ///     let sessions = redis.tracing(system: "redis", name: "sessions")
    ///
    /// - Parameters:
    ///   - system: What kind of store it is: `redis`, `postgresql`, `s3`, `file`, `sqlite`.
    ///   - name: The store's name in the program.
    ///   - recordingKeys: Whether spans carry keys. Defaults to `false`.
    ///   - tracer: The tracer. Defaults to the bootstrapped one.
    /// - Returns: An `ObservedStore` over this store.
    public func tracing(
        system: String, name: String, recordingKeys: Bool = false, tracer: (any Tracer)? = nil
    ) -> ObservedStore<Self, StoreTracing> {
        observed(by: StoreTracing(system: system, name: name, recordingKeys: recordingKeys, tracer: tracer))
    }
}
