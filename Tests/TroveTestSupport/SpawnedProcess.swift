import CTroveTestSpawn
public import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A child process, with the part of Foundation's `Process` interface the tests use, started
/// with `posix_spawn` directly.
///
/// Foundation's `Process.run()` on Linux (Swift 6.3) scans `/proc/self/fd` before each spawn
/// with a copy of each whole `dirent` name, which reads past glibc's buffer and now and then
/// crashes a test process that holds many descriptors; this type spawns without that scan.
/// Set the properties, call ``run()``, then wait with ``waitUntilExit()`` or
/// ``terminationHandler``. Standard streams are a `FileHandle` or a `Pipe` (whose other end
/// this process keeps); unset, the child inherits this process's.
///
/// `@unchecked Sendable`: configure it on one thread before ``run()``; afterwards its state is
/// behind a lock, and ``terminate()`` may be called from any thread.
public final class SpawnedProcess: @unchecked Sendable {
    /// The program.
    public var executableURL: URL?
    /// The arguments after the program's name.
    public var arguments: [String] = []
    /// The whole environment of the child; `nil` for this process's own.
    public var environment: [String: String]?
    /// Where the child starts; `nil` for this process's current directory.
    public var currentDirectoryURL: URL?
    /// The child's standard input: a `FileHandle` or a `Pipe`.
    public var standardInput: Any?
    /// The child's standard output: a `FileHandle` or a `Pipe`.
    public var standardOutput: Any?
    /// The child's standard error: a `FileHandle` or a `Pipe`.
    public var standardError: Any?
    /// Called once, on a thread of its own, when the child has ended.
    public var terminationHandler: (@Sendable (SpawnedProcess) -> Void)?

    private struct State {
        var pid: Int32 = 0
        var status: Int32?
    }
    private let state = Mutex(State())
    private let ended = DispatchSemaphore(value: 0)

    /// Creates a process to configure and run.
    public init() {}

    /// The child's PID, once started.
    public var processIdentifier: Int32 { state.withLock { $0.pid } }

    /// Whether the child was started and has not ended yet.
    public var isRunning: Bool { state.withLock { $0.pid != 0 && $0.status == nil } }

    /// The child's exit status, or the signal that ended it (see ``terminationReason``).
    public var terminationStatus: Int32 {
        let status = state.withLock { $0.status } ?? 0
        return status & 0x7f == 0 ? (status >> 8) & 0xff : status & 0x7f
    }

    /// Whether the child exited or a signal ended it.
    public var terminationReason: Process.TerminationReason {
        let status = state.withLock { $0.status } ?? 0
        return status & 0x7f == 0 ? .exit : .uncaughtSignal
    }

    /// Starts the child.
    ///
    /// - Throws: `POSIXError` when it cannot start (no such program, not executable).
    public func run() throws {
        guard let executableURL else { throw POSIXError(.ENOENT) }
        let path = executableURL.path
        let argv = [path] + arguments
        let variables = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        // FileHandle.nullDevice has no descriptor of its own (-1): the child gets /dev/null.
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        guard null >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(null) }
        func chosen(_ stream: Any?, reading: Bool, otherwise inherited: Int32) -> Int32 {
            guard let fd = Self.descriptor(stream, reading: reading) else { return inherited }
            return fd < 0 ? null : fd
        }
        let input = chosen(standardInput, reading: true, otherwise: STDIN_FILENO)
        let output = chosen(standardOutput, reading: false, otherwise: STDOUT_FILENO)
        let error = chosen(standardError, reading: false, otherwise: STDERR_FILENO)
        var pid: pid_t = 0
        let result = Self.withCStrings(argv) { argv in
            Self.withCStrings(variables) { envp in
                trove_test_spawn(path, argv, envp, currentDirectoryURL?.path, input, output, error, &pid)
            }
        }
        guard result == 0 else { throw POSIXError(POSIXErrorCode(rawValue: result) ?? .EIO) }
        state.withLock { $0.pid = pid }
        // The child holds its own copies: close this process's ends that the child uses.
        if let pipe = standardInput as? Pipe { try? pipe.fileHandleForReading.close() }
        if let pipe = standardOutput as? Pipe { try? pipe.fileHandleForWriting.close() }
        if let pipe = standardError as? Pipe { try? pipe.fileHandleForWriting.close() }
        let handler = terminationHandler
        let child = pid
        Thread.detachNewThread { [self] in
            var status: Int32 = 0
            while waitpid(child, &status, 0) < 0 && errno == EINTR {}
            state.withLock { $0.status = status }
            ended.signal()
            handler?(self)
        }
    }

    /// Blocks the calling thread until the child has ended.
    public func waitUntilExit() {
        guard processIdentifier != 0 else { return }
        ended.wait()
        ended.signal()  // later waiters return at once too
    }

    /// Sends SIGTERM to the child if it is still running.
    public func terminate() {
        let pid = state.withLock { $0.status == nil ? $0.pid : 0 }
        if pid != 0 { kill(pid, SIGTERM) }
    }

    private static func descriptor(_ stream: Any?, reading: Bool) -> Int32? {
        if let handle = stream as? FileHandle { return handle.fileDescriptor }
        if let pipe = stream as? Pipe {
            return reading ? pipe.fileHandleForReading.fileDescriptor : pipe.fileHandleForWriting.fileDescriptor
        }
        return nil
    }

    private static func withCStrings<T>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> T) -> T {
        let pointers = strings.map { strdup($0) } + [nil]
        defer { for pointer in pointers { free(pointer) } }
        return body(pointers)
    }
}
