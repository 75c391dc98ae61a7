import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import Trove
import TroveConformance
import TroveS3
import TroveS3Client
import TroveTestSupport

/// S3Store on a SeaweedFS cluster of separate processes (a master, three volume servers, a
/// filer, an S3 gateway; every volume on two servers): a part of the contract, then one volume
/// server killed with SIGKILL, after which every object written before reads back whole.
@Suite("S3Store on a SeaweedFS cluster", .enabled(if: Weed.isAvailable, Weed.absence))
struct S3ClusterTests {
    /// The checks run on the cluster: values, metadata, conditions, listing, batches, streams
    /// and concurrency (the whole contract runs on the single server of S3ConformanceTests;
    /// these are the clauses that go through the volume servers and the filer differently
    /// when they are separate processes).
    static let checks = [
        "missingKeyReadsNil", "emptyValue", "binaryValues", "overwriteReplacesValue", "metadataIsAccurate", "readOptions",
        "writeIfMatches", "conditionalDelete", "listingOrder", "delimiterListing", "paging", "keyAndPrefixCoexist",
        "countAndIsEmpty", "batches", "largeStreamedValue", "streamedWriteAtomicity", "concurrentCompareAndSwap",
        "sharedAcrossInstances",
    ]

    @Test(.timeLimit(.minutes(5)))
    func conformanceThenAVolumeServerKilled() async throws {
        try await withScratchDirectory("trove-s3-cluster") { directory in
            try await withOwnSeaweedFS(try OwnSeaweedCluster(directory: directory)) { cluster in
                try await exercise(cluster)
            }
        }
    }

    private func exercise(_ cluster: OwnSeaweedCluster) async throws {
        try await cluster.waitForVolumeServers()
        let bucket = "trove-cluster-" + UUID().uuidString.lowercased().prefix(8)
        try await cluster.waitUntilWritable(bucket: bucket)
        let client = try cluster.client()
        try await expectEveryListenerOnLoopback(cluster)

        // Part of the contract, four checks at a time, each in a namespace of its own.
        let skipped = try await withThrowingTaskGroup(of: String?.self) { group in
            var pending = Self.checks[...]
            func next() throws {
                guard let name = pending.popFirst() else { return }
                let check = try #require(ContractCheck.named(name), "no check named \(name)")
                group.addTask {
                    let store = S3Store(bucket: bucket, prefix: "conformance/", client: client)
                    var environment = ConformanceEnvironment(
                        largeValueSize: 16 << 20, maximumKeyByteCount: 1024 - 12 - ConformanceEnvironment.namespaceByteCount,
                        reopen: { @Sendable in S3Store(bucket: bucket, prefix: "conformance/", client: client) },
                        isolatesEachCheck: true)
                    environment.refusedKeys = S3ConformanceTests.seaweedFSRefusedKeys
                    do {
                        if case .skipped(let reason) = try await check.run(against: store, environment: environment) {
                            return "\(name): \(reason)"
                        }
                    } catch let failure as ConformanceFailure {
                        Issue.record("\(name) on the cluster: \(failure.debugDescription)")
                    }
                    return nil
                }
            }
            for _ in 0..<4 { try next() }
            var skipped: [String] = []
            while let outcome = try await group.next() {
                if let outcome { skipped.append(outcome) }
                try next()
            }
            return skipped
        }
        #expect(skipped.isEmpty, "checks chosen because they apply were skipped: \(skipped)")

        // Objects of many sizes, one of them streamed in parts.
        let store = S3Store(bucket: bucket, prefix: "replicated/", client: client)
        var values: [StoreKey: Data] = [:]
        for index in 0..<40 {
            let size = [0, 1, 100, 4 << 10, 300 << 10, 1 << 20, 3 << 20][index % 7] + index
            values[StoreKey(stringLiteral: "object/\(index)")] = patternedBytes(size, seed: UInt64(index))
        }
        let results = try await store.writeBatch(values.map { BatchWrite($0.key, $0.value) })
        for result in results { _ = try result.get() }
        let streamed = PatternChunks(count: 20)
        _ = try await store.write(contentsOf: streamed, for: "streamed", options: .default)

        // Every volume of the bucket is on two volume servers before one is killed.
        let placement = try await volumePlacement(cluster, collection: bucket)
        #expect(!placement.isEmpty, "the master lists no volume of the bucket")
        for (volume, servers) in placement {
            #expect(servers.count == 2, "volume \(volume) is on \(servers.sorted()), not on two servers")
        }

        // The volume server holding the most of the bucket's volumes, and the objects with a
        // chunk on one of them (from the filer's metadata of each object).
        let victim = cluster.volumes.max { one, other in
            placement.values.filter { $0.contains(one.address) }.count < placement.values.filter { $0.contains(other.address) }.count
        }!
        let victimVolumes = Set(placement.filter { $0.value.contains(victim.address) }.keys)
        var onVictim = 0
        for name in values.keys.map(\.rawValue) + ["streamed"] {
            let volumes = try await chunkVolumes(cluster, path: "/buckets/\(bucket)/\(store.prefix)\(name)")
            if !volumes.isDisjoint(with: victimVolumes) { onVictim += 1 }
        }
        #expect(onVictim > 0, "no object has a chunk on the volume server to kill: the kill would prove nothing")
        await victim.kill()
        #expect(!victim.isRunning)

        for (key, value) in values {
            let entry = try #require(try await store.read(key), "\(key) is gone after a volume server was killed")
            #expect(entry.value == value, "\(key) reads back different after a volume server was killed")
        }
        let entry = try #require(try await store.readStream("streamed", chunkSize: 1 << 20))
        let (size, digest) = try await sizeAndDigest(of: entry)
        #expect(size == streamed.size && digest == streamed.digest, "the streamed value reads back different after a volume server was killed")
        var listed = 0
        for try await _ in store.list(.all, pageSize: 100) { listed += 1 }
        #expect(listed == values.count + 1)
        print("SeaweedFS cluster: \(placement.count) volumes of the bucket, \(victimVolumes.count) of them on the killed volume server, "
              + "which held chunks of \(onVictim) of the \(values.count + 1) objects; all read back whole")

        // Cleanup, with one volume server down (the cluster's files go with its directory).
        try await S3TestServer.deleteBucket(bucket, client: client)
    }

    /// Every TCP listener of every process of the cluster is on 127.0.0.1 (from `ss`).
    private func expectEveryListenerOnLoopback(_ cluster: OwnSeaweedCluster) async throws {
        let outcome = try await ChildProcess.run(URL(fileURLWithPath: "/usr/bin/env"), ["ss", "-ltnpH"])
        for process in cluster.processes {
            let pid = try #require(process.pid, "\(process.name) is not running")
            let listeners = outcome.outputLines.filter { $0.contains("pid=\(pid),") }
            #expect(!listeners.isEmpty, "ss shows no listener of \(process.name) (pid \(pid))")
            for line in listeners {
                let local = line.split(separator: " ", omittingEmptySubsequences: true)[3]
                #expect(local.hasPrefix("127.0.0.1:"), "a listener of \(process.name) on \(local): \(line)")
            }
        }
    }

    /// The volumes holding the chunks of the filer entry at `path`.
    private func chunkVolumes(_ cluster: OwnSeaweedCluster, path: String) async throws -> Set<Int> {
        var request = HTTPClientRequest(url: cluster.filerURL + path + "?metadata=true")
        request.headers.add(name: "Accept", value: "application/json")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
        let body = try await response.body.collect(upTo: 4 << 20)
        struct Entry: Decodable {
            struct Chunk: Decodable { struct FileID: Decodable { var volume_id: Int }; var fid: FileID }
            var chunks: [Chunk]?
        }
        guard response.status == .ok else { throw TestFailure("the filer answered \(response.status) for \(path)") }
        let entry = try JSONDecoder().decode(Entry.self, from: Data(body.readableBytesView))
        return Set((entry.chunks ?? []).map(\.fid.volume_id))
    }

    /// The volume servers holding each volume of `collection`, from the master's `/vol/status`.
    private func volumePlacement(_ cluster: OwnSeaweedCluster, collection: String) async throws -> [Int: Set<String>] {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: cluster.masterURL + "/vol/status"), timeout: .seconds(5))
        let body = try await response.body.collect(upTo: 4 << 20)
        struct Status: Decodable {
            struct Volumes: Decodable { var DataCenters: [String: [String: [String: [Volume]?]]] }
            struct Volume: Decodable { var Id: Int; var Collection: String }
            var Volumes: Volumes
        }
        let status = try JSONDecoder().decode(Status.self, from: Data(body.readableBytesView))
        var placement: [Int: Set<String>] = [:]
        for racks in status.Volumes.DataCenters.values {
            for nodes in racks.values {
                for (node, volumes) in nodes {
                    for volume in volumes ?? [] where volume.Collection == collection { placement[volume.Id, default: []].insert(node) }
                }
            }
        }
        return placement
    }
}
