/// The one error type that every Trove store and layer throws.
///
/// A `StoreError` says what went wrong (``code``), during which operation (``operation``),
/// on which key (``key``), in which store (``store``), and why (``message`` and ``underlying``).
/// A backend's own error (an `errno`, an SQLite result code, a server reply) is kept as
/// ``underlying``; it never replaces the `StoreError`.
///
/// Match on ``code``, never on the text:
///
///     do {
///         try await store.set(draft, for: "docs/readme", condition: .ifAbsent)
///     } catch let error as StoreError where error.code == .conditionFailed {
///         // someone else wrote it first
///     }
///
/// A missing key is not an error: reads return `nil`. Cancellation is reported as
/// `CancellationError`, unwrapped.
public struct StoreError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// A broad category of failure, stable across releases.
    ///
    /// `Code` is a struct rather than an enum so that new codes can be added without breaking
    /// code that switches over the existing ones.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case invalidKey
            case invalidArgument
            case conditionFailed
            case notSupported
            case integrity
            case unavailable
            case timedOut
            case io
            case permissionDenied
            case outOfSpace
            case readOnly
            case valueTooLarge
            case alreadyExists
            case decodingFailed
            case limitExceeded
            case outcomeUnknown
        }

        private let base: Base

        private init(_ base: Base) { self.base = base }

        /// A key broke one of the rules of ``StoreKey``; nothing was read or written.
        public static var invalidKey: Self { Self(.invalidKey) }
        /// An argument other than a key was invalid (a prefix, a store URL, an option).
        public static var invalidArgument: Self { Self(.invalidArgument) }
        /// The write or delete condition did not hold; nothing was changed.
        public static var conditionFailed: Self { Self(.conditionFailed) }
        /// The store cannot honour an option or operation that was asked of it.
        public static var notSupported: Self { Self(.notSupported) }
        /// Stored bytes are not what was written: corrupted, truncated or tampered with.
        public static var integrity: Self { Self(.integrity) }
        /// The store (a server, a file system) cannot be reached or is shutting down.
        public static var unavailable: Self { Self(.unavailable) }
        /// The operation did not finish in time.
        public static var timedOut: Self { Self(.timedOut) }
        /// An input/output error from the medium beneath the store.
        public static var io: Self { Self(.io) }
        /// The process is not allowed to read or write where the store keeps its data.
        public static var permissionDenied: Self { Self(.permissionDenied) }
        /// The medium has no room left (a full disk or quota).
        public static var outOfSpace: Self { Self(.outOfSpace) }
        /// The store, or the medium under it, accepts no writes.
        public static var readOnly: Self { Self(.readOnly) }
        /// A value is larger than the store accepts.
        public static var valueTooLarge: Self { Self(.valueTooLarge) }
        /// A key that may be written only once already holds a different value.
        public static var alreadyExists: Self { Self(.alreadyExists) }
        /// A stored value could not be decoded into the type a typed view expects.
        public static var decodingFailed: Self { Self(.decodingFailed) }
        /// An operation would go past a limit its caller set (a synchronization's maximum
        /// number of deletions); nothing beyond the limit was done.
        public static var limitExceeded: Self { Self(.limitExceeded) }
        /// A conditional write or delete failed in a way that leaves open whether it took
        /// effect (the connection broke after the request was sent, or it timed out), and
        /// reading the key back could not tell: read it to learn what it holds now.
        public static var outcomeUnknown: Self { Self(.outcomeUnknown) }

        /// The code's name, such as `conditionFailed`.
        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// The operation that failed.
    public var operation: StoreOperation
    /// The key the operation was about, if it was about one.
    public var key: StoreKey?
    /// The store that failed, as its `description` names it (never with secrets).
    public var store: String
    /// What went wrong and, when known, what to do about it.
    public var message: String
    /// The error beneath this one: an `errno`, an engine's result code, a server's reply.
    public var underlying: (any Error)?
    /// Whether repeating the same operation may succeed.
    public var isRetryable: Bool
    /// How long the server asked its clients to wait before trying again (an HTTP
    /// `Retry-After`), when it said; ``RetryingStore`` waits at least this long.
    public var retryAfter: Duration?

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: The category of the failure.
    ///   - operation: The operation that failed.
    ///   - key: The key concerned, if any. Defaults to `nil`.
    ///   - store: A description of the store. Defaults to an empty string, which layers fill in.
    ///   - message: What went wrong and why.
    ///   - underlying: The cause. Defaults to `nil`.
    ///   - isRetryable: Whether a retry may help. Defaults to `false`.
    ///   - retryAfter: How long the server asked to wait before a retry. Defaults to `nil`.
    public init(
        _ code: Code,
        operation: StoreOperation,
        key: StoreKey? = nil,
        store: String = "",
        message: String,
        underlying: (any Error)? = nil,
        isRetryable: Bool = false,
        retryAfter: Duration? = nil
    ) {
        self.code = code
        self.operation = operation
        self.key = key
        self.store = store
        self.message = message
        self.underlying = underlying
        self.isRetryable = isRetryable
        self.retryAfter = retryAfter
    }

    /// One line: code, operation, key, store and message.
    public var description: String {
        var text = "\(code) during \(operation)"
        if let key { text += " of key '\(key.escapedDescription)'" }
        if !store.isEmpty { text += " in \(store)" }
        text += ": \(message)"
        return text
    }

    /// The one-line description followed by the chain of underlying causes.
    public var debugDescription: String {
        var text = description
        var cause = underlying
        var depth = 1
        while let current = cause {
            text += "\n" + String(repeating: "  ", count: depth) + "caused by: "
            if let nested = current as? StoreError {
                text += nested.description
                cause = nested.underlying
            } else {
                text += String(describing: current)
                cause = nil
            }
            depth += 1
        }
        return text
    }

    /// Returns a copy whose empty ``store`` and missing ``key`` are filled in.
    ///
    /// Stores call this once at their boundary so that every error names them.
    public func inStore(_ store: String, key: StoreKey? = nil) -> StoreError {
        var copy = self
        if copy.store.isEmpty { copy.store = store }
        if copy.key == nil { copy.key = key }
        return copy
    }

    /// Returns a copy reported as `store`'s, naming `key` when it named no key: how a layer
    /// reports an error of the store beneath it in its own terms.
    public func relabeled(store: String, key: StoreKey?) -> StoreError {
        var copy = self
        if copy.key == nil { copy.key = key }
        copy.store = store
        return copy
    }

    /// Runs `body`, reporting any ``StoreError`` it throws as `store`'s (see
    /// ``relabeled(store:key:)``); other errors pass through unchanged.
    ///
    ///     public func read(_ key: StoreKey) async throws -> StoreEntry? {
    ///         try await StoreError.relabeling(store: description, key: key) { try await base.read(key) }
    ///     }
    public static func relabeling<T>(
        store: String, key: StoreKey?, _ body: () async throws -> T
    ) async throws -> T {
        do {
            return try await body()
        } catch let error as StoreError {
            throw error.relabeled(store: store, key: key)
        }
    }
}
