// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "TroveIntegrations",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "TroveHummingbird", targets: ["TroveHummingbird"]),
        .library(name: "TroveVapor", targets: ["TroveVapor"]),
    ],
    dependencies: [
        .package(name: "Trove", path: ".."),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/vapor/vapor", from: "4.122.3"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        .target(
            name: "TroveIntegrationSupport",
            dependencies: [.product(name: "Trove", package: "Trove")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TroveHummingbird",
            dependencies: [
                "TroveIntegrationSupport",
                .product(name: "Trove", package: "Trove"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TroveVapor",
            dependencies: [
                "TroveIntegrationSupport",
                .product(name: "Trove", package: "Trove"),
                .product(name: "Vapor", package: "vapor"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // What the adapters' tests share: kinds of stores, scratch directories.
        .target(
            name: "TroveIntegrationTestSupport",
            dependencies: [
                .product(name: "Trove", package: "Trove"),
                .product(name: "TroveSQLite", package: "Trove"),
            ],
            path: "Tests/TroveIntegrationTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TroveIntegrationSupportTests",
            dependencies: ["TroveIntegrationSupport", .product(name: "Trove", package: "Trove")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TroveHummingbirdTests",
            dependencies: [
                "TroveHummingbird",
                "TroveIntegrationTestSupport",
                .product(name: "Trove", package: "Trove"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TroveVaporTests",
            dependencies: [
                "TroveVapor",
                "TroveIntegrationTestSupport",
                .product(name: "Trove", package: "Trove"),
                .product(name: "Vapor", package: "vapor"),
                .product(name: "VaporTesting", package: "vapor"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
