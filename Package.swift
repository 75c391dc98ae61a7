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
        .library(name: "TrovePostgres", targets: ["TrovePostgres"]),
        .executable(name: "trove", targets: ["TroveCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // Thin C wrappers for Linux system calls that Swift cannot call directly
        // (openat2, renameat2, open-file-description locks, statx).
        .target(name: "CTroveSystem"),
        .target(
            name: "Trove",
            dependencies: ["CTroveSystem"],
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
        // PostgresStore: a target of its own, so that only apps that use PostgreSQL build
        // postgres-nio (and SwiftNIO beneath it).
        .target(
            name: "TrovePostgres",
            dependencies: [
                "Trove",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "TroveCLI",
            dependencies: [
                "Trove",
                "TroveSQLite",
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
        // What every test target shares: running conformance checks under Swift Testing,
        // scratch directories, child processes.
        .target(
            name: "TroveTestSupport",
            dependencies: ["Trove", "TroveConformance"],
            path: "Tests/TroveTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TroveTests",
            dependencies: ["Trove", "TroveConformance", "TroveTestSupport", "TroveTestHelper", "TroveCLI", "TroveSQLite"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TroveSQLiteTests",
            dependencies: ["TroveSQLite", "Trove", "TroveConformance", "TroveTestSupport", "TroveTestHelper", "TroveCLI", "CTroveSQLite"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TrovePostgresTests",
            dependencies: [
                "TrovePostgres", "Trove", "TroveConformance", "TroveTestSupport", "TroveCLI",
                .product(name: "PostgresNIO", package: "postgres-nio"),
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
    ]
)
