public import Foundation
public import Testing
public import Trove
public import TroveConformance

/// A store, or a stack of layers, that the contract is checked against, able to build a fresh
/// one for each test.
///
/// Every store is built with its own `ManualWallClock`, which the checks move forward to test
/// expiry without sleeping. A store that keeps its data in a directory gets a fresh one under
/// the system's temporary directory, removed when the test ends, and its environment can open
/// a second instance over the same directory.
///
///     static let file = ConformanceFixture(name: "file", usesDirectory: true) { clock, directory in
///         try FileSystemStore(root: try ConformanceFixture.require(directory), clock: clock.wallClock)
///     }
public struct ConformanceFixture: Sendable, CustomStringConvertible {
    /// Builds a store over `directory` (`nil` for a store that uses none) on `clock`; called
    /// once for the store and once more for each second instance.
    public typealias Opener = @Sendable (_ clock: ManualWallClock, _ directory: URL?) throws -> any KeyValueStore

    /// The fixture's name in test reports.
    public let name: String
    /// Whether the store keeps its data in a directory.
    public let usesDirectory: Bool
    /// See ``TroveConformance/ConformanceEnvironment/largeValueSize``.
    public var largeValueSize: Int
    /// The longest key the store accepts.
    public var maximumKeyByteCount: Int
    /// The largest value the store accepts, if it has a limit.
    public var maximumValueSize: Int?
    private let makeOpener: @Sendable () throws -> Opener

    public var description: String { name }

    /// A fixture whose stores `open` builds.
    ///
    /// - Parameters:
    ///   - largeValueSize: Defaults to 64 MiB.
    ///   - maximumKeyByteCount: Defaults to ``Trove/StoreKey/maximumByteCount``.
    ///   - maximumValueSize: Defaults to `nil`, no limit.
    public init(
        name: String, usesDirectory: Bool, largeValueSize: Int = 64 << 20,
        maximumKeyByteCount: Int = StoreKey.maximumByteCount, maximumValueSize: Int? = nil,
        open: @escaping Opener
    ) {
        self.init(name: name, usesDirectory: usesDirectory, largeValueSize: largeValueSize,
                  maximumKeyByteCount: maximumKeyByteCount, maximumValueSize: maximumValueSize,
                  eachTest: { open })
    }

    /// A fixture whose stores share what `eachTest` sets up once per test (such as keys that a
    /// store and its second instance must both hold): it returns the opener for that test.
    public init(
        name: String, usesDirectory: Bool, largeValueSize: Int = 64 << 20,
        maximumKeyByteCount: Int = StoreKey.maximumByteCount, maximumValueSize: Int? = nil,
        eachTest: @escaping @Sendable () throws -> Opener
    ) {
        self.name = name
        self.usesDirectory = usesDirectory
        self.largeValueSize = largeValueSize
        self.maximumKeyByteCount = maximumKeyByteCount
        self.maximumValueSize = maximumValueSize
        self.makeOpener = eachTest
    }

    /// Runs `body` with a fresh, empty store of this kind and the environment that goes with it
    /// (its clock and limits, and for a directory store a way to open a second instance and to
    /// measure its files).
    public func withFreshStore(_ body: (any KeyValueStore, ConformanceEnvironment) async throws -> Void) async throws {
        let clock = ManualWallClock()
        let open = try makeOpener()
        guard usesDirectory else {
            let environment = ConformanceEnvironment(
                clock: clock, largeValueSize: largeValueSize, maximumKeyByteCount: maximumKeyByteCount,
                maximumValueSize: maximumValueSize)
            try await body(try open(clock, nil), environment)
            return
        }
        try await ConformanceEnvironment.withStoreInTemporaryDirectory(
            clock: clock, largeValueSize: largeValueSize, maximumKeyByteCount: maximumKeyByteCount,
            maximumValueSize: maximumValueSize, open: { root in try open(clock, root) }, body)
    }

    /// Runs `check` against a fresh store of this kind as a Swift Testing test case, as
    /// ``expectConformance(_:of:environment:sourceLocation:)`` does: a broken clause is an issue,
    /// a check that does not apply a skip with its reason.
    public func expectConformance(to check: ContractCheck, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        try await withFreshStore { store, environment in
            try await TroveTestSupport.expectConformance(check, of: store, environment: environment, sourceLocation: sourceLocation)
        }
    }

    /// `directory`, or a ``TestFailure`` when a directory store was opened without one.
    public static func require(_ directory: URL?) throws -> URL {
        guard let directory else { throw TestFailure("a directory store was opened without a directory") }
        return directory
    }
}
