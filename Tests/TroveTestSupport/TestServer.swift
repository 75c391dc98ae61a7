import Foundation
public import Testing

/// A server that a test suite needs, found through the environment variables that
/// `scripts/test` exports after starting it on loopback.
///
/// A suite over a server declares itself enabled only when the server is there:
///
///     @Suite(.enabled(if: TestServer.redis.isAvailable, TestServer.redis.absence))
///
/// so that a plain `swift test` on a machine without the server reports the suite as skipped,
/// with the reason, instead of failing or passing. Under `scripts/test`, which started the
/// server and names it in `TROVE_TEST_REQUIRE_SERVERS`, the suite is always enabled, and a
/// missing variable fails the test that reads it.
public struct TestServer: Sendable {
    /// The group name `scripts/servers/NAME.sh` starts, such as `redis`.
    public let name: String
    /// The variable holding what a suite connects to, such as a URL.
    public let variable: String

    /// A server of group `name`, reached through the value of `variable`.
    public init(name: String, variable: String) {
        self.name = name
        self.variable = variable
    }

    /// The variable's value, if it is set and not empty.
    public var value: String? {
        guard let value = ProcessInfo.processInfo.environment[variable], !value.isEmpty else { return nil }
        return value
    }

    /// Whether `scripts/test` started this server's group for this run.
    public var isRequired: Bool {
        let names = ProcessInfo.processInfo.environment["TROVE_TEST_REQUIRE_SERVERS"] ?? ""
        return names.split(separator: " ").contains { $0 == name }
    }

    /// Whether a suite over this server should run: its variable is set, or the run requires it.
    public var isAvailable: Bool { value != nil || isRequired }

    /// Why a suite over this server is skipped, for `.enabled(if:_:)`.
    public var absence: Comment {
        Comment(rawValue: "\(variable) is not set: `scripts/test` starts a \(name) server on 127.0.0.1 and sets it")
    }

    /// The variable's value.
    ///
    /// - Throws: ``Missing`` when it is not set, which fails the test that asked.
    public func require() throws -> String {
        guard let value else { throw Missing(server: self) }
        return value
    }

    /// The Redis server that `scripts/servers/redis.sh` starts.
    public static let redis = TestServer(name: "redis", variable: "TROVE_TEST_REDIS_URL")
    /// The SeaweedFS S3 gateway that `scripts/servers/s3.sh` starts.
    public static let s3 = TestServer(name: "s3", variable: "TROVE_TEST_S3_ENDPOINT")
    /// The PostgreSQL server that `scripts/servers/postgres.sh` starts.
    public static let postgres = TestServer(name: "postgres", variable: "TROVE_TEST_POSTGRES_URL")

    /// A variable a test needed is not set.
    public struct Missing: Error, CustomStringConvertible {
        /// The server whose variable is missing.
        public let server: TestServer
        public var description: String {
            "\(server.variable) is not set, but the run requires the \(server.name) servers: "
                + "scripts/servers/\(server.name).sh must export it"
        }
    }
}
