import Foundation
@testable import Trove
import TroveConformance

/// A kind of store the contract is checked against, able to build a fresh one for each test.
///
/// Every store is built with its own `ManualWallClock`, which the checks move forward to test
/// expiry without sleeping. File stores live in a fresh directory under the system's temporary
/// directory, removed when the test ends.
struct StoreFixture: Sendable, CustomStringConvertible {
    /// The fixture's name in test reports.
    let name: String
    /// The longest key the store accepts (less than 1,024 inside a namespace).
    let maximumKeyByteCount: Int
    /// Whether the store keeps its data in a directory.
    let usesDirectory: Bool
    /// Builds the store over `root` (a directory for file stores, `nil` otherwise).
    private let open: @Sendable (_ clock: ManualWallClock, _ root: URL?) throws -> any KeyValueStore

    var description: String { name }

    /// The in-memory reference store.
    static let memory = StoreFixture(name: "memory", maximumKeyByteCount: 1024, usesDirectory: false) { clock, _ in
        MemoryStore(clock: clock.wallClock)
    }

    /// A namespace `p` inside a memory store.
    static let memorySubStore = StoreFixture(name: "memory.prefixed(p)", maximumKeyByteCount: 1022, usesDirectory: false) { clock, _ in
        MemoryStore(clock: clock.wallClock).prefixed("p")
    }

    /// A file store with the default (buffered) durability.
    static let fileSystem = StoreFixture(name: "file", maximumKeyByteCount: 1024, usesDirectory: true) { clock, root in
        try FileSystemStore(root: try requireRoot(root), clock: clock.wallClock)
    }

    /// A file store that fsyncs every write.
    static let fileSystemFsync = StoreFixture(name: "file(fsync)", maximumKeyByteCount: 1024, usesDirectory: true) { clock, root in
        try FileSystemStore(root: try requireRoot(root), configuration: .init(durability: .fsync), clock: clock.wallClock)
    }

    /// A file store that walks paths one component at a time, as on kernels without openat2.
    static let fileSystemWithoutOpenat2 = StoreFixture(name: "file(no openat2)", maximumKeyByteCount: 1024, usesDirectory: true) { clock, root in
        try FileSystemStore(root: try requireRoot(root), configuration: .init(), clock: clock.wallClock, usesOpenat2: false)
    }

    /// A namespace `p` inside a file store.
    static let fileSystemSubStore = StoreFixture(name: "file.prefixed(p)", maximumKeyByteCount: 1022, usesDirectory: true) { clock, root in
        try FileSystemStore(root: try requireRoot(root), clock: clock.wallClock).prefixed("p")
    }

    /// Every fixture.
    static let all: [StoreFixture] = [
        .memory, .memorySubStore, .fileSystem, .fileSystemFsync, .fileSystemWithoutOpenat2, .fileSystemSubStore,
    ]

    /// Runs `body` with a fresh, empty store of this kind and the environment that goes with it
    /// (its clock, its key length, a way to open a second instance and to measure its files).
    func withFreshStore(_ body: (any KeyValueStore, ConformanceEnvironment) async throws -> Void) async throws {
        let clock = ManualWallClock()
        guard usesDirectory else {
            let environment = ConformanceEnvironment(clock: clock, maximumKeyByteCount: maximumKeyByteCount)
            try await body(try open(clock, nil), environment)
            return
        }
        let open = self.open
        try await ConformanceEnvironment.withStoreInTemporaryDirectory(
            clock: clock, maximumKeyByteCount: maximumKeyByteCount, open: { root in try open(clock, root) }, body)
    }

    private static func requireRoot(_ root: URL?) throws -> URL {
        guard let root else { throw StoreFixtureError("a file fixture was opened without a directory") }
        return root
    }
}

/// A fixture could not be set up.
struct StoreFixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
