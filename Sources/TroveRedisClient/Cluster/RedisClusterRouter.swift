import Logging
import NIOCore
import Synchronization

/// What a cluster client does beneath ``RedisClient``: the map from slots to primaries, one
/// single-server client per node (made on first use, its connections shared by every task),
/// and the redirects and retries of every command.
final class RedisClusterRouter: Sendable {
    let configuration: RedisClient.ClusterConfiguration
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let counters: RedisClient.Counters
    /// The TLS context every node's connections share.
    private let tlsContext: RedisTLSContext?
    private let state = Mutex(State())
    /// Whose turn it is among a primary's replicas.
    private let replicaTurn = Atomic<Int>(0)

    private struct State {
        /// For each slot, the index in `nodes` of its primary, or -1 while unknown.
        var owners = [Int32](repeating: -1, count: RedisHashSlot.count)
        /// Every node met so far, primaries and former primaries; never removed before shutdown.
        var nodes: [Node] = []
        var indexes: [RedisClient.Endpoint: Int] = [:]
        /// The indexes of the nodes that owned slots at the last refresh, in slot order.
        var primaries: [Int] = []
        /// For each primary's index, the indexes of its replicas that the last refresh showed
        /// online (kept only when reads may go to replicas).
        var replicas: [Int: [Int]] = [:]
        var refresh: Task<Void, any Error>?
        var lastRefresh: ContinuousClock.Instant?
        var isShutDown = false
    }

    private struct Node: Sendable {
        let endpoint: RedisClient.Endpoint
        let client: RedisClient
    }

    init(configuration: RedisClient.ClusterConfiguration, eventLoopGroup: any EventLoopGroup, logger: Logger, counters: RedisClient.Counters) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.counters = counters
        self.tlsContext = configuration.node.tls.map(RedisTLSContext.init)
    }

    // MARK: Nodes

    /// The index and client of the node at `endpoint`, made now if it is new.
    private func node(_ endpoint: RedisClient.Endpoint, in state: inout State) -> Int {
        if let index = state.indexes[endpoint] { return index }
        var node = configuration.node
        node.host = endpoint.host
        node.port = endpoint.port
        // Every node, since a primary may become a replica and a replica a primary; READONLY
        // changes nothing on a primary.
        node.sendsReadOnly = configuration.readFrom == .preferReplica
        let client = RedisClient(configuration: node, eventLoopGroup: eventLoopGroup, logger: logger, counters: counters,
                                 tlsContext: tlsContext)
        state.nodes.append(Node(endpoint: endpoint, client: client))
        state.indexes[endpoint] = state.nodes.count - 1
        return state.nodes.count - 1
    }

    /// The client of the node at `endpoint`.
    func client(for endpoint: RedisClient.Endpoint) throws -> RedisClient {
        try state.withLock { state in
            if state.isShutDown { throw RedisClientError(.shutDown, "the client was shut down") }
            return state.nodes[node(endpoint, in: &state)].client
        }
    }

    /// The primaries, as the last refresh of the layout found them (learning it first if needed).
    func primaries() async throws -> [RedisClient.Endpoint] {
        try await ensureLayout()
        return state.withLock { state in state.primaries.map { state.nodes[$0].endpoint } }
    }

    // MARK: Sending

    /// One command or a pipeline's worth, each to the primary of its slot; returns the final
    /// replies in the order of `commands`, error replies among them.
    ///
    /// `MGET`, `MSET`, `DEL`, `UNLINK`, `EXISTS` and `TOUCH` over keys of several slots are
    /// split into one command per slot, their replies put back together (the values in the
    /// order of the keys, the counts added up); the split command is not atomic.
    func execute(_ commands: [RedisCommand]) async throws -> [RESPValue] {
        if let (expanded, plans) = Self.expand(commands) {
            return Self.reassemble(try await route(expanded), plans)
        }
        return try await route(commands)
    }

    private func route(_ commands: [RedisCommand]) async throws -> [RESPValue] {
        guard !commands.isEmpty else { return [] }
        try await ensureLayout()
        let slots = commands.map(\.keySlot)
        let mayGoToReplica = configuration.readFrom == .preferReplica ? commands.map(\.isReadOnly) : []
        // Reads that a replica could not answer: they go to the primary from then on.
        var primaryOnly = Set<Int>()
        var replies = [RESPValue](repeating: .null, count: commands.count)
        var pending = Array(commands.indices)
        var asking: [Int: RedisClient.Endpoint] = [:]
        var redirects = [Int](repeating: 0, count: commands.count)
        var retries = 0
        while !pending.isEmpty {
            let groups = try group(pending, slots: slots, asking: asking, replicaReads: { index in
                mayGoToReplica.isEmpty ? false : mayGoToReplica[index] && !primaryOnly.contains(index)
            })
            let outcomes = await send(groups, commands)
            var next: [Int] = []
            var mustWait = false, mustRefresh = false
            var unreachable: RedisClientError?
            for (group, outcome) in zip(groups, outcomes) {
                let values: [RESPValue]
                switch outcome {
                case .failure(let error as RedisClientError) where group.isReplica && error.code != .shutDown:
                    // A replica that cannot be reached, or whose connection failed under reads:
                    // the reads (safe to repeat) go to the primary, and the layout is learnt again.
                    next += group.entries.map(\.index)
                    primaryOnly.formUnion(group.entries.map(\.index))
                    mustRefresh = true
                    continue
                case .failure(let error as RedisClientError) where error.code == .connectFailed:
                    // Not sent: the node is down or not there any more; learn the layout again.
                    next += group.entries.map(\.index)
                    mustWait = true
                    mustRefresh = true
                    unreachable = error
                    continue
                case .failure(let error):
                    throw error
                case .success(let success):
                    values = success
                }
                var position = 0
                for entry in group.entries {
                    if entry.asking { position += 1 }  // ASKING's own +OK
                    let value = values[position]
                    position += 1
                    asking[entry.index] = nil
                    guard case .error(let error) = value else {
                        replies[entry.index] = value
                        continue
                    }
                    switch error.prefix {
                    case "MOVED", "ASK":
                        guard let (slot, endpoint) = Self.redirect(error) else {
                            replies[entry.index] = value
                            continue
                        }
                        redirects[entry.index] += 1
                        if redirects[entry.index] > configuration.maximumRedirects {
                            throw RedisClientError(.tooManyRedirects, "\(commands[entry.index].name) was redirected more than "
                                                   + "\(configuration.maximumRedirects) times; the last redirect: \(error.message)",
                                                   serverError: error)
                        }
                        if error.prefix == "MOVED" {
                            counters.moved.add(1, ordering: .relaxed)
                            moved(slot, to: endpoint)
                            mustRefresh = true
                        } else {
                            counters.asked.add(1, ordering: .relaxed)
                            asking[entry.index] = endpoint
                        }
                        next.append(entry.index)
                    case "TRYAGAIN", "CLUSTERDOWN", "LOADING", "BUSY", "MASTERDOWN":
                        replies[entry.index] = value
                        next.append(entry.index)
                        if group.isReplica {
                            // A replica still loading, or busy: the read goes to the primary, at once.
                            primaryOnly.insert(entry.index)
                        } else {
                            mustWait = true
                        }
                        if error.prefix != "TRYAGAIN" && error.prefix != "BUSY" { mustRefresh = true }
                    default:
                        replies[entry.index] = value
                    }
                }
            }
            if next.isEmpty { break }
            if mustWait {
                retries += 1
                if retries > configuration.maximumRetries {
                    // The last transient replies are final; commands that could not be sent fail.
                    if let unreachable, next.contains(where: { if case .error = replies[$0] { return false }; return true }) {
                        throw unreachable
                    }
                    break
                }
                try await Task.sleep(for: backoff(afterRetries: retries))
                if mustRefresh { try? await refreshLayout() }
            } else if mustRefresh {
                refreshInBackground()
            }
            pending = next
        }
        return replies
    }

    /// The commands bound for one node, in order; each sent after `ASKING` when `asking`.
    private struct Group: Sendable {
        let client: RedisClient
        /// Whether the node is a replica that reads were sent to.
        let isReplica: Bool
        var entries: [(index: Int, asking: Bool)]
    }

    /// The commands of `pending` grouped by the node each goes to: the node an `ASK` named,
    /// else the primary of the command's slot, or one of its replicas for a command that
    /// `replicaReads` lets go to one.
    private func group(
        _ pending: [Int], slots: [RedisHashSlot?], asking: [Int: RedisClient.Endpoint], replicaReads: (Int) -> Bool
    ) throws -> [Group] {
        try state.withLock { state in
            if state.isShutDown { throw RedisClientError(.shutDown, "the client was shut down") }
            var groups: [Group] = []
            var groupOfNode: [Int: Int] = [:]
            for index in pending {
                let node: Int
                var toReplica = false
                if let endpoint = asking[index] {
                    node = self.node(endpoint, in: &state)
                } else if let slot = slots[index], state.owners[Int(slot.rawValue)] >= 0 {
                    let primary = Int(state.owners[Int(slot.rawValue)])
                    if replicaReads(index), let replicas = state.replicas[primary], !replicas.isEmpty {
                        node = replicas[replicaTurn.add(1, ordering: .relaxed).newValue % replicas.count]
                        toReplica = true
                        counters.replicaReads.add(1, ordering: .relaxed)
                    } else {
                        node = primary
                    }
                } else if let first = state.primaries.first {
                    // No key (or a slot no primary serves yet): any primary answers, or redirects.
                    node = slots[index].map { state.primaries[Int($0.rawValue) % state.primaries.count] } ?? first
                } else {
                    throw RedisClientError(.connectFailed, "no node of \(configuration) serves any slot")
                }
                // Reads sent to a replica form groups of their own, which fail over to the
                // primary together.
                let groupKey = node * 2 + (toReplica ? 1 : 0)
                if let existing = groupOfNode[groupKey] {
                    groups[existing].entries.append((index, asking[index] != nil))
                } else {
                    groupOfNode[groupKey] = groups.count
                    groups.append(Group(client: state.nodes[node].client, isReplica: toReplica, entries: [(index, asking[index] != nil)]))
                }
            }
            return groups
        }
    }

    /// Sends each group as one pipeline to its node, all at once.
    private func send(_ groups: [Group], _ commands: [RedisCommand]) async -> [Result<[RESPValue], any Error>] {
        func pipeline(_ group: Group) -> [RedisCommand] {
            var batch: [RedisCommand] = []
            batch.reserveCapacity(group.entries.count)
            for entry in group.entries {
                if entry.asking { batch.append(RedisCommand("ASKING")) }
                batch.append(commands[entry.index])
            }
            return batch
        }
        if groups.count == 1 {
            let group = groups[0]
            do {
                if group.entries.count == 1 && !group.entries[0].asking {
                    return [.success([try await group.client.sendRaw(commands[group.entries[0].index])])]
                }
                return [.success(try await group.client.pipelineRaw(pipeline(group)))]
            } catch {
                return [.failure(error)]
            }
        }
        return await withTaskGroup(of: (Int, Result<[RESPValue], any Error>).self) { tasks in
            for (number, group) in groups.enumerated() {
                let batch = pipeline(group)
                tasks.addTask {
                    do {
                        return (number, .success(try await group.client.pipelineRaw(batch)))
                    } catch {
                        return (number, .failure(error))
                    }
                }
            }
            var outcomes = [Result<[RESPValue], any Error>](repeating: .success([]), count: groups.count)
            for await (number, outcome) in tasks { outcomes[number] = outcome }
            return outcomes
        }
    }

    /// The slot and the node of a `MOVED 3999 127.0.0.1:6381` or `ASK …` reply.
    static func redirect(_ error: RedisServerError) -> (RedisHashSlot, RedisClient.Endpoint)? {
        let parts = error.message.split(separator: " ")
        guard parts.count >= 3, let number = UInt16(parts[1]), let slot = RedisHashSlot(rawValue: number),
              let endpoint = RedisClient.Endpoint(parsing: parts[2]) else { return nil }
        return (slot, endpoint)
    }

    private func moved(_ slot: RedisHashSlot, to endpoint: RedisClient.Endpoint) {
        state.withLock { state in
            guard !state.isShutDown else { return }
            state.owners[Int(slot.rawValue)] = Int32(node(endpoint, in: &state))
        }
    }

    /// A random wait of between half and all of `minimum × 2^(retries - 1)`, at most the maximum.
    private func backoff(afterRetries retries: Int) -> Duration {
        let minimum = max(configuration.retryBackoffMinimum, .nanoseconds(1))
        let maximum = max(configuration.retryBackoffMaximum, minimum)
        let ceiling = min(maximum, minimum * (1 << min(retries - 1, 30)))
        return ceiling * Double.random(in: 0.5...1)
    }

    // MARK: Learning the layout

    private func ensureLayout() async throws {
        let known = try state.withLock { state in
            if state.isShutDown { throw RedisClientError(.shutDown, "the client was shut down") }
            return !state.primaries.isEmpty
        }
        if !known { try await refreshLayout() }
    }

    /// Learns which primary serves which slot, from the first node that answers; a refresh
    /// already under way is joined, not repeated.
    func refreshLayout() async throws {
        let task: Task<Void, any Error> = state.withLock { state in
            if let refresh = state.refresh { return refresh }
            let refresh = Task {
                defer { self.state.withLock { $0.refresh = nil } }
                try await self.discover()
            }
            state.refresh = refresh
            state.lastRefresh = .now
            return refresh
        }
        try await task.value
    }

    /// A refresh after a `MOVED`, unless one is under way or ran within the last 100 ms.
    private func refreshInBackground() {
        let due = state.withLock { state in
            state.refresh == nil && !state.isShutDown && (state.lastRefresh.map { .now - $0 > .milliseconds(100) } ?? true)
        }
        if due { Task { try? await self.refreshLayout() } }
    }

    private func discover() async throws {
        let candidates: [RedisClient.Endpoint] = state.withLock { state in
            var seen = Set<RedisClient.Endpoint>()
            let known = state.primaries.map { state.nodes[$0].endpoint } + configuration.seeds + state.nodes.map(\.endpoint)
            return known.filter { seen.insert($0).inserted }
        }
        var failures: [String] = []
        var tlsFailure: RedisClientError?
        for endpoint in candidates {
            do {
                let client = try client(for: endpoint)
                let ranges = try await Self.layout(from: client, at: endpoint, overTLS: tlsContext != nil)
                apply(ranges)
                logger.debug("learnt the cluster layout", metadata: ["from": "\(endpoint)", "ranges": "\(ranges.count)",
                                                                     "replicas": "\(Set(ranges.flatMap(\.replicas)).count)"])
                return
            } catch let error as RedisClientError where error.code == .shutDown {
                throw error
            } catch {
                if let error = error as? RedisClientError, error.code == .tlsHandshakeFailed || error.code == .invalidTLSConfiguration {
                    tlsFailure = tlsFailure ?? error
                    failures.append(error.message)  // it names the node; the TLS library's own text adds nothing
                } else {
                    failures.append("\(endpoint): \(error)")
                }
            }
        }
        // A TLS failure does not heal by waiting: its code, not connectFailed, tells the caller.
        var error = RedisClientError(tlsFailure?.code ?? .connectFailed, "no node of \(configuration) told the cluster's layout ("
                                     + failures.joined(separator: "; ") + ")", underlying: tlsFailure?.underlying)
        error.tlsFailure = tlsFailure?.tlsFailure
        throw error
    }

    private func apply(_ ranges: [SlotRange]) {
        state.withLock { state in
            guard !state.isShutDown else { return }
            var owners = [Int32](repeating: -1, count: RedisHashSlot.count)
            var primaries: [Int] = []
            var replicas: [Int: [Int]] = [:]
            for range in ranges.sorted(by: { $0.slots.lowerBound < $1.slots.lowerBound }) {
                let node = self.node(range.primary, in: &state)
                if !primaries.contains(node) { primaries.append(node) }
                if configuration.readFrom == .preferReplica, replicas[node] == nil {
                    replicas[node] = range.replicas.filter { $0 != range.primary }.map { self.node($0, in: &state) }
                }
                for slot in range.slots where slot >= 0 && slot < RedisHashSlot.count { owners[slot] = Int32(node) }
            }
            state.owners = owners
            state.primaries = primaries
            state.replicas = replicas
        }
    }

    /// A range of slots, its primary, and the replicas of that primary that were online.
    struct SlotRange: Equatable {
        var slots: ClosedRange<Int>
        var primary: RedisClient.Endpoint
        var replicas: [RedisClient.Endpoint] = []
    }

    /// The slot ranges and their primaries, by `CLUSTER SHARDS`, or `CLUSTER SLOTS` where the
    /// server has no `SHARDS` (before Redis 7). `CLUSTER SLOTS`, `MOVED` and `ASK` give the
    /// port of the connection's kind (TLS or not); `CLUSTER SHARDS` gives both, and `overTLS`
    /// picks its `tls-port`.
    static func layout(from client: RedisClient, at endpoint: RedisClient.Endpoint, overTLS: Bool = false) async throws
        -> [SlotRange]
    {
        let shards = try await client.sendRaw(RedisCommand("CLUSTER", "SHARDS"))
        if case .error(let error) = shards {
            let message = error.message.lowercased()
            guard message.contains("unknown subcommand") || message.contains("unknown command") else {
                throw RedisClientError(.server, "CLUSTER SHARDS on \(endpoint): \(error.message)", serverError: error)
            }
            let slots = try await client.sendRaw(RedisCommand("CLUSTER", "SLOTS"))
            if case .error(let error) = slots {
                throw RedisClientError(.server, "CLUSTER SLOTS on \(endpoint): \(error.message)", serverError: error)
            }
            return try parseSlots(slots, queried: endpoint)
        }
        return try parseShards(shards, queried: endpoint, overTLS: overTLS)
    }

    /// `CLUSTER SHARDS`: per shard, `slots` (start and end pairs) and `nodes` (maps with
    /// `endpoint` or `ip`, `port` and/or `tls-port`, `role`, `health`). A client over TLS takes
    /// the `tls-port` (a cluster with `tls-cluster yes` gives its nodes' TLS ports there, and
    /// their plain ports, if any, as `port`); a plain client takes `port`. Replicas count when
    /// their `health` is `online` (or not given).
    static func parseShards(_ reply: RESPValue, queried: RedisClient.Endpoint, overTLS: Bool = false) throws -> [SlotRange] {
        guard let shards = reply.array else { throw malformed("CLUSTER SHARDS", reply) }
        func endpoint(of node: [String: RESPValue]) -> RedisClient.Endpoint? {
            let host = node["endpoint"]?.string.flatMap { $0.isEmpty || $0 == "?" ? nil : $0 } ?? node["ip"]?.string
            return Self.endpoint(host: host, port: overTLS ? node["tls-port"]?.int64 ?? node["port"]?.int64 : node["port"]?.int64,
                                 queried: queried)
        }
        var ranges: [SlotRange] = []
        for shard in shards {
            guard let fields = fields(of: shard), let slots = fields["slots"]?.array, let nodes = fields["nodes"]?.array else {
                throw malformed("CLUSTER SHARDS", reply)
            }
            guard !slots.isEmpty else { continue }
            let members = nodes.compactMap(Self.fields(of:))
            guard let primary = members.first(where: { $0["role"]?.string == "master" }).flatMap(endpoint(of:)) else {
                throw malformed("CLUSTER SHARDS", reply)
            }
            let replicas = members.filter { $0["role"]?.string == "replica" && ($0["health"]?.string ?? "online") == "online" }
                .compactMap(endpoint(of:))
            var index = 0
            while index + 1 < slots.count {
                guard let start = slots[index].int64, let end = slots[index + 1].int64, start <= end else {
                    throw malformed("CLUSTER SHARDS", reply)
                }
                ranges.append(SlotRange(slots: Int(start)...Int(end), primary: primary, replicas: replicas))
                index += 2
            }
        }
        guard !ranges.isEmpty else { throw malformed("CLUSTER SHARDS", reply) }
        return ranges
    }

    /// `CLUSTER SLOTS`: per range, start, end, then the primary's `[host, port, id, …]` and
    /// each replica's.
    static func parseSlots(_ reply: RESPValue, queried: RedisClient.Endpoint) throws -> [SlotRange] {
        guard let entries = reply.array else { throw malformed("CLUSTER SLOTS", reply) }
        func endpoint(of node: RESPValue) -> RedisClient.Endpoint? {
            guard let parts = node.array, parts.count >= 2 else { return nil }
            return Self.endpoint(host: parts[0].string, port: parts[1].int64, queried: queried)
        }
        var ranges: [SlotRange] = []
        for entry in entries {
            guard let parts = entry.array, parts.count >= 3, let start = parts[0].int64, let end = parts[1].int64, start <= end,
                  let primary = endpoint(of: parts[2])
            else { throw malformed("CLUSTER SLOTS", reply) }
            ranges.append(SlotRange(slots: Int(start)...Int(end), primary: primary, replicas: parts.dropFirst(3).compactMap(endpoint(of:))))
        }
        guard !ranges.isEmpty else { throw malformed("CLUSTER SLOTS", reply) }
        return ranges
    }

    /// A node's endpoint from a layout reply: the host it announces (the queried node's when it
    /// announces none, or `?`) and a port in range; `nil` without one.
    private static func endpoint(host: String?, port: Int64?, queried: RedisClient.Endpoint) -> RedisClient.Endpoint? {
        guard let port, port > 0, port <= 65_535 else { return nil }
        let announced = host.flatMap { $0.isEmpty || $0 == "?" ? nil : $0 }
        return RedisClient.Endpoint(host: announced ?? queried.host, port: Int(port))
    }

    /// The fields of a RESP3 map, or of a RESP2 array of names and values.
    static func fields(of value: RESPValue) -> [String: RESPValue]? {
        var fields: [String: RESPValue] = [:]
        switch value {
        case .map(let pairs):
            for pair in pairs { if let name = pair.key.string { fields[name] = pair.value } }
        case .array(let elements):
            var index = 0
            while index + 1 < elements.count {
                if let name = elements[index].string { fields[name] = elements[index + 1] }
                index += 2
            }
        default:
            return nil
        }
        return fields
    }

    private static func malformed(_ command: String, _ reply: RESPValue) -> RedisClientError {
        RedisClientError(.protocolViolation, "\(command) answered with an unexpected reply: \(String(reply.description.prefix(200)))")
    }

    // MARK: Shutting down

    func shutdown() async {
        let (nodes, refresh): ([Node], Task<Void, any Error>?) = state.withLock { state in
            state.isShutDown = true
            defer { state.nodes = []; state.indexes = [:]; state.primaries = [] }
            return (state.nodes, state.refresh)
        }
        refresh?.cancel()
        for node in nodes { await node.client.shutdown() }
    }
}
