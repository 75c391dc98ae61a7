public import Foundation

/// The executables of this package that tests run as child processes (`TroveTestHelper`,
/// `trove`), which `swift build` puts next to the test bundle.
///
/// A test target finds an executable only if it depends on the executable's target: that is
/// what makes `swift build --build-tests` build it.
public enum BuiltExecutable {
    /// The executable named `name` next to the running test bundle.
    ///
    /// Looks beside the test process's executable and its first argument (both with links
    /// resolved) and beside every loaded `.xctest` bundle.
    ///
    /// - Throws: ``TestFailure`` naming every directory it looked in.
    public static func locate(_ name: String) throws -> URL {
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
        throw TestFailure("\(name) was not found next to the test bundle (looked in: "
                          + directories.map(\.path).joined(separator: ", ")
                          + "); the test target must depend on the target of \(name), so that `swift build --build-tests` builds it")
    }

    /// `TroveTestHelper`, the second process of cross-process and crash tests.
    public static func helper() throws -> URL { try locate("TroveTestHelper") }

    /// `trove`, the command line.
    public static func trove() throws -> URL { try locate("trove") }
}
