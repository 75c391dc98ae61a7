public import Foundation

/// What a store URL is opened against: the directory that relative paths start from, the
/// environment (where handlers look for credentials, which never belong in a URL), and the
/// clock that stores use for expiry.
///
/// ``process`` describes the running process; tests build their own, so that no test needs to
/// change the process's working directory or environment.
public struct StoreOpeningContext: Sendable {
    /// The directory that relative paths such as `file:data` start from.
    public var currentDirectory: URL
    /// Environment variables, for handlers that read credentials or defaults from them.
    public var environment: [String: String]
    /// The clock stores use for expiry. Defaults to ``WallClock/system``.
    public var clock: WallClock

    /// Creates a context.
    ///
    /// - Parameters:
    ///   - currentDirectory: The directory that relative paths start from.
    ///   - environment: Environment variables. Defaults to none.
    ///   - clock: The clock for expiry. Defaults to ``WallClock/system``.
    public init(currentDirectory: URL, environment: [String: String] = [:], clock: WallClock = .system) {
        self.currentDirectory = currentDirectory
        self.environment = environment
        self.clock = clock
    }

    /// The running process's working directory and environment, and the system clock, read
    /// when this property is read.
    public static var process: StoreOpeningContext {
        StoreOpeningContext(
            currentDirectory: URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true),
            environment: ProcessInfo.processInfo.environment)
    }
}
