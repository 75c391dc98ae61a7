// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "Trove",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Trove", targets: ["Trove"]),
        .library(name: "TroveConformance", targets: ["TroveConformance"]),
        .library(name: "TroveCrypto", targets: ["TroveCrypto"]),
        .library(name: "TroveSQLite", targets: ["TroveSQLite"]),
        .library(name: "TroveRedis", targets: ["TroveRedis", "TroveRedisClient"]),
        .library(name: "TroveS3Client", targets: ["TroveS3Client"]),
        .library(name: "TroveS3", targets: ["TroveS3"]),
        .library(name: "TrovePostgres", targets: ["TrovePostgres"]),
        .library(name: "TroveObservability", targets: ["TroveObservability"]),
        .library(name: "TroveServiceLifecycle", targets: ["TroveServiceLifecycle"]),
        .executable(name: "trove", targets: ["TroveCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        // `swift package generate-documentation` (scripts/docs); a command plugin, built only when run.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // Thin C wrappers for system calls that Swift cannot call directly: on Linux openat2,
        // renameat2, open-file-description locks and statx, with portable POSIX fallbacks.
        .target(name: "CTroveSystem"),
        .target(
            name: "Trove",
            dependencies: ["CTroveSystem"],
            swiftSettings: swiftSettings
        ),
        // Metrics (swift-metrics), tracing (swift-distributed-tracing) and logging (swift-log)
        // for any store: a target of its own, so that the core depends on nothing.
        .target(
            name: "TroveObservability",
            dependencies: [
                "Trove",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Opened stores as services of swift-service-lifecycle's ServiceGroup.
        .target(
            name: "TroveServiceLifecycle",
            dependencies: [
                "Trove",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TroveConformance",
            dependencies: ["Trove"],
            swiftSettings: swiftSettings
        ),
        // SignedStore and EncryptedStore: a target of their own, so that only apps that sign or
        // encrypt build swift-crypto (and BoringSSL beneath it on Linux).
        .target(
            name: "TroveCrypto",
            dependencies: [
                "Trove",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // The system SQLite library (Debian's libsqlite3-dev), called directly.
        .systemLibrary(
            name: "CTroveSQLite",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // SQLiteStore: a target of its own, so that apps that need files only do not link SQLite.
        .target(
            name: "TroveSQLite",
            dependencies: ["Trove", "CTroveSQLite", "CTroveSystem"],
            swiftSettings: swiftSettings
        ),
        // The Redis client (RESP2/RESP3, pipelined connections on SwiftNIO): a module of its own,
        // usable without the store.
        .target(
            name: "TroveRedisClient",
            dependencies: [
                "TroveNIOSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // RedisStore: a target of its own, so that apps without Redis do not build SwiftNIO.
        .target(
            name: "TroveRedis",
            dependencies: [
                "Trove",
                "TroveRedisClient",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // What SwiftNIO's connection errors mean, in words, for the networked stores' messages.
        .target(
            name: "TroveNIOSupport",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // An S3 client of its own (SigV4 signing, presigned URLs, the object operations), usable
        // without the store.
        .target(
            name: "TroveS3Client",
            dependencies: [
                "TroveNIOSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // S3Store: a bucket and a prefix as a store, over TroveS3Client.
        .target(
            name: "TroveS3",
            dependencies: ["Trove", "TroveS3Client"],
            swiftSettings: swiftSettings
        ),
        // PostgresStore: a target of its own, so that only apps that use PostgreSQL build
        // postgres-nio.
        .target(
            name: "TrovePostgres",
            dependencies: [
                "Trove",
                "TroveNIOSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "TroveCLI",
            dependencies: [
                "Trove",
                "TroveSQLite",
                "TroveRedis",
                "TroveS3",
                "TrovePostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // A second process for cross-process tests (compare-and-swap races, crashes).
        .executableTarget(
            name: "TroveTestHelper",
            dependencies: ["Trove", "TroveSQLite"],
            swiftSettings: swiftSettings
        ),
        // The crash and full-disk campaigns of scripts/reliability, and the writer process they kill.
        .executableTarget(
            name: "TroveReliability",
            dependencies: ["Trove", "TroveSQLite", "CTroveSQLite"],
            swiftSettings: swiftSettings
        ),
        // The README's production example as a program, built as a user's would be (no settings
        // of ours), which ReadmeExampleTests compares with the README and runs. The README's other
        // examples are snippets (Snippets/), which every build compiles.
        .executableTarget(
            name: "ReadmeExamples",
            dependencies: [
                "Trove", "TroveObservability",
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Tests/ReadmeExamples"
        ),
        // What every test target shares: running conformance checks under Swift Testing,
        // scratch directories, child processes.
        // posix_spawn for the tests' child processes (see SpawnedProcess).
        .target(name: "CTroveTestSpawn", path: "Tests/CTroveTestSpawn"),
        .target(
            name: "TroveTestSupport",
            dependencies: [
                "Trove", "TroveConformance", "CTroveTestSpawn", "TroveObservability",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/TroveTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TroveTests",
            dependencies: ["Trove", "TroveConformance", "TroveTestSupport", "TroveTestHelper", "TroveCLI", "TroveSQLite",
                           "ReadmeExamples"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TroveSQLiteTests",
            dependencies: ["TroveSQLite", "Trove", "TroveConformance", "TroveTestSupport", "TroveTestHelper", "TroveCLI", "CTroveSQLite"],
            swiftSettings: swiftSettings
        ),
        // A second process for RedisStore's cross-process tests.
        .executableTarget(
            name: "TroveRedisTestHelper",
            dependencies: ["Trove", "TroveRedis"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TroveRedisTests",
            dependencies: [
                "TroveRedis", "TroveRedisClient", "Trove", "TroveConformance", "TroveTestSupport", "TroveRedisTestHelper", "TroveCLI",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // A second process for PostgresStore's cross-process tests.
        .executableTarget(
            name: "TrovePostgresTestHelper",
            dependencies: ["Trove", "TrovePostgres"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TrovePostgresTests",
            dependencies: [
                "TrovePostgres", "Trove", "TroveConformance", "TroveTestSupport", "TroveCLI", "TrovePostgresTestHelper",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // trove copy, check and sync between every two kinds of store, through the command line.
        .testTarget(
            name: "TroveStorePairTests",
            dependencies: [
                "Trove", "TroveSQLite", "TroveRedis", "TroveS3", "TroveS3Client", "TrovePostgres", "TroveTestSupport", "TroveCLI",
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TroveObservabilityTests",
            dependencies: [
                "TroveObservability", "TroveServiceLifecycle", "Trove", "TroveConformance", "TroveTestSupport",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TroveCryptoTests",
            dependencies: [
                "TroveCrypto", "Trove", "TroveConformance", "TroveTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TroveS3Tests",
            dependencies: [
                "TroveS3", "TroveS3Client", "Trove", "TroveConformance", "TroveTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
    ]
)
