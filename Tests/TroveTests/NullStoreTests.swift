import Foundation
import Testing
import Trove
import TroveConformance

/// `NullStore` accepts everything and keeps nothing; conditions are judged against an empty store.
@Suite("NullStore")
struct NullStoreTests {
    let clock = ManualWallClock()
    var store: NullStore { NullStore(clock: clock.wallClock) }

    @Test func keepsNothing() async throws {
        let written = try await store.set(Data("value".utf8), for: "a/b")
        #expect(written.key == "a/b")
        #expect(written.size == 5)
        #expect(written.modificationDate == clock.now)
        #expect(try await store.read("a/b") == nil)
        #expect(try await store.metadata(for: "a/b") == nil)
        #expect(try await store.readStream("a/b") == nil)
        #expect(try await store.contains("a/b") == false)
        #expect(try await store.count() == 0)
        #expect(try await store.isEmpty())
        #expect(try await store.randomKey() == nil)
        var listed: [String] = []
        for try await element in store.list(try ListQuery(prefix: "", delimiter: "/")) { listed.append(element.name) }
        #expect(listed.isEmpty)
        #expect(try await store.delete("a/b") == false)
        #expect(try await store.reclaimExpired() == 0)
        #expect(!store.capabilities.contains(.retention))
    }

    @Test func streamedWritesAreConsumedAndMeasured() async throws {
        let chunks = ValueChunks(chunksOf: Data(repeating: 7, count: 10_000), chunkSize: 999)
        let written = try await store.set(contentsOf: chunks, for: "stream")
        #expect(written.size == 10_000)
        #expect(try await store.read("stream") == nil)
    }

    @Test(arguments: [9_999, 10_001] as [Int64])
    func aStreamOfAnotherSizeThanDeclaredFails(declared: Int64) async throws {
        let chunks = ValueChunks(chunksOf: Data(repeating: 7, count: 10_000), chunkSize: 999)
        let error = await #expect(throws: StoreError.self) {
            try await store.set(contentsOf: chunks, for: "stream", expectedSize: declared)
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.key == "stream")
        let exact = ValueChunks(chunksOf: Data(repeating: 7, count: 10_000), chunkSize: 999)
        #expect(try await store.set(contentsOf: exact, for: "stream", expectedSize: 10_000).size == 10_000)
    }

    @Test func conditionsAreJudgedAgainstAnEmptyStore() async throws {
        // ifAbsent always holds, even twice in a row: nothing was kept the first time.
        try await store.set(Data("1".utf8), for: "k", condition: .ifAbsent)
        try await store.set(Data("2".utf8), for: "k", condition: .ifAbsent)

        let written = try await store.set(Data("3".utf8), for: "k")
        let writeError = await #expect(throws: StoreError.self) {
            try await store.set(Data("4".utf8), for: "k", condition: .ifMatches(written.etag))
        }
        #expect(writeError?.code == .conditionFailed)
        #expect(writeError?.key == "k")

        let deleteError = await #expect(throws: StoreError.self) {
            try await store.delete("k", condition: .ifMatches(written.etag))
        }
        #expect(deleteError?.code == .conditionFailed)

        let update = try await store.update("counter") { current in
            #expect(current == nil)
            return .set(Data("1".utf8))
        }
        guard case .stored = update else {
            Issue.record("update on a null store must report the value as stored, got \(update)")
            return
        }
    }

    @Test func expiryIsAcceptedAndReported() async throws {
        let written = try await store.set(Data("x".utf8), for: "e", expiry: .after(.seconds(10)))
        #expect(written.expirationDate == clock.now.addingTimeInterval(10))
    }

    @Test func contractChecksRefuseAStoreThatKeepsNothing() async throws {
        let failure = await #expect(throws: ConformanceFailure.self) {
            try await ContractCheck.emptyValue.run(against: store, environment: ConformanceEnvironment(clock: clock))
        }
        #expect(failure?.message.contains("retention") == true)
        // Key validation does not involve the store, so it runs on a null store too.
        try await ContractCheck.invalidKeysRejected.run(against: store)
    }
}
