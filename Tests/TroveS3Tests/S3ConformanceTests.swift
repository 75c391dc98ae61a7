import Foundation
import Testing
import Trove
import TroveConformance
import TroveS3
import TroveS3Client
import TroveTestSupport

/// The whole contract against S3Store on the SeaweedFS of scripts/servers/s3.sh, over a bucket
/// and over a prefix of it, each check in a namespace of its own.
@Suite("S3Store: contract conformance", .enabled(if: TestServer.s3.isAvailable, TestServer.s3.absence), .freshBucket)
struct S3ConformanceTests {
    static let prefixes = ["", "stores/one/"]

    @Test("contract", .timeLimit(.minutes(15)), arguments: prefixes, ContractCheck.allCases)
    func contract(_ prefix: String, _ check: ContractCheck) async throws {
        let bucket = try S3TestBucket.name()
        let store = S3Store(bucket: bucket, prefix: prefix, client: try S3TestServer.client())
        let environment = ConformanceEnvironment(
            largeValueSize: 16 << 20,
            // S3's 1,024 bytes, less the store's prefix and the check's namespace (which the
            // isolation subtracts only from the default).
            maximumKeyByteCount: 1024 - prefix.utf8.count - (prefix.isEmpty ? 0 : ConformanceEnvironment.namespaceByteCount),
            reopen: { @Sendable in S3Store(bucket: bucket, prefix: prefix, client: try S3TestServer.client()) },
            isolatesEachCheck: true)
        try await expectConformanceOnSeaweedFS(check, of: store, environment: environment)
    }

    /// What SeaweedFS 4.48 does not do, and the checks it fails for it (each expected to fail,
    /// only in that way).
    static let seaweedFSLimitations = [
        "writeIfAbsent": "SeaweedFS fails If-None-Match: * on a key that is only a prefix of others (its directory counts as an object)",
    ]

    /// The keys S3Store refuses on SeaweedFS (``S3Store/Options/KeyRules/seaweedFS``), which
    /// would store a backslash as a slash and refuses segments longer than 255 bytes.
    static let seaweedFSRefusedKeys = RefusedKeys(scalars: ["\\"], maximumSegmentByteCount: 255)
}

/// Runs `check` on `store`, with the keys that S3Store refuses on SeaweedFS, expecting the
/// failures of SeaweedFS's known limitations (and only those) on the checks that meet them.
func expectConformanceOnSeaweedFS(_ check: ContractCheck, of store: any KeyValueStore, environment: ConformanceEnvironment) async throws {
    var environment = environment
    environment.refusedKeys = S3ConformanceTests.seaweedFSRefusedKeys
    guard let limitation = S3ConformanceTests.seaweedFSLimitations[check.name] else {
        try await expectConformance(check, of: store, environment: environment)
        return
    }
    try await withKnownIssue(Comment(rawValue: limitation)) {
        try await expectConformance(check, of: store, environment: environment)
    } matching: { issue in
        String(describing: issue).contains("conditions/parent")
    }
}

/// The contract against an `ExpiringStore` over S3Store (S3 has no per-object expiry of its
/// own): expiry by the layer's clock, which the checks move, over objects on SeaweedFS.
@Suite("ExpiringStore over S3Store: contract conformance", .enabled(if: TestServer.s3.isAvailable, TestServer.s3.absence), .freshBucket)
struct S3ExpiringConformanceTests {
    @Test("contract", .timeLimit(.minutes(15)), arguments: ContractCheck.allCases)
    func contract(_ check: ContractCheck) async throws {
        let bucket = try S3TestBucket.name()
        let clock = ManualWallClock()
        let store = ExpiringStore(base: S3Store(bucket: bucket, client: try S3TestServer.client()), clock: clock.wallClock)
        let environment = ConformanceEnvironment(
            clock: clock, largeValueSize: 16 << 20,
            reopen: { @Sendable in ExpiringStore(base: S3Store(bucket: bucket, client: try S3TestServer.client()), clock: clock.wallClock) },
            isolatesEachCheck: true)
        try await expectConformanceOnSeaweedFS(check, of: store, environment: environment)
    }
}

/// The contract against `CachedStore(S3Store, FileSystemStore)`, the cache in a fresh
/// directory per check, in both modes: mutable (the cache revalidated by ETag) and append-only.
@Suite("CachedStore over S3Store: contract conformance", .enabled(if: TestServer.s3.isAvailable, TestServer.s3.absence), .freshBucket)
struct S3CachedConformanceTests {
    @Test("contract", .timeLimit(.minutes(15)), arguments: [CacheMode.mutable, .appendOnly], ContractCheck.allCases)
    func contract(_ mode: CacheMode, _ check: ContractCheck) async throws {
        let bucket = try S3TestBucket.name()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("trove-s3-cache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = CachedStore(base: S3Store(bucket: bucket, client: try S3TestServer.client()),
                                cache: try FileSystemStore(root: directory), mode: mode)
        // A second instance, as another process would open it: its own cache over the bucket.
        let secondDirectory = directory.appendingPathExtension("second")
        defer { try? FileManager.default.removeItem(at: secondDirectory) }
        let environment = ConformanceEnvironment(
            largeValueSize: 16 << 20,
            reopen: { @Sendable in
                CachedStore(base: S3Store(bucket: bucket, client: try S3TestServer.client()),
                            cache: try FileSystemStore(root: secondDirectory), mode: mode)
            },
            isolatesEachCheck: true)
        try await expectConformanceOnSeaweedFS(check, of: store, environment: environment)
    }
}

/// The contract on S3Store under every production layer (tracing, metrics, logging, a
/// concurrency limit, timeouts, retries), with the same SeaweedFS limitations as the bare store.
/// Its checks run one at a time: beside the other S3 suites, more parallel 16 MiB transfers
/// would only load the two cores further.
@Suite("S3Store under every production layer: contract conformance", .enabled(if: TestServer.s3.isAvailable, TestServer.s3.absence),
       .freshBucket, .serialized)
struct S3ProductionStackConformanceTests {
    @Test("contract", .timeLimit(.minutes(15)), arguments: ContractCheck.allCases)
    func contract(_ check: ContractCheck) async throws {
        let bucket = try S3TestBucket.name()
        let store = productionStack(over: S3Store(bucket: bucket, prefix: "", client: try S3TestServer.client()), system: "s3")
        let environment = ConformanceEnvironment(
            largeValueSize: 16 << 20, maximumKeyByteCount: 1024,
            reopen: { @Sendable in S3Store(bucket: bucket, prefix: "", client: try S3TestServer.client()) },
            isolatesEachCheck: true)
        try await expectConformanceOnSeaweedFS(check, of: store, environment: environment)
    }
}
