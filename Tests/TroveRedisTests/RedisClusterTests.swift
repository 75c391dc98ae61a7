import Foundation
import Synchronization
import Testing
import Trove
import TroveRedis
import TroveRedisClient
import TroveTestSupport

/// The cluster client and the store on the test cluster: slots as the server computes them,
/// pipelines split per primary, the store spread over the primaries, and the layout
/// followed through a failover and a slot migration under load. Serialized: the last two
/// change the cluster's layout.
@Suite("Redis Cluster", .serialized, .enabled(if: TestServer.redisCluster.isAvailable, TestServer.redisCluster.absence))
struct RedisClusterTests {
    /// The client's slot of a key is the one `CLUSTER KEYSLOT` gives, hash tags included.
    @Test func slotsAreTheServersSlots() async throws {
        try await withClusterClient { client in
            var keys = ["", "foo", "{user1000}.following", "foo{}{bar}", "foo{{bar}}zap", "a{b}c", "ключ", "🔑{x}"]
            for _ in 0..<100 {
                let length = Int.random(in: 1...40)
                keys.append(String((0..<length).map { _ in "ab{}c:/xyz0189".randomElement()! }))
            }
            let replies = try await client.pipeline(keys.map { RedisCommand("CLUSTER", "KEYSLOT", $0) })
            for (key, reply) in zip(keys, replies) {
                #expect(reply.int64 == Int64(RedisHashSlot(key: key).rawValue), "the slot of '\(key)'")
            }
        }
    }

    /// A pipeline over keys of every primary is one write per primary, its replies in the
    /// order of the commands.
    @Test func pipelinesAreSplitPerPrimaryAndReassembledInOrder() async throws {
        try await withClusterClient(connections: 1) { client in
            let prefix = uniquePrefix("pipeline")
            let primaries = try await client.primaries()
            #expect(primaries.count == 3)
            let keys = (0..<300).map { "\(prefix)\($0)" }
            _ = try await client.pipeline(keys.map { RedisCommand("SET", $0, "v-\($0)") })
            let before = client.statistics
            let replies = try await client.pipeline(keys.map { RedisCommand("GET", $0) })
            let after = client.statistics
            #expect(replies.map(\.string) == keys.map { "v-\($0)" })
            #expect(after.writes - before.writes == primaries.count)
            #expect(after.commandsSent - before.commandsSent == keys.count)
            #expect(after.movedRedirects == before.movedRedirects)
            let found = try await clusterKeys(withPrefix: prefix, client: client)
            #expect(found.count == 3, "keys on \(found.keys)")
            #expect(found.values.map(\.count).reduce(0, +) == 300)
            _ = try await client.pipeline(keys.map { RedisCommand("DEL", $0) })
        }
    }

    /// `MSET`, `MGET`, `EXISTS`, `TOUCH`, `DEL` and `UNLINK` over keys of many slots are split
    /// per slot: the values come back in the order of the keys, the counts add up.
    @Test func multiKeyCommandsAreSplitPerSlot() async throws {
        try await withClusterClient { client in
            let prefix = uniquePrefix("multi")
            let keys = (0..<60).map { "\(prefix)\($0)" }
            #expect(Set(keys.map { RedisHashSlot(key: $0) }).count > 30)
            let mset = try await client.send(RedisCommand("MSET", arguments: keys.flatMap { [$0, "v-\($0)"] }))
            #expect(mset.string == "OK")
            let missing = prefix + "missing"
            let values = try await client.send(RedisCommand("MGET", arguments: [keys[0], missing] + keys.dropFirst()))
            #expect(values.array?.map(\.string) == [keys[0], nil].map { $0.map { "v-\($0)" } } + keys.dropFirst().map { "v-\($0)" })
            #expect(try await client.send(RedisCommand("EXISTS", arguments: keys + [missing])).int64 == 60)
            #expect(try await client.send(RedisCommand("TOUCH", arguments: keys)).int64 == 60)
            let replies = try await client.pipeline([RedisCommand("DEL", arguments: keys[..<30]), RedisCommand("GET", keys[40]),
                                                     RedisCommand("UNLINK", arguments: keys[30...])])
            #expect(replies.map(\.int64) == [30, nil, 30])
            #expect(replies[1].string == "v-\(keys[40])")
            #expect(try await client.send(RedisCommand("EXISTS", arguments: keys)).int64 == 0)
            // Keys of one slot stay one command.
            let tagged = (0..<5).map { "{\(prefix)}\($0)" }
            let before = client.statistics.commandsSent
            _ = try await client.send(RedisCommand("MSET", arguments: tagged.flatMap { [$0, "t"] }))
            #expect(client.statistics.commandsSent == before + 1)
            #expect(try await client.send(RedisCommand("DEL", arguments: tagged)).int64 == 5)
        }
    }

    /// The store's entries and indexes spread over every primary in 16 buckets; a read is one
    /// command in one write, as on one server.
    @Test func theStoreSpreadsOverThePrimaries() async throws {
        try await withClusterClient(connections: 1) { client in
            let prefix = uniquePrefix("spread")
            let store = RedisStore(client: client, prefix: prefix)
            #expect(store.layout == .buckets(16))
            let keys = (0..<200).map { StoreKey(stringLiteral: "k/\($0)") }
            for result in try await store.writeBatch(keys.map { BatchWrite($0, Data("x".utf8)) }) { _ = try result.get() }
            let found = try await clusterKeys(withPrefix: prefix, client: client)
            #expect(found.count == 3, "keys on \(found.keys)")
            for (primary, names) in found {
                #expect(names.count > 40, "\(names.count) keys on \(primary)")
                #expect(names.allSatisfy { $0.hasPrefix(prefix + "{") }, "\(names.prefix(3))")
            }
            let indexes = found.values.joined().filter { $0.hasSuffix("\u{1}keys") }
            #expect(indexes.count == 16)
            #expect(try await store.count() == 200)
            var listed: [StoreKey] = []
            for try await element in store.list(try ListQuery(prefix: "k/"), pageSize: 37) { if let key = element.key { listed.append(key) } }
            #expect(listed.map(\.rawValue) == keys.map(\.rawValue).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
            _ = try await store.read("k/1")
            let before = client.statistics
            #expect(try await store.read("k/1")?.value == Data("x".utf8))
            let after = client.statistics
            #expect(after.commandsSent - before.commandsSent == 1 && after.writes - before.writes == 1)
            try await deleteClusterKeys(withPrefix: prefix, client: client)
        }
    }

    /// With `readFrom: .preferReplica`, reads (`GET`, and `MGET` split per slot) are answered
    /// by the replicas, whose own count of calls grows by them, and writes still go to the
    /// primaries without a redirect.
    @Test func readsGoToReplicasWhenAsked() async throws {
        var settings = try RedisStore.URLConfiguration(StoreURL(parsing: try TestServer.redisCluster.require()))
        settings.cluster?.node.connectionCount = 1
        settings.cluster?.readFrom = .preferReplica
        let client = settings.makeClient()
        do {
            let prefix = uniquePrefix("replica")
            let keys = (0..<90).map { "\(prefix)\($0)" }
            let written = try await client.pipeline(keys.map { RedisCommand("SET", $0, "v-\($0)") })
            #expect(written.allSatisfy { $0.string == "OK" })
            #expect(client.statistics.replicaReads == 0 && client.statistics.movedRedirects == 0)
            // Each primary's writes reached a replica (WAIT counts the writes of its own
            // connection, the one the writes went on).
            let primaries = try await client.primaries()
            for primary in primaries {
                #expect(try await client.send(RedisCommand("WAIT", "1", "5000"), to: primary).int64 ?? 0 >= 1, "\(primary)")
            }
            let replicas = try await replicaEndpoints(client)
            #expect(replicas.count == 3, "\(replicas)")
            // A replica counts once the layout shows it online, which a fresh cluster's do only
            // after their first sync: learn the layout again until every read goes to one.
            try await waitUntil("the layout shows every replica online") {
                try await client.refreshClusterLayout()
                let before = client.statistics.replicaReads
                _ = try await client.pipeline(keys.map { RedisCommand("GET", $0) })
                return client.statistics.replicaReads - before == keys.count
            }
            let routedBefore = client.statistics.replicaReads
            func replicaGets() async throws -> Int {
                var calls = 0
                for replica in replicas { calls += try await commandCalls("get", on: replica, client) + commandCalls("mget", on: replica, client) }
                return calls
            }
            let before = try await replicaGets()
            let values = try await client.pipeline(keys.map { RedisCommand("GET", $0) })
            #expect(values.map(\.string) == keys.map { "v-\($0)" })
            let together = try await client.send(RedisCommand("MGET", arguments: keys))
            #expect(together.array?.map(\.string) == keys.map { "v-\($0)" })
            let after = try await replicaGets()
            let mgetSlots = Set(keys.map { RedisHashSlot(key: $0) }).count
            #expect(after - before >= keys.count + mgetSlots, "\(after - before) reads on the replicas")
            #expect(client.statistics.replicaReads - routedBefore == keys.count + mgetSlots)
            #expect(client.statistics.movedRedirects == 0)
            _ = try await client.send(RedisCommand("DEL", arguments: keys))
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }

    /// The replicas of the cluster, from `CLUSTER NODES`.
    private func replicaEndpoints(_ client: RedisClient) async throws -> [RedisClient.Endpoint] {
        let primary = try #require(try await client.primaries().first)
        let text = try #require(try await client.send(RedisCommand("CLUSTER", "NODES"), to: primary).string)
        return try text.split(separator: "\n").filter { $0.split(separator: " ").dropFirst(2).first?.contains("slave") == true }.map { line in
            let address = line.split(separator: " ")[1]
            let hostAndPort = address.split(separator: "@").first ?? address
            let colon = try #require(hostAndPort.lastIndex(of: ":"))
            return RedisClient.Endpoint(host: String(hostAndPort[..<colon]), port: try #require(Int(hostAndPort[hostAndPort.index(after: colon)...])))
        }
    }

    /// How many times `node` has run `command`, from `INFO commandstats`.
    private func commandCalls(_ command: String, on node: RedisClient.Endpoint, _ client: RedisClient) async throws -> Int {
        let info = try #require(try await client.send(RedisCommand("INFO", "commandstats"), to: node).string)
        guard let line = info.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("cmdstat_\(command):") }),
              let calls = line.split(separator: ",").first?.split(separator: "=").last else { return 0 }
        return Int(calls) ?? 0
    }

    /// A replica made primary by `CLUSTER FAILOVER` while 8 tasks write: the client follows the
    /// `MOVED` replies to the new primary, no acknowledged write is lost, and writes go on.
    /// The old primary takes its place back at the end.
    @Test(.timeLimit(.minutes(3)))
    func theStoreKeepsWorkingThroughAFailover() async throws {
        try await withClusterClient { client in
            let prefix = uniquePrefix("failover")
            let store = RedisStore(client: client, prefix: prefix)
            let primary = try await client.primaries()[0]
            let replica = try await replicaOf(primary, client)
            try await waitUntil("the replica \(replica) is in sync with \(primary)") {
                let info = try await client.send(RedisCommand("INFO", "replication"), to: replica).string ?? ""
                return info.contains("master_link_status:up")
            }
            let load = Load()
            try await withThrowingTaskGroup(of: Void.self) { group in
                defer { load.stop() }
                for worker in 0..<8 { group.addTask { try await load.write(worker, store) } }
                try await waitUntil("200 writes before the failover") { load.acknowledgedCount >= 200 }
                let reply = try await client.send(RedisCommand("CLUSTER", "FAILOVER"), to: replica)
                #expect(reply.string == "OK")
                try await waitUntil("\(replica) to become a primary") { try await role(of: replica, client) == "master" }
                let promoted = load.acknowledgedCount
                try await waitUntil("200 writes after the failover") { load.acknowledgedCount >= promoted + 200 }
                load.stop()
                try await group.waitForAll()
            }
            let failures = load.failures.withLock { $0 }
            #expect(failures.allSatisfy { $0.isRetryable }, "\(failures.prefix(3))")
            #expect(failures.count <= 8, "\(failures.count) writes failed, such as \(failures.prefix(3))")
            let keys = load.acknowledged.withLock { $0 }
            let entries = try await store.readBatch(keys)
            let lost = zip(keys, entries).filter { $0.1 == nil }.map(\.0)
            #expect(lost.isEmpty, "\(lost.count) of \(keys.count) acknowledged writes lost, such as \(lost.prefix(3))")
            #expect(client.statistics.movedRedirects > 0)
            try await client.refreshClusterLayout()
            #expect(try await client.primaries().contains(replica))
            #expect(try await store.count() == keys.count)
            // The old primary takes over again, so that the cluster ends as it began (asked
            // again every 5 s: a manual failover requested while the replica still catches up
            // times out).
            try await waitUntil("the old primary \(primary) to become a primary again") {
                if try await role(of: primary, client) == "master" { return true }
                let info = try await client.send(RedisCommand("INFO", "replication"), to: primary).string ?? ""
                if info.contains("master_link_status:up") {
                    _ = try await client.send(RedisCommand("CLUSTER", "FAILOVER"), to: primary)
                    for _ in 0..<50 where try await role(of: primary, client) != "master" { try await Task.sleep(for: .milliseconds(100)) }
                }
                return try await role(of: primary, client) == "master"
            }
            try await deleteClusterKeys(withPrefix: prefix, client: client)
        }
    }

    /// A slot migrated with `CLUSTER SETSLOT` and `MIGRATE` while 4 tasks write and read keys
    /// of it: keys already moved are answered through `ASK` (sent again after `ASKING` on the
    /// importing node), new keys land there too, and once the slot is handed over the client
    /// follows `MOVED`. Every value reads back as written.
    @Test(.timeLimit(.minutes(3)))
    func aSlotMigratedUnderLoadIsFollowedThroughAsk() async throws {
        try await withClusterClient { client in
            let tag = "{ask-\(UInt32.random(in: 0...UInt32.max))}"
            let slot = RedisHashSlot(key: tag)
            let primaries = try await client.primaries()
            var source: RedisClient.Endpoint?
            for primary in primaries {
                do {
                    _ = try await client.send(RedisCommand("GET", tag), to: primary)
                    source = primary
                } catch let error as RedisClientError where error.serverError?.prefix == "MOVED" {
                    continue
                }
            }
            let from = try #require(source, "no primary serves slot \(slot)")
            let to = try #require(primaries.first { $0 != from })
            let fromID = try #require(try await client.send(RedisCommand("CLUSTER", "MYID"), to: from).string)
            let toID = try #require(try await client.send(RedisCommand("CLUSTER", "MYID"), to: to).string)
            let keys = (0..<100).map { "\(tag)key-\($0)" }
            _ = try await client.pipeline(keys.map { RedisCommand("SET", $0, "v-\($0)") })

            let run = MigrationRun()
            try await withThrowingTaskGroup(of: Int.self) { group in
                defer { run.stop.store(true, ordering: .releasing) }
                for worker in 0..<4 {
                    group.addTask {
                        var count = 0
                        while !run.stop.load(ordering: .acquiring) {
                            let key = "\(tag)load-\(worker)-\(count)"
                            _ = try await client.send(RedisCommand("SET", key, "w-\(count)"))
                            let read = try await client.send(RedisCommand("GET", key)).string
                            if read != "w-\(count)" { run.mismatches.withLock { $0.append("\(key): \(read ?? "nil")") } }
                            count += 1
                        }
                        return count
                    }
                }
                _ = try await client.send(RedisCommand("CLUSTER", "SETSLOT", Int(slot.rawValue), "IMPORTING", fromID), to: to)
                _ = try await client.send(RedisCommand("CLUSTER", "SETSLOT", Int(slot.rawValue), "MIGRATING", toID), to: from)
                _ = try await client.send(migrate(Array(keys[..<50]), to: to), to: from)

                let asksBefore = client.statistics.askRedirects
                let replies = try await client.pipeline(keys.map { RedisCommand("GET", $0) })
                #expect(replies.map(\.string) == keys.map { "v-\($0)" })
                for key in keys[..<10] { #expect(try await client.send(RedisCommand("GET", key)).string == "v-\(key)") }
                _ = try await client.send(RedisCommand("SET", "\(tag)new", "fresh"))
                #expect(try await client.send(RedisCommand("GET", "\(tag)new")).string == "fresh")
                #expect(client.statistics.askRedirects >= asksBefore + 60)

                // Everything else in the slot, the load's keys among them, then the handover.
                while true {
                    let left = try await client.send(RedisCommand("CLUSTER", "GETKEYSINSLOT", Int(slot.rawValue), 100), to: from)
                    let names = left.array?.compactMap(\.string) ?? []
                    if names.isEmpty { break }
                    _ = try await client.send(migrate(names, to: to), to: from)
                }
                let movedBefore = client.statistics.movedRedirects
                for primary in [to, from] + primaries.filter({ $0 != to && $0 != from }) {
                    _ = try await client.send(RedisCommand("CLUSTER", "SETSLOT", Int(slot.rawValue), "NODE", toID), to: primary)
                }
                let after = try await client.pipeline(keys.map { RedisCommand("GET", $0) })
                #expect(after.map(\.string) == keys.map { "v-\($0)" })
                #expect(client.statistics.movedRedirects > movedBefore)
                try await Task.sleep(for: .milliseconds(200))
                run.stop.store(true, ordering: .releasing)
                var operations = 0
                for try await count in group { operations += count }
                #expect(operations > 0)
            }
            #expect(run.mismatches.withLock { $0 }.isEmpty, "\(run.mismatches.withLock { $0.prefix(3) })")
            try await deleteClusterKeys(withPrefix: tag, client: client)
        }
    }

    // MARK: Helpers

    /// `MIGRATE host port "" 0 5000 KEYS …`.
    private func migrate(_ keys: [String], to endpoint: RedisClient.Endpoint) -> RedisCommand {
        RedisCommand("MIGRATE", arguments: [endpoint.host, String(endpoint.port), "", "0", "5000", "KEYS"] + keys)
    }

    /// The first replica of `primary`, from `CLUSTER REPLICAS`.
    private func replicaOf(_ primary: RedisClient.Endpoint, _ client: RedisClient) async throws -> RedisClient.Endpoint {
        let id = try #require(try await client.send(RedisCommand("CLUSTER", "MYID"), to: primary).string)
        let lines = try await client.send(RedisCommand("CLUSTER", "REPLICAS", id), to: primary).array?.compactMap(\.string) ?? []
        let address = try #require(lines.first?.split(separator: " ").dropFirst().first, "\(primary) has no replica: \(lines)")
        let hostAndPort = address.split(separator: "@").first ?? address
        let colon = try #require(hostAndPort.lastIndex(of: ":"))
        return RedisClient.Endpoint(host: String(hostAndPort[..<colon]), port: try #require(Int(hostAndPort[hostAndPort.index(after: colon)...])))
    }

    /// `master` or `slave`, from `ROLE`.
    private func role(of node: RedisClient.Endpoint, _ client: RedisClient) async throws -> String? {
        try await client.send(RedisCommand("ROLE"), to: node).array?.first?.string
    }

    /// Waits up to 60 s for `condition`, then fails saying what did not happen.
    private func waitUntil(_ what: String, _ condition: () async throws -> Bool) async throws {
        for _ in 0..<600 {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw WaitFailure(description: "\(what) did not happen within 60 s")
    }

    struct WaitFailure: Error, CustomStringConvertible { let description: String }

    /// What the migration test's tasks share.
    final class MigrationRun: Sendable {
        let stop = Atomic<Bool>(false)
        let mismatches = Mutex<[String]>([])
    }

    /// Writing tasks, and what they saw.
    final class Load: Sendable {
        let acknowledged = Mutex<[StoreKey]>([])
        let failures = Mutex<[StoreError]>([])
        private let stopped = Atomic<Bool>(false)

        var acknowledgedCount: Int { acknowledged.withLock { $0.count } }
        func stop() { stopped.store(true, ordering: .releasing) }

        func write(_ worker: Int, _ store: RedisStore) async throws {
            var count = 0
            while !stopped.load(ordering: .acquiring) {
                let key = StoreKey(stringLiteral: "w\(worker)/\(count)")
                count += 1
                do {
                    try await store.set(Data(repeating: UInt8(worker), count: 100), for: key)
                    acknowledged.withLock { $0.append(key) }
                } catch let error as StoreError {
                    failures.withLock { $0.append(error) }
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
        }
    }
}
