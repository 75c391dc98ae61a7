public import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a child process ended, and what it wrote.
public struct ChildOutcome: Sendable {
    /// The exit status, or the signal's number when ``wasSignalled``.
    public var status: Int32
    /// Whether a signal ended the process.
    public var wasSignalled: Bool
    /// What it wrote on standard output.
    public var output: Data
    /// What it wrote on standard error, as text.
    public var errors: String

    /// Standard output as text.
    public var outputText: String { String(decoding: output, as: UTF8.self) }
    /// The non-empty lines of standard output.
    public var outputLines: [String] { outputText.split(separator: "\n").map(String.init) }
    /// Standard error without leading and trailing white space: the message a failed tool printed.
    public var errorMessage: String { errors.trimmingCharacters(in: .whitespacesAndNewlines) }
}

/// Child processes of a test (the package's executables, or a server a suite starts), each
/// ended by the test that started it: run to their end, or killed by PID.
///
/// Nothing here sleeps a fixed time: a child is waited for, read until it has printed what
/// the test waits for, or polled for a condition up to a deadline.
public enum ChildProcess {
    /// Runs `executable` with `arguments` to its end and returns how it ended.
    ///
    /// Standard output and error go to files (never to pipes that a chatty child could fill),
    /// in `scratch` or else in the system's temporary directory, removed afterwards. Cancelling
    /// the task terminates the child (SIGTERM) and still waits for it.
    ///
    /// - Parameters:
    ///   - executable: The program, such as ``BuiltExecutable/helper()``.
    ///   - arguments: Its arguments.
    ///   - directory: Its current directory. Defaults to this process's.
    ///   - environment: Changes to this process's environment: a value sets a variable, `nil`
    ///     removes it. `TROVE_STORE` is always removed first, so that the developer's default
    ///     store never leaks into a test.
    ///   - standardInput: A file to read standard input from. Defaults to nothing (`/dev/null`).
    ///   - scratch: Where the captured output goes while the child runs.
    /// - Throws: The error of starting the process, or of reading what it wrote.
    public static func run(
        _ executable: URL, _ arguments: [String], in directory: URL? = nil,
        environment: [String: String?] = [:], standardInput: URL? = nil, scratch: URL? = nil
    ) async throws -> ChildOutcome {
        let process = SpawnedProcess()
        process.executableURL = executable
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        process.environment = childEnvironment(environment)
        let id = UUID().uuidString
        let folder = scratch ?? FileManager.default.temporaryDirectory
        let outputFile = folder.appendingPathComponent("trove-stdout-\(id)")
        let errorFile = folder.appendingPathComponent("trove-stderr-\(id)")
        defer {
            try? FileManager.default.removeItem(at: outputFile)   // best-effort cleanup of captured output
            try? FileManager.default.removeItem(at: errorFile)
        }
        for file in [outputFile, errorFile] { try Data().write(to: file) }
        let output = try FileHandle(forWritingTo: outputFile)
        let errors = try FileHandle(forWritingTo: errorFile)
        defer {
            try? output.close()   // best-effort: the files are read by path
            try? errors.close()
        }
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = try standardInput.map { try FileHandle(forReadingFrom: $0) } ?? FileHandle.nullDevice
        let stopper = Stopper(process)
        let ended = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<(Int32, Bool), any Error>) in
                process.terminationHandler = { ended in
                    continuation.resume(returning: (ended.terminationStatus, ended.terminationReason == .uncaughtSignal))
                }
                do {
                    try process.run()
                } catch {
                    process.terminationHandler = nil
                    continuation.resume(throwing: error)
                }
            }
        } onCancel: {
            stopper.stop()
        }
        return ChildOutcome(status: ended.0, wasSignalled: ended.1, output: try Data(contentsOf: outputFile),
                            errors: String(decoding: try Data(contentsOf: errorFile), as: UTF8.self))
    }

    /// Starts `executable`, reads the decimal numbers it prints one a line until `count` have
    /// arrived, waits `delay` more (so that the kill lands anywhere in the write that follows),
    /// then kills it with SIGKILL by its PID, waits for it, and returns every number it printed,
    /// including those printed between the last one read and the kill.
    ///
    /// A child that ends by itself before printing `count` numbers is not killed: `killed` is
    /// `false` and `acknowledged` holds fewer than `count` numbers. Standard error is discarded.
    /// Runs on a thread of its own: reading a pipe blocks.
    ///
    /// - Parameters:
    ///   - delay: How long to let the child run after the `count`th number. Defaults to none.
    ///   - environment: Changes to this process's environment, as ``run(_:_:in:environment:standardInput:scratch:)``
    ///     takes them (`TROVE_STORE` is removed too).
    /// - Returns: The numbers, in the order printed, and whether SIGKILL ended the child.
    public static func killAfterAcknowledgements(
        _ executable: URL, _ arguments: [String], count: Int, delay: Duration = .zero,
        environment: [String: String?] = [:]
    ) async throws -> (acknowledged: [Int], killed: Bool) {
        let variables = childEnvironment(environment)
        return try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result {
                    let process = SpawnedProcess()
                    process.executableURL = executable
                    process.arguments = arguments
                    process.environment = variables
                    let output = Pipe()
                    process.standardOutput = output
                    process.standardError = FileHandle.nullDevice
                    try process.run()
                    let reader = output.fileHandleForReading
                    var numbers: [Int] = []
                    var pending = Data()
                    func take(_ chunk: Data) {
                        pending.append(chunk)
                        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                            if let number = Int(String(decoding: pending[..<newline], as: UTF8.self)) { numbers.append(number) }
                            pending.removeSubrange(...newline)
                        }
                    }
                    while numbers.count < count {
                        let chunk = reader.availableData
                        if chunk.isEmpty { break }  // the child ended early
                        take(chunk)
                    }
                    let (seconds, attoseconds) = delay.components
                    let microseconds = seconds * 1_000_000 + attoseconds / 1_000_000_000_000
                    if microseconds > 0 { usleep(useconds_t(microseconds)) }
                    let killed = process.isRunning && killProcess(process.processIdentifier)
                    process.waitUntilExit()
                    // What the child printed before it died was acknowledged too.
                    take(reader.readDataToEndOfFile())
                    return (numbers, killed && process.terminationReason == .uncaughtSignal)
                })
            }
        }
    }

    /// Starts `executable`, checks `condition` every 10 ms until it holds or 30 seconds have
    /// passed, then kills it with SIGKILL by its PID and waits for it; returns whether the
    /// condition held while it ran, and for a report, how the process ended (its exit status
    /// or signal, and what it wrote on standard error) and the last error of the checks.
    ///
    /// Runs on a thread of its own: the checks block.
    public static func killOnce(
        _ executable: URL, _ arguments: [String], _ condition: @escaping @Sendable () throws -> Bool
    ) async throws -> (held: Bool, report: String) {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result {
                    let process = SpawnedProcess()
                    process.executableURL = executable
                    process.arguments = arguments
                    let errors = Pipe()
                    process.standardOutput = FileHandle.nullDevice
                    process.standardError = errors
                    try process.run()
                    let deadline = Date().addingTimeInterval(30)
                    var held = false
                    var lastError: (any Error)?
                    while process.isRunning, Date() < deadline {
                        do {
                            if try condition() {
                                held = true
                                break
                            }
                        } catch {
                            lastError = error
                        }
                        usleep(10_000)
                    }
                    if process.isRunning { _ = killProcess(process.processIdentifier) }
                    process.waitUntilExit()
                    let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                    var report = process.terminationReason == .uncaughtSignal
                        ? "signal \(process.terminationStatus)" : "exit status \(process.terminationStatus)"
                    if !message.isEmpty { report += " (\(message.trimmingCharacters(in: .whitespacesAndNewlines)))" }
                    if let lastError { report += "; last check failed: \(lastError)" }
                    return (held, report)
                })
            }
        }
    }

    /// This process's environment less `TROVE_STORE`, with `changes` applied.
    private static func childEnvironment(_ changes: [String: String?]) -> [String: String] {
        var variables = ProcessInfo.processInfo.environment
        variables["TROVE_STORE"] = nil
        for (name, value) in changes { variables[name] = value }
        return variables
    }

    /// A process that a cancellation handler may stop from another thread.
    ///
    /// `@unchecked Sendable`: its only use from another thread is `terminate()`, which
    /// Foundation documents as safe to call at any time, including after the process ended.
    private final class Stopper: @unchecked Sendable {
        let process: SpawnedProcess
        init(_ process: SpawnedProcess) { self.process = process }
        func stop() { if process.isRunning { process.terminate() } }
    }
}

/// A child process whose standard output is collected line by line as it runs, for a test
/// that watches a long-running child (a consumer, a server) and kills it at a moment it picks.
public final class LineProcess: Sendable {
    private let process: SpawnedProcess
    private let collected = Mutex<[String]>([])
    private let errorText = Mutex<String>("")
    private let ended = Mutex<Int32?>(nil)

    /// A process of `executable` with `arguments`, not started yet; it inherits this
    /// process's environment.
    public init(_ executable: URL, _ arguments: [String]) {
        let process = SpawnedProcess()
        process.executableURL = executable
        process.arguments = arguments
        self.process = process
    }

    /// Starts the process and a thread that reads its output.
    ///
    /// - Throws: The error of starting it.
    public func start() throws {
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        Thread.detachNewThread { [self] in
            var pending = Data()
            while true {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: pending[..<newline], as: UTF8.self)
                    pending.removeSubrange(...newline)
                    collected.withLock { $0.append(line) }
                }
            }
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            errorText.withLock { $0 = message }
            process.waitUntilExit()
            ended.withLock { $0 = process.terminationStatus }
        }
    }

    /// The lines printed so far.
    public var lines: [String] { collected.withLock { $0 } }

    /// What the process printed on standard error (complete once it has ended).
    public var errors: String { errorText.withLock { $0 } }

    /// Kills the process with SIGKILL, by its PID.
    public func kill() {
        _ = killProcess(process.processIdentifier)
    }

    /// Waits for the process to end (and its output to be read) and returns its status.
    public func exitStatus() async -> Int32 {
        while true {
            if let status = ended.withLock({ $0 }) { return status }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// Sends SIGKILL to `pid`; whether the signal was sent.
private func killProcess(_ pid: Int32) -> Bool {
    kill(pid, SIGKILL) == 0
}
