// swift-tools-version: 5.4
// The fuzz targets of Trove's reliability suite (scripts/lib/reliability/fuzz.sh), in a package
// of their own so that the main package's build never sees them. Each target is a libFuzzer
// executable: build with
//
//     swift build --package-path Fuzz --sanitize=fuzzer --product FuzzStoreKey
//
// and run `Fuzz/.build/debug/FuzzStoreKey Fuzz/Corpus/store-key`.
//
// Tools version 5.4 on purpose: from 5.5 on, SwiftPM links an executable with
// `--defsym main=<Module>_main` (so tests can link executables), and a module parsed as a
// library, whose `main` is libFuzzer's, never defines that symbol. The targets still compile in
// the Swift 6 language mode. A debug build enables testability, so `@testable import Trove`
// reaches the internal parsers.
import PackageDescription

let fuzzerSettings: [SwiftSetting] = [.unsafeFlags(["-parse-as-library"])]

/// A fuzz target named `name`, in Sources/`name`, depending on FuzzSupport and `dependencies`.
func fuzzTarget(_ name: String, _ dependencies: [Target.Dependency] = [.product(name: "Trove", package: "Trove")]) -> Target {
    .executableTarget(name: name, dependencies: ["FuzzSupport"] + dependencies, swiftSettings: fuzzerSettings)
}

let package = Package(
    name: "TroveFuzz",
    dependencies: [
        .package(name: "Trove", path: ".."),
        // The same package as Trove's, for SymmetricKey in the crypto target.
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        // The same package as Trove's, for ByteBuffer in the RESP target.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
    ],
    targets: [
        .target(name: "FuzzSupport"),
        // Short mode: the core module only.
        fuzzTarget("FuzzStoreKey"),
        fuzzTarget("FuzzStoreURL"),
        fuzzTarget("FuzzFileName"),
        fuzzTarget("FuzzFileHeader"),
        fuzzTarget("FuzzEnvelopes"),
        // Long mode: these pull in swift-crypto, SwiftNIO and AsyncHTTPClient.
        fuzzTarget("FuzzCryptoEnvelopes", [
            .product(name: "Trove", package: "Trove"),
            .product(name: "TroveCrypto", package: "Trove"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        fuzzTarget("FuzzRESP", [
            .product(name: "TroveRedis", package: "Trove"),
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        fuzzTarget("FuzzS3", [.product(name: "TroveS3Client", package: "Trove")]),
    ],
    swiftLanguageVersions: [.version("6")]
)
