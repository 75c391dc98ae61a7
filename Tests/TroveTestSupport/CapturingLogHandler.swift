public import Logging
import Synchronization

/// A log handler that keeps what it is given, for tests of what is logged.
public final class CapturingLogHandler: LogHandler, Sendable {
    /// One logged message.
    public struct Record: Sendable {
        /// Its level.
        public let level: Logger.Level
        /// Its text.
        public let message: String
        /// Its metadata, each value as text.
        public let metadata: [String: String]
    }

    private let storage = Mutex<(records: [Record], metadata: Logger.Metadata, level: Logger.Level)>(([], [:], .trace))

    /// A handler that has kept nothing yet, at trace level.
    public init() {}

    /// What was logged so far, oldest first.
    public var records: [Record] { storage.withLock { $0.records } }

    /// The handler's own metadata.
    public var metadata: Logger.Metadata {
        get { storage.withLock { $0.metadata } }
        set { storage.withLock { $0.metadata = newValue } }
    }

    /// The lowest level kept.
    public var logLevel: Logger.Level {
        get { storage.withLock { $0.level } }
        set { storage.withLock { $0.level = newValue } }
    }

    /// One value of the handler's metadata.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Keeps `event`.
    public func log(event: LogEvent) {
        let record = Record(level: event.level, message: "\(event.message)",
                            metadata: (event.metadata ?? [:]).mapValues { "\($0)" })
        storage.withLock { $0.records.append(record) }
    }

    /// A logger that logs to this handler at `level` and above.
    public func logger(label: String = "test", level: Logger.Level = .trace) -> Logger {
        var logger = Logger(label: label) { _ in self }
        logger.logLevel = level
        return logger
    }
}
