import CTroveSystem
import Foundation
import Testing
@_spi(Testing) @testable import Trove
import TroveTestSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The portable system calls (those of platforms other than Linux) chosen on this platform: the
/// conformance and crash tests run the file store through them; these tests check that they are
/// the ones taken, and the try-lock that only SQLite's open lock uses.
@Suite("Portable system calls")
struct PortableSystemCallTests {
    @Test func aPortableStoreWalksPathsAndRenamesWithoutReplacingThroughLinks() async throws {
        try await withScratchDirectory { directory in
            let root = directory.appendingPathComponent("store", isDirectory: true)
            let store = try FileSystemStore(root: root, systemCalls: .portable)
            #expect(store.systemCalls == TROVE_CALLS_PORTABLE)
            #expect(!store.resolvesBeneath, "a portable store walks paths one component at a time")
            #if os(Linux)
            #expect(!store.capabilities.contains(.creationDate), "fstatat on Linux has no birth time")
            #endif
            try await store.set(Data("first".utf8), for: "a/b/c", condition: .ifAbsent)
            try await expectStoreError(.conditionFailed) {
                try await store.set(Data("second".utf8), for: "a/b/c", condition: .ifAbsent)
            }
            #expect(try await store["a/b/c"] == Data("first".utf8))
            let scratch = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(".trove/tmp").path)
            #expect(scratch.isEmpty, "link + unlink left scratch files: \(scratch)")
        }
    }

    @Test func portableTryLocksConflictBetweenTwoOpensInOneProcess() async throws {
        try await withScratchDirectory { directory in
            let path = directory.appendingPathComponent("lock").path
            let first = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            let second = open(path, O_RDWR | O_CLOEXEC)
            defer {
                _ = trove_close(first)
                _ = trove_close(second)
            }
            try #require(first >= 0 && second >= 0)
            #expect(trove_try_lock_byte(first, 0, 2, TROVE_CALLS_PORTABLE) == 0)
            #expect(trove_try_lock_byte(second, 0, 1, TROVE_CALLS_PORTABLE) == -1 && trove_errno() == EAGAIN,
                    "a shared lock must wait for an exclusive one held through another open")
            #expect(trove_try_lock_byte(first, 0, 0, TROVE_CALLS_PORTABLE) == 0)
            #expect(trove_try_lock_byte(second, 0, 1, TROVE_CALLS_PORTABLE) == 0)
            #expect(trove_try_lock_byte(first, 0, 1, TROVE_CALLS_PORTABLE) == 0, "shared locks coexist")
            #expect(trove_try_lock_byte(first, 0, 2, TROVE_CALLS_PORTABLE) == -1 && trove_errno() == EAGAIN,
                    "an exclusive lock must wait for a shared one held through another open")
        }
    }
}
