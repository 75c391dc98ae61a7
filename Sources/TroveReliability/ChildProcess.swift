import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A child process started with `posix_spawn`, its standard output and error going to files,
/// so that it never blocks on a full pipe and every line it wrote before a SIGKILL is kept.
///
/// Descriptors: the child gets /dev/null as standard input and the two files as output and
/// error; every descriptor this process opens itself is close-on-exec (the stores open theirs
/// with `O_CLOEXEC` too), so the child inherits nothing else.
struct ChildProcess {
    let pid: pid_t

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The path of this program, to start it again in another mode.
    static func currentExecutable() -> String {
        let capacity = 4096
        var buffer = [CChar](repeating: 0, count: capacity)
        let length = readlink("/proc/self/exe", &buffer, capacity - 1)
        if length > 0 { return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        return CommandLine.arguments[0]
    }

    /// Starts `path` with `arguments`, its standard output in `output` and its standard error in
    /// `errors` (both created or truncated).
    static func start(_ path: String, _ arguments: [String], output: URL, errors: URL) throws -> ChildProcess {
        let out = open(output.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard out >= 0 else { throw Failure(description: "cannot create \(output.path): \(String(cString: strerror(errno)))") }
        defer { close(out) }
        let err = open(errors.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard err >= 0 else { throw Failure(description: "cannot create \(errors.path): \(String(cString: strerror(errno)))") }
        defer { close(err) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, out, 1)
        posix_spawn_file_actions_adddup2(&actions, err, 2)

        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let variables = ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" }
        let environment: [UnsafeMutablePointer<CChar>?] = variables.map { strdup($0) } + [nil]
        defer { for pointer in environment { free(pointer) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, path, &actions, nil, argv, environment)
        guard status == 0 else {
            throw Failure(description: "cannot start \(path): \(String(cString: strerror(status)))")
        }
        return ChildProcess(pid: pid)
    }

    /// How a child ended.
    enum Ending: Equatable, CustomStringConvertible {
        case exited(Int32)
        case signalled(Int32)

        var description: String {
            switch self {
            case .exited(let status): "exited with status \(status)"
            case .signalled(let signal): "ended by signal \(signal)"
            }
        }
    }

    private static func ending(_ status: Int32) -> Ending {
        status & 0x7f == 0 ? .exited((status >> 8) & 0xff) : .signalled(status & 0x7f)
    }

    /// How the child ended, if it has; never blocks.
    func endingIfEnded() -> Ending? {
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        return result == pid ? Self.ending(status) : nil
    }

    /// Waits for the child to end (it must not have been reaped yet).
    func waitForEnding() -> Ending {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return .exited(-1) }
        }
        return Self.ending(status)
    }

    /// Sends SIGKILL to this child (by its PID) and waits for it.
    func killAndWait() -> Ending {
        sendKillSignal(to: pid)
        return waitForEnding()
    }
}

/// Sends SIGKILL to the process `pid`, one this program started.
private func sendKillSignal(to pid: pid_t) {
    _ = kill(pid, SIGKILL)
}

/// Writes `line` and a line break to standard output with one `write(2)`, unbuffered, so that
/// a process that dies right after still leaves the whole line.
func emitLine(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    bytes.withUnsafeBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let written = write(1, buffer.baseAddress! + offset, buffer.count - offset)
            if written < 0 { if errno == EINTR { continue }; return }
            offset += written
        }
    }
}

/// Writes `message` on standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
