public import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small tmpfs mounted for one test, so that the disk fills up, or turns read-only, for real.
///
/// Linux only, and mounting needs root: a suite declares
/// `.enabled(if: SmallFileSystem.isMountable, "mounting a small tmpfs needs root")`, so that it
/// is reported as skipped elsewhere; under CI (`CI` set) it runs, and a failed mount fails it.
public enum SmallFileSystem {
    /// Whether a test may mount one: on Linux, when the process runs as root or `CI` is set;
    /// never elsewhere (no tmpfs).
    public static var isMountable: Bool {
        #if os(Linux)
        geteuid() == 0 || ProcessInfo.processInfo.environment["CI"] != nil
        #else
        false
        #endif
    }

    /// Runs `body` with a fresh tmpfs of `sizeInKiB` KiB mounted in a scratch directory, and
    /// unmounts it afterwards (lazily, if a file left open keeps it busy).
    ///
    /// - Throws: ``TestFailure`` when `mount` fails, or what `body` throws.
    public static func withMounted<T>(sizeInKiB: Int, _ body: (URL) async throws -> T) async throws -> T {
        try await withScratchDirectory("trove-tmpfs") { directory in
            let mountPoint = directory.appendingPathComponent("small", isDirectory: true)
            try FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
            try run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(sizeInKiB)k", "tmpfs", mountPoint.path])
            defer {
                // A file left open would keep the file system busy: detach it all the same.
                if (try? run("/bin/umount", [mountPoint.path])) == nil { try? run("/bin/umount", ["-l", mountPoint.path]) }
            }
            return try await body(mountPoint)
        }
    }

    /// Remounts the file system at `mountPoint` read-only, or read-write again.
    ///
    /// Tries for up to 5 seconds: a process that another test starts meanwhile holds copies of
    /// this process's open files until it runs its program, and the file system is busy until then.
    ///
    /// - Throws: ``TestFailure`` when `mount` still fails at the deadline.
    public static func remount(_ mountPoint: URL, readOnly: Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(5)
        while true {
            do {
                return try run("/bin/mount", ["-o", readOnly ? "remount,ro" : "remount,rw", mountPoint.path])
            } catch where ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    private static func run(_ tool: String, _ arguments: [String]) throws {
        let process = SpawnedProcess()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestFailure("\(tool) \(arguments.joined(separator: " ")) exited with \(process.terminationStatus)")
        }
    }
}
