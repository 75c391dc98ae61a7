// swift-tools-version: 6.1
//
// Trove's benchmarks: a package of their own, so that the library's users never download
// the benchmark framework. Run from this directory:
//
//     swift package benchmark                 # ordo-one/benchmark suite (TroveBenchmarks)
//     swift run -c release TroveWorkloads raw /dev/shm
//     swift run -c release TroveWorkloads sqlite /dev/shm
//     TROVE_BENCH_POSTGRES_URL=postgres://… swift run -c release TroveWorkloads postgres /tmp
//     TROVE_BENCH_REDIS_URL=redis://127.0.0.1:6379/0 swift run -c release TroveWorkloads redis /tmp
//
// and from the repository root, `bash Benchmarks/compare.sh` for the comparison with
// Python's persistent dictionaries, `bash Benchmarks/copy-bench.sh` for `trove copy`.
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "TroveBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Trove", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
    ],
    targets: [
        // The system SQLite library, for the raw SQLite loop: the same header and library as the
        // root package's CTroveSQLite, which is a target of that package, not a product.
        .systemLibrary(
            name: "CSQLiteBench",
            path: "CSQLiteBench",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // The workloads, the raw loops (system calls, SQLite) and the phases, shared by both
        // executables.
        .target(
            name: "WorkloadKit",
            dependencies: [
                "CSQLiteBench",
                .product(name: "Trove", package: "Trove"),
                .product(name: "TroveSQLite", package: "Trove"),
            ],
            path: "WorkloadKit",
            swiftSettings: swiftSettings
        ),
        // The ordo-one/benchmark suite: `swift package benchmark`.
        .executableTarget(
            name: "TroveBenchmarks",
            dependencies: [
                "WorkloadKit",
                .product(name: "Trove", package: "Trove"),
                .product(name: "TroveCrypto", package: "Trove"),
                .product(name: "TroveSQLite", package: "Trove"),
                .product(name: "TroveObservability", package: "Trove"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "TroveBenchmarks",
            swiftSettings: swiftSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // One pass of W1 and W2 for one subject, printed as JSON; compare.sh drives it.
        // Its sources sit one level down, in TroveWorkloads/Sources: the benchmark plugin runs
        // every executable whose folder sits directly in Benchmarks/ as a benchmark suite.
        .executableTarget(
            name: "TroveWorkloads",
            dependencies: [
                "WorkloadKit",
                .product(name: "Trove", package: "Trove"),
                .product(name: "TroveSQLite", package: "Trove"),
                .product(name: "TrovePostgres", package: "Trove"),
                .product(name: "TroveRedis", package: "Trove"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "TroveWorkloads/Sources",
            swiftSettings: swiftSettings
        ),
        // The Redis client beside redis-benchmark, GET and SET at equal connections and
        // pipeline depth: redis-bench.sh runs both against one redis-server. Its sources sit
        // one level down, like TroveWorkloads', so the benchmark plugin does not run it.
        .executableTarget(
            name: "RedisClientBench",
            dependencies: [.product(name: "TroveRedis", package: "Trove"), .product(name: "NIOCore", package: "swift-nio")],
            path: "RedisClientBench/Sources",
            swiftSettings: swiftSettings
        ),
        // S3Store's phases beside boto3's: s3-bench.sh runs both against one SeaweedFS.
        .executableTarget(
            name: "S3Bench",
            dependencies: [
                .product(name: "Trove", package: "Trove"),
                .product(name: "TroveS3", package: "Trove"),
                .product(name: "TroveS3Client", package: "Trove"),
            ],
            path: "S3Bench/Sources",
            swiftSettings: swiftSettings
        ),
        // The data of copy-bench.sh (the same keys as plain files and in a file store) and the
        // batched write rate of a store, which `trove copy` is measured against.
        .executableTarget(
            name: "CopyBenchData",
            dependencies: [
                .product(name: "Trove", package: "Trove"),
                .product(name: "TroveSQLite", package: "Trove"),
                .product(name: "TroveRedis", package: "Trove"),
            ],
            path: "CopyBenchData/Sources",
            swiftSettings: swiftSettings
        ),
        // DurableQueue's rates for queue-bench.sh, beside persist-queue's in the same run.
        .executableTarget(
            name: "QueueBench",
            dependencies: [
                .product(name: "Trove", package: "Trove"),
                .product(name: "TroveSQLite", package: "Trove"),
            ],
            path: "QueueBench/Sources",
            swiftSettings: swiftSettings
        ),
    ]
)
