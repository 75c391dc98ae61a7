import Foundation
@_spi(Testing) @testable import Trove
import TroveConformance
import TroveTestSupport

/// The stores the contract is checked against (``ConformanceFixture``s): memory, file stores
/// of every configuration, and a namespace inside each.
enum StoreFixture {
    /// The in-memory reference store.
    static let memory = ConformanceFixture(name: "memory", usesDirectory: false) { clock, _ in
        MemoryStore(clock: clock.wallClock)
    }

    /// A namespace `p` inside a memory store.
    static let memorySubStore = ConformanceFixture(name: "memory.prefixed(p)", usesDirectory: false, maximumKeyByteCount: 1022) { clock, _ in
        MemoryStore(clock: clock.wallClock).prefixed("p")
    }

    /// A file store with the default (buffered) durability.
    static let fileSystem = ConformanceFixture(name: "file", usesDirectory: true, maximumKeyByteCount: 1024) { clock, root in
        try FileSystemStore(root: try ConformanceFixture.require(root), clock: clock.wallClock)
    }

    /// A file store that fsyncs every write.
    static let fileSystemFsync = ConformanceFixture(name: "file(fsync)", usesDirectory: true, maximumKeyByteCount: 1024) { clock, root in
        try FileSystemStore(root: try ConformanceFixture.require(root), configuration: .init(durability: .fsync), clock: clock.wallClock)
    }

    /// A file store that walks paths one component at a time, as on kernels without openat2.
    static let fileSystemWithoutOpenat2 = ConformanceFixture(name: "file(no openat2)", usesDirectory: true, maximumKeyByteCount: 1024) { clock, root in
        try FileSystemStore(root: try ConformanceFixture.require(root), configuration: .init(), clock: clock.wallClock, usesOpenat2: false)
    }

    /// A file store that makes only the portable system calls, as on platforms other than
    /// Linux: the component walk, link + unlink, record locks, fstatat.
    static let fileSystemPortable = ConformanceFixture(name: "file(portable calls)", usesDirectory: true, maximumKeyByteCount: 1024) { clock, root in
        try FileSystemStore(root: try ConformanceFixture.require(root), configuration: .init(), clock: clock.wallClock,
                            usesOpenat2: nil, systemCalls: .portable)
    }

    /// A namespace `p` inside a file store.
    static let fileSystemSubStore = ConformanceFixture(name: "file.prefixed(p)", usesDirectory: true, maximumKeyByteCount: 1022) { clock, root in
        try FileSystemStore(root: try ConformanceFixture.require(root), clock: clock.wallClock).prefixed("p")
    }

    /// Every fixture.
    static let all: [ConformanceFixture] = [
        memory, memorySubStore, fileSystem, fileSystemFsync, fileSystemWithoutOpenat2, fileSystemPortable,
        fileSystemSubStore,
    ]
}
