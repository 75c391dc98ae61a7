import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import Foundation
import Testing
import Trove
import TroveS3
import TroveS3Client
import TroveTestSupport

/// S3Store and S3Client on the SeaweedFS of scripts/servers/s3.sh: conditions under races,
/// listing order, presigned URLs, errors, and the server kept on loopback.
@Suite("S3Store on SeaweedFS", .enabled(if: TestServer.s3.isAvailable, TestServer.s3.absence), .freshBucket)
struct S3ServerTests {
    func store(_ prefix: String = UUID().uuidString.lowercased() + "/", options: S3Store.Options = S3Store.Options()) throws -> S3Store {
        S3Store(bucket: try S3TestBucket.name(), prefix: prefix, client: try S3TestServer.client(), options: options)
    }

    @Test func sixteenConcurrentIfAbsentWritesHaveOneWinner() async throws {
        let store = try store()
        for round in 0..<5 {
            let key = StoreKey(stringLiteral: "race/\(round)")
            let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                for writer in 0..<16 {
                    group.addTask {
                        do {
                            _ = try await store.write(Data("writer \(writer)".utf8), for: key, options: WriteOptions(condition: .ifAbsent))
                            return true
                        } catch let error as StoreError where error.code == .conditionFailed {
                            return false
                        }
                    }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            let winners = outcomes.filter { $0 }.count
            #expect(winners == 1, "round \(round): \(winners) of 16 ifAbsent writes succeeded; the server's If-None-Match: * is not atomic")
        }
    }

    @Test func eightTasksOfAHundredIncrementsEndAtEightHundred() async throws {
        let store = try store()
        let key: StoreKey = "counter"
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    for _ in 0..<100 {
                        while true {
                            let current = try await store.read(key)
                            let value = current.map { Int(String(decoding: $0.value, as: UTF8.self))! } ?? 0
                            let condition: WriteCondition = current.map { .ifMatches($0.metadata.etag) } ?? .ifAbsent
                            do {
                                _ = try await store.write(Data(String(value + 1).utf8), for: key, options: WriteOptions(condition: condition))
                                break
                            } catch let error as StoreError where error.code == .conditionFailed {
                                continue
                            }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let final = try #require(try await store.read(key))
        #expect(String(decoding: final.value, as: UTF8.self) == "800")
    }

    @Test func theStoreWalksTheHierarchyOnSeaweedFSAndListsInByteOrder() async throws {
        let store = try store()
        #expect(try await store.effectiveListingOrder() == .hierarchyWalk)
        let names = ["p/a", "p/a/b", "p/a-c", "p/a0", "p/a b", "p/a+c", "p/a.d", "p/a/b/c", "p/a/b-d", "p/b", "p/ሴ", "p/a/b/c d"]
        for name in names { try await store.set(Data(name.utf8), for: StoreKey(stringLiteral: name)) }
        let expected = names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var listed: [String] = []
        for try await element in store.list(try ListQuery(prefix: "p/"), pageSize: 3) { listed.append(element.name) }
        #expect(listed == expected)
        // The server's own flat order differs, which is why the walk is needed.
        let flat = try await store.client.listObjectsV2(bucket: store.bucket, prefix: store.prefix + "p/").objects
            .map { String($0.key.dropFirst(store.prefix.count)) }
        #expect(flat != expected)
    }

    @Test func aPresignedGetReturnsTheValueAndAPresignedPutStoresOne() async throws {
        let store = try store()
        try await store.set(Data("presigned value".utf8), for: "shared/file.txt")
        let url = try #require(try await store.url(for: "shared/file.txt", validFor: .seconds(300)))
        var get = HTTPClientRequest(url: url.absoluteString)
        get.method = .GET
        let response = try await HTTPClient.shared.execute(get, timeout: .seconds(30))
        #expect(response.status.code == 200)
        let body = try await response.body.collect(upTo: 1 << 20)
        #expect(String(buffer: body) == "presigned value")

        let putURL = store.client.presignedURL(method: "PUT", bucket: store.bucket, key: store.prefix + "uploaded", lifetime: .seconds(300))
        var put = HTTPClientRequest(url: putURL.absoluteString)
        put.method = .PUT
        put.body = .bytes(ByteBuffer(string: "uploaded through a URL"))
        let putResponse = try await HTTPClient.shared.execute(put, timeout: .seconds(30))
        #expect(putResponse.status.code == 200)
        #expect(try await store.read("uploaded")?.value == Data("uploaded through a URL".utf8))

        // An expired URL is refused.
        let expired = store.client.presignedURL(bucket: store.bucket, key: store.prefix + "shared/file.txt", lifetime: .seconds(1),
                                                date: Date().addingTimeInterval(-3600))
        var stale = HTTPClientRequest(url: expired.absoluteString)
        stale.method = .GET
        let refused = try await HTTPClient.shared.execute(stale, timeout: .seconds(30))
        #expect(refused.status.code == 403)
    }

    /// Virtual-host addressing (`bucket.domain/key`) on the gateway's domain, which no DNS
    /// entry names: the client connects to the endpoint's address and names the bucket's host
    /// in `Host`, signed. The objects are the ones a path-style client sees.
    @Test func virtualHostAddressingReachesTheSameObjects() async throws {
        let pathStyle = try store()
        let endpoint = try #require(URL(string: try TestServer.s3.require()))
        let port = try #require(endpoint.port)
        let domain = try S3TestServer.variable("TROVE_TEST_S3_DOMAIN")
        var configuration = try S3ClientConfiguration(endpoint: try #require(URL(string: "http://\(domain):\(port)")),
                                                      credentials: try S3TestServer.credentials(), addressing: .virtualHost)
        configuration.connectionAddress = .init(host: try #require(endpoint.host), port: port)
        let virtual = S3Store(bucket: pathStyle.bucket, prefix: pathStyle.prefix, client: S3Client(configuration: configuration))

        try await virtual.set(Data("by virtual host".utf8), for: "virtual/one")
        #expect(try await pathStyle.read("virtual/one")?.value == Data("by virtual host".utf8))
        try await pathStyle.set(Data("by path".utf8), for: "virtual/two")
        #expect(try await virtual.read("virtual/two")?.value == Data("by path".utf8))
        var listed: [String] = []
        for try await element in virtual.list(try ListQuery(prefix: "virtual/")) { listed.append(element.name) }
        #expect(listed == ["virtual/one", "virtual/two"])
        let first = try #require(try await virtual.metadata(for: "virtual/one"))
        try await virtual.set(Data("replaced".utf8), for: "virtual/one", condition: .ifMatches(first.etag))
        await #expect(throws: StoreError.self) {
            try await virtual.set(Data("again".utf8), for: "virtual/one", condition: .ifAbsent)
        }
        #expect(try await pathStyle.read("virtual/one")?.value == Data("replaced".utf8))

        // A presigned URL names the bucket's host; sent to the address with that Host, it is good.
        let url = try #require(try await virtual.url(for: "virtual/two", validFor: .seconds(300)))
        #expect(url.host == "\(pathStyle.bucket).\(domain)")
        var get = HTTPClientRequest(url: "http://\(endpoint.host!):\(port)\(url.path(percentEncoded: true))?\(url.query(percentEncoded: true) ?? "")")
        get.headers.add(name: "Host", value: "\(url.host!):\(port)")
        let response = try await HTTPClient.shared.execute(get, timeout: .seconds(30))
        #expect(response.status.code == 200)
        #expect(String(buffer: try await response.body.collect(upTo: 1 << 20)) == "by path")

        #expect(try await virtual.delete("virtual/one"))
        #expect(try await pathStyle.read("virtual/one") == nil)
        try await pathStyle.delete("virtual/two")
    }

    /// SeaweedFS stores a backslash as a slash and refuses segments past 255 bytes: the store
    /// refuses such keys before any request, typed, and writes nothing; under S3's rules (set by
    /// hand) the server shows why, renaming the key.
    @Test func keysTheServerWouldAlterAreRefused() async throws {
        let store = try store()
        #expect(try await store.effectiveKeyRules() == .seaweedFS)
        try await store.set(Data("kept".utf8), for: "plain")
        let long = StoreKey(stringLiteral: "dir/" + String(repeating: "x", count: 256))
        for key in ["back\\slash", "dir\\", long] as [StoreKey] {
            for operation in ["write", "read", "metadata", "delete"] {
                do {
                    switch operation {
                    case "write": try await store.set(Data("lost".utf8), for: key)
                    case "read": _ = try await store.read(key)
                    case "metadata": _ = try await store.metadata(for: key)
                    default: _ = try await store.delete(key)
                    }
                    Issue.record("\(operation) of \(key) was not refused")
                } catch let error as StoreError {
                    #expect(error.code == .invalidKey, "\(error)")
                    #expect(error.message.contains(key == long ? "256 bytes" : "backslash"), "\(error)")
                }
            }
        }
        // A segment of exactly 255 bytes is kept.
        let longest = StoreKey(stringLiteral: "dir/" + String(repeating: "y", count: 255))
        try await store.set(Data("longest".utf8), for: longest)
        #expect(try await store.read(longest)?.value == Data("longest".utf8))
        let objects = try await store.client.listObjectsV2(bucket: store.bucket, prefix: store.prefix).objects.map(\.key)
        #expect(objects.sorted() == [store.prefix + longest.rawValue, store.prefix + "plain"].sorted())

        let asS3 = try self.store(store.prefix, options: S3Store.Options(keyRules: .s3))
        try await asS3.set(Data("renamed".utf8), for: "back\\slash")
        var listed: [String] = []
        for try await element in asS3.list(ListQuery.all) { listed.append(element.name) }
        #expect(listed.contains("back/slash") && !listed.contains("back\\slash"), "\(listed)")
    }

    @Test func aWrongSecretIsATypedPermissionError() async throws {
        var credentials = try S3TestServer.credentials()
        credentials.secretAccessKey += "-wrong"
        let client = S3Client(configuration: try S3TestServer.configuration(credentials: credentials, retry: .none))
        let store = S3Store(bucket: try S3TestBucket.name(), client: client)
        let error = await #expect(throws: StoreError.self) { try await store.read("anything") }
        #expect(error?.code == .permissionDenied)
        #expect(error.map { !String(describing: $0).contains(credentials.secretAccessKey) } == true)
        let s3Error = error?.underlying as? S3Error
        #expect(s3Error?.kind == .invalidCredentials)
        #expect(s3Error?.requestID != nil)
    }

    @Test func aMissingBucketIsAnErrorThatNamesIt() async throws {
        let store = S3Store(bucket: "trove-no-such-bucket", client: try S3TestServer.client())
        let error = await #expect(throws: StoreError.self) { try await store.read("k") }
        #expect(error?.message.contains("trove-no-such-bucket") == true)
        #expect((error?.underlying as? S3Error)?.code == "NoSuchBucket")
        let listing = await #expect(throws: StoreError.self) { _ = try await store.listPage(.all, after: nil, limit: 10) }
        #expect(listing?.message.contains("trove-no-such-bucket") == true)
    }

    @Test func rangesAndRevalidationAreOneRequestEach() async throws {
        let store = try store()
        let written = try await store.write(Data("0123456789".utf8), for: "r", options: .default)
        let range = try await store.read("r", options: ReadOptions(range: .bytes(2..<5)))
        #expect(range?.body?.value == Data("234".utf8))
        #expect(range?.metadata.size == 10)
        let suffix = try await store.read("r", options: ReadOptions(range: .suffix(3)))
        #expect(suffix?.body?.value == Data("789".utf8))
        let unchanged = try await store.read("r", options: ReadOptions(ifNoneMatch: written.etag))
        #expect(unchanged?.body == nil)
        #expect(unchanged?.metadata.size == 10)
        let past = try await store.read("r", options: ReadOptions(range: .from(50)))
        #expect(past?.body?.value == Data())
    }

    @Test func everyListenerOfTheServerIsOnLoopback() throws {
        let pid = try S3TestServer.variable("TROVE_TEST_S3_PID")
        let process = SpawnedProcess()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ss", "-ltnpH"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let listeners = text.split(separator: "\n").filter { $0.contains("pid=\(pid),") }
        #expect(!listeners.isEmpty, "ss shows no listener of the server (pid \(pid))")
        for line in listeners {
            let local = line.split(separator: " ", omittingEmptySubsequences: true)[3]
            #expect(local.hasPrefix("127.0.0.1:"), "a SeaweedFS listener on \(local): \(line)")
        }
    }
}
