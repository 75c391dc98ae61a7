/// One call on an ``ObservedStore``: what is being done, to which key, as an observer sees it
/// before the call runs.
public struct StoreCall: Sendable, CustomStringConvertible {
    /// The method called, as a name fit for a metric's label or a span's name.
    public struct Method: Hashable, Sendable, CustomStringConvertible {
        /// The name: `read`, `readStream`, `metadata`, `write`, `writeStream`, `delete`, `list`,
        /// `count`, `readBatch`, `writeBatch`, `deleteBatch`, `url`, `reclaimExpired`.
        public let name: String
        /// The kind of work, for error messages and the operation of a ``StoreError``.
        public let operation: StoreOperation

        init(_ name: String, _ operation: StoreOperation) {
            self.name = name
            self.operation = operation
        }

        /// ``KeyValueStore/read(_:)`` and ``KeyValueStore/read(_:options:)``.
        public static let read = Method("read", .read)
        /// ``KeyValueStore/readStream(_:chunkSize:)`` and its form with options: the call opens
        /// the stream; the bytes read come later, chunk by chunk.
        public static let readStream = Method("readStream", .read)
        /// ``KeyValueStore/metadata(for:)`` and its form with options.
        public static let metadata = Method("metadata", .metadata)
        /// ``KeyValueStore/write(_:for:options:)``.
        public static let write = Method("write", .write)
        /// ``KeyValueStore/write(contentsOf:for:options:)``.
        public static let writeStream = Method("writeStream", .write)
        /// ``KeyValueStore/delete(_:condition:)`` and ``KeyValueStore/discard(_:)``.
        public static let delete = Method("delete", .delete)
        /// One page of a listing: ``KeyValueStore/listPage(_:after:limit:)``, and each page of
        /// ``KeyValueStore/list(_:pageSize:)``.
        public static let list = Method("list", .list)
        /// ``KeyValueStore/count(withPrefix:)``.
        public static let count = Method("count", .count)
        /// ``KeyValueStore/readBatch(_:)``.
        public static let readBatch = Method("readBatch", .read)
        /// ``KeyValueStore/writeBatch(_:)``.
        public static let writeBatch = Method("writeBatch", .write)
        /// ``KeyValueStore/deleteBatch(_:)``.
        public static let deleteBatch = Method("deleteBatch", .delete)
        /// ``KeyValueStore/url(for:validFor:)``.
        public static let url = Method("url", .read)
        /// ``KeyValueStore/reclaimExpired()``.
        public static let reclaimExpired = Method("reclaimExpired", .reclaim)

        /// The name.
        public var description: String { name }
    }

    /// The method called.
    public let method: Method
    /// The key the call is about; `nil` for listings, counts, batches and reclaiming.
    public let key: StoreKey?
    /// How many entries a batch holds; 1 for other calls.
    public let entryCount: Int

    /// Describes a call.
    public init(_ method: Method, key: StoreKey?, entryCount: Int = 1) {
        self.method = method
        self.key = key
        self.entryCount = entryCount
    }

    /// `read "k"`, `writeBatch (3 entries)`.
    public var description: String {
        if let key { return "\(method) \"\(key)\"" }
        return entryCount == 1 ? method.name : "\(method) (\(entryCount) entries)"
    }
}

/// What a call on an ``ObservedStore`` came to, when it returned.
public struct CallOutcome: Sendable {
    /// Whether the key held a live value; `nil` where the question does not apply (writes,
    /// listings, counts).
    public var found: Bool?
    /// The bytes of values read (for a stream, none: its chunks are reported one by one to
    /// ``StoreObserver/streamed(_:of:)``).
    public var bytesRead: Int
    /// The bytes of values written.
    public var bytesWritten: Int
    /// The entries of a batch that failed on their own while the call succeeded.
    public var failedEntries: Int

    /// Describes what a call came to.
    public init(found: Bool? = nil, bytesRead: Int = 0, bytesWritten: Int = 0, failedEntries: Int = 0) {
        self.found = found
        self.bytesRead = bytesRead
        self.bytesWritten = bytesWritten
        self.failedEntries = failedEntries
    }
}

/// Watches the calls of an ``ObservedStore``: measures them, traces them, logs them.
///
/// An observer sees every call before it runs and its outcome or error when it ends, and wraps
/// it, so that it can time it or run it inside a task-local context (a tracing span, say):
///
///     struct Stopwatch: StoreObserver {
///         func observe<T>(_ call: StoreCall, _ body: () async throws -> (T, CallOutcome)) async throws -> T {
///             let start = ContinuousClock.now
///             defer { print(call, ContinuousClock.now - start) }
///             return try await body().0
///         }
///     }
///     let store = file.observed(by: Stopwatch())
///
/// The observer must call `body` exactly once and return its value, or throw its error.
public protocol StoreObserver: Sendable {
    /// Runs `body`, the call on the store beneath, and returns its value.
    ///
    /// - Parameters:
    ///   - call: What is being called.
    ///   - body: The call; it returns its value and what it came to.
    func observe<T>(_ call: StoreCall, _ body: () async throws -> (T, CallOutcome)) async throws -> T

    /// Reports a chunk of `count` bytes read from a stream that `call` opened, after `call`
    /// returned. Defaults to nothing.
    func streamed(_ count: Int, of call: StoreCall)
}

extension StoreObserver {
    /// Does nothing.
    public func streamed(_ count: Int, of call: StoreCall) {}
}
