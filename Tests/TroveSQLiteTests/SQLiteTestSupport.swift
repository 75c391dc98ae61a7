import CTroveSQLite
import Foundation
import Testing
import Trove
import TroveSQLite
#if canImport(Glibc)
import Glibc
#endif

/// A connection of the test's own to a database file, through SQLite's C API: to look at what a
/// store keeps, or to change it behind the store's back as another program would.
final class RawDatabase {
    private let handle: OpaquePointer

    /// Opens `file` for reading and writing; it must exist unless `creates` is set.
    init(_ file: URL, creates: Bool = false) throws {
        var opened: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | (creates ? SQLITE_OPEN_CREATE : 0)
        let status = sqlite3_open_v2(file.path, &opened, flags, nil)
        guard status == SQLITE_OK, let opened else {
            let message = opened.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(opened)
            throw ScratchError("cannot open \(file.lastPathComponent): \(message) (SQLite code \(status))")
        }
        handle = opened
        sqlite3_busy_timeout(opened, 5000)
    }

    deinit { sqlite3_close(handle) }

    /// Runs statements that return no rows.
    func execute(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(handle, sql, nil, nil, &message)
        defer { sqlite3_free(message) }
        guard status == SQLITE_OK else {
            throw ScratchError("\(sql): \(message.map { String(cString: $0) } ?? "") (SQLite code \(status))")
        }
    }

    /// The first column of every row of `sql`, as text.
    func column(_ sql: String) throws -> [String] {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw ScratchError("\(sql): \(String(cString: sqlite3_errmsg(handle)))")
        }
        defer { sqlite3_finalize(statement) }
        var values: [String] = []
        while true {
            let status = sqlite3_step(statement)
            if status == SQLITE_DONE { return values }
            guard status == SQLITE_ROW else {
                throw ScratchError("\(sql): \(String(cString: sqlite3_errmsg(handle))) (SQLite code \(status))")
            }
            values.append(sqlite3_column_text(statement, 0).map { String(cString: $0) } ?? "NULL")
        }
    }

    /// The number in the first column of the first row of `sql`, such as a `count(*)`.
    func integer(_ sql: String) throws -> Int {
        guard let first = try column(sql).first, let value = Int(first) else {
            throw ScratchError("\(sql) returned no number")
        }
        return value
    }

    /// What `PRAGMA integrity_check` says: `["ok"]` for an intact database.
    func integrityCheck() throws -> [String] { try column("PRAGMA integrity_check") }

    /// The parts in table `segments` that belong to no row of table `table`: left behind by a
    /// write that failed or a process that died, and not yet reclaimed.
    func orphanParts(of table: String = "kv") throws -> Int {
        try integer("""
            SELECT count(*) FROM "\(table)$segments"
            WHERE value_id NOT IN (SELECT segments FROM "\(table)" WHERE segments IS NOT NULL)
            """)
    }
}

/// Expects `body` to throw a ``StoreError`` with one of `codes`, and returns it; records an
/// issue and returns `nil` otherwise.
@discardableResult
func expectStoreError(
    _ codes: StoreError.Code..., sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> Void
) async -> StoreError? {
    do {
        try await body()
        Issue.record("expected a StoreError (\(codes)), but nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as StoreError {
        if codes.contains(error.code) { return error }
        Issue.record("expected \(codes), got \(error.code): \(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected a StoreError (\(codes)), got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

/// `count` bytes that differ from one `seed` to another and from one position to the next.
func patterned(_ count: Int, seed: UInt8) -> Data {
    Data((0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8 &+ Int(seed) &* 97) })
}

/// A `StoreKey` made at run time.
func key(_ text: String) throws -> StoreKey { try StoreKey(validating: text) }

/// The `sqlite:` URL of an absolute database file, with `query` (such as `synchronous=full`).
func sqliteURL(_ file: URL, query: String? = nil) -> String {
    "sqlite://" + file.path + (query.map { "?" + $0 } ?? "")
}

/// A generator of the same numbers for the same seed (SplitMix64), so that a failing run can be
/// repeated.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// An executable of this package (`TroveTestHelper`, `trove`), built next to the test bundle.
enum BuiltExecutable {
    /// The executable named `name` next to the running test bundle, or a failure naming where
    /// it looked.
    static func locate(_ name: String) throws -> URL {
        var directories: [URL] = []
        if let executable = Bundle.main.executableURL {
            directories.append(executable.resolvingSymlinksInPath().deletingLastPathComponent())
        }
        if let first = CommandLine.arguments.first {
            directories.append(URL(fileURLWithPath: first).resolvingSymlinksInPath().deletingLastPathComponent())
        }
        for bundle in Bundle.allBundles where bundle.bundleURL.pathExtension == "xctest" {
            directories.append(bundle.bundleURL.deletingLastPathComponent())
        }
        for directory in directories {
            let candidate = directory.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw ScratchError("\(name) was not found next to the test bundle (looked in: "
                           + directories.map(\.path).joined(separator: ", ")
                           + "); TroveSQLiteTests depends on its target so that `swift build` builds it")
    }
}

/// How a child process ended, and what it wrote.
struct ChildOutcome: Sendable {
    var status: Int32
    var output: Data
    var errors: String

    var outputText: String { String(decoding: output, as: UTF8.self) }
    var outputLines: [String] { outputText.split(separator: "\n").map(String.init) }
}

/// Child processes of a test, each ended by the test: run to their end, or killed by PID.
enum ChildProcess {
    /// Runs `executable` with `arguments` to its end, in `directory` (else this process's
    /// current directory), with this process's environment less `TROVE_STORE`; standard
    /// output and error go to files beside `scratch`. Cancelling the task terminates it.
    static func run(
        _ executable: URL, _ arguments: [String], in directory: URL? = nil, scratch: URL
    ) async throws -> ChildOutcome {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        var environment = ProcessInfo.processInfo.environment
        environment["TROVE_STORE"] = nil
        process.environment = environment
        let id = UUID().uuidString
        let outputFile = scratch.appendingPathComponent("stdout-\(id)")
        let errorFile = scratch.appendingPathComponent("stderr-\(id)")
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
        process.standardInput = FileHandle.nullDevice
        let stopper = Stopper(process)
        let status = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int32, any Error>) in
                process.terminationHandler = { ended in continuation.resume(returning: ended.terminationStatus) }
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
        return ChildOutcome(status: status, output: try Data(contentsOf: outputFile),
                            errors: String(decoding: try Data(contentsOf: errorFile), as: UTF8.self))
    }

    /// Starts `executable`, reads the decimal numbers it prints one a line until `count` have
    /// arrived, waits `delay` more (so that the kill lands anywhere in the write that follows),
    /// then kills it with SIGKILL by its PID, waits for it, and returns every number it printed,
    /// including those printed between the last one read and the kill.
    ///
    /// Runs on a thread of its own: reading a pipe blocks.
    static func killAfterAcknowledgements(
        _ executable: URL, _ arguments: [String], count: Int, delay: Duration
    ) async throws -> (acknowledged: [Int], killed: Bool) {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result {
                    let process = Process()
                    process.executableURL = executable
                    process.arguments = arguments
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
                    let killed = process.isRunning && kill(process.processIdentifier, SIGKILL) == 0
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
    static func killOnce(
        _ executable: URL, _ arguments: [String], _ condition: @escaping @Sendable () throws -> Bool
    ) async throws -> (held: Bool, report: String) {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result {
                    let process = Process()
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
                    if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
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

    /// A process that a cancellation handler may stop from another thread.
    ///
    /// `@unchecked Sendable`: its only use from another thread is `terminate()`, which
    /// Foundation documents as safe to call at any time, including after the process ended.
    private final class Stopper: @unchecked Sendable {
        let process: Process
        init(_ process: Process) { self.process = process }
        func stop() { if process.isRunning { process.terminate() } }
    }
}
