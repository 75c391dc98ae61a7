import Foundation
import Trove
import TroveRedis
import TroveRedisClient
import TroveTestSupport

/// A client of the test server, from `TROVE_TEST_REDIS_URL` (`redis://127.0.0.1:PORT`).
func makeTestClient(connections: Int = 2, commandTimeout: Duration = .seconds(10)) throws -> RedisClient {
    let url = try StoreURL(parsing: try TestServer.redis.require())
    var configuration = RedisClient.Configuration(host: url.host ?? "127.0.0.1", port: url.port ?? 6379)
    configuration.connectionCount = connections
    configuration.commandTimeout = commandTimeout
    return RedisClient(configuration: configuration)
}

/// Runs `body` with a client of the test server, shut down afterwards.
func withTestClient<T>(connections: Int = 2, _ body: (RedisClient) async throws -> T) async throws -> T {
    try await using(try makeTestClient(connections: connections), body)
}

/// Runs `body` with `client`, and shuts the client down however `body` ends.
func using<T>(_ client: RedisClient, _ body: (RedisClient) async throws -> T) async throws -> T {
    do {
        let result = try await body(client)
        await client.shutdown()
        return result
    } catch {
        await client.shutdown()
        throw error
    }
}

/// The commands `body` sent through `client` and the writes they took, by the client's own
/// counters.
func commandsAndWrites(of client: RedisClient, _ body: () async throws -> Void) async throws -> (commands: Int, writes: Int) {
    let before = client.statistics
    try await body()
    let after = client.statistics
    return (after.commandsSent - before.commandsSent, after.writes - before.writes)
}

/// A prefix no other suite uses.
func uniquePrefix(_ name: String) -> String {
    "trove-test:\(name):\(UInt32.random(in: 0...UInt32.max)):"
}

/// `text` with `SCAN … MATCH`'s glob characters escaped, so that it matches only itself.
func globEscaped(_ text: String) -> String {
    var escaped = ""
    for character in text {
        if "*?[]\\^".contains(character) { escaped.append("\\") }
        escaped.append(character)
    }
    return escaped
}

/// Deletes every server key that starts with `prefix` (SCAN and UNLINK).
func deleteServerKeys(withPrefix prefix: String, client: RedisClient) async throws {
    var cursor = "0"
    repeat {
        let reply = try await client.send(RedisCommand("SCAN", cursor, "MATCH", globEscaped(prefix) + "*", "COUNT", 1000))
        guard let parts = reply.array, parts.count == 2, let next = parts[0].string, let keys = parts[1].array else { return }
        let names = keys.compactMap(\.bytes)
        if !names.isEmpty { _ = try await client.send(RedisCommand("UNLINK", arguments: names)) }
        cursor = next
    } while cursor != "0"
}

extension TestServer {
    /// The Redis Cluster (3 primaries, 3 replicas) that `scripts/servers/redis.sh` starts.
    static let redisCluster = TestServer(name: "redis", variable: "TROVE_TEST_REDIS_CLUSTER_URL")
}

/// A client of the test cluster, from `TROVE_TEST_REDIS_CLUSTER_URL`
/// (`redis+cluster://127.0.0.1:P1,…`).
func makeClusterClient(connections: Int = 2) throws -> RedisClient {
    var settings = try RedisStore.URLConfiguration(StoreURL(parsing: try TestServer.redisCluster.require()))
    settings.cluster?.node.connectionCount = connections
    return settings.makeClient()
}

/// Runs `body` with a client of the test cluster, shut down afterwards.
func withClusterClient<T>(connections: Int = 2, _ body: (RedisClient) async throws -> T) async throws -> T {
    let client = try makeClusterClient(connections: connections)
    do {
        let result = try await body(client)
        await client.shutdown()
        return result
    } catch {
        await client.shutdown()
        throw error
    }
}

/// The keys under `prefix` on every primary of the cluster (SCAN on each).
func clusterKeys(withPrefix prefix: String, client: RedisClient) async throws -> [RedisClient.Endpoint: [String]] {
    var found: [RedisClient.Endpoint: [String]] = [:]
    try await client.refreshClusterLayout()
    for primary in try await client.primaries() {
        var cursor = "0"
        repeat {
            let reply = try await client.send(RedisCommand("SCAN", cursor, "MATCH", globEscaped(prefix) + "*", "COUNT", 1000),
                                              to: primary)
            guard let parts = reply.array, parts.count == 2, let next = parts[0].string, let keys = parts[1].array else { break }
            found[primary, default: []] += keys.compactMap(\.string)
            cursor = next
        } while cursor != "0"
    }
    return found
}

/// Deletes every key under `prefix` on every primary of the cluster.
func deleteClusterKeys(withPrefix prefix: String, client: RedisClient) async throws {
    let keys = try await clusterKeys(withPrefix: prefix, client: client).values.joined()
    if !keys.isEmpty { _ = try await client.pipeline(keys.map { RedisCommand("UNLINK", $0) }) }
}
