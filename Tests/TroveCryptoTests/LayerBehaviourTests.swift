import Crypto
import Foundation
import Synchronization
import Testing
import Trove
import TroveCrypto
import TroveTestSupport

/// A store over a memory store that hands out URLs, counts the reads of values, and can be told
/// to fail, so that tests can see what a layer asks of its base store and what it does with its
/// errors.
final class ProbeStore: KeyValueStore {
    let base = MemoryStore()
    let valueReads = Mutex(0)
    let failure = Mutex<StoreError?>(nil)

    var description: String { "probe" }
    var capabilities: StoreCapabilities { base.capabilities.subtracting(.passedOnOnlyByForwarding) }

    private func failIfAsked() throws {
        if let error = failure.withLock({ $0 }) { throw error }
    }

    func read(_ key: StoreKey) async throws -> StoreEntry? {
        try failIfAsked()
        valueReads.withLock { $0 += 1 }
        return try await base.read(key)
    }

    func readStream(_ key: StoreKey, chunkSize: Int) async throws -> StreamedEntry? {
        try failIfAsked()
        valueReads.withLock { $0 += 1 }
        return try await base.readStream(key, chunkSize: chunkSize)
    }

    func metadata(for key: StoreKey) async throws -> EntryMetadata? {
        try failIfAsked()
        return try await base.metadata(for: key)
    }

    func write(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        try failIfAsked()
        return try await base.write(value, for: key, options: options)
    }

    func write<Chunks: AsyncSequence & Sendable>(
        contentsOf chunks: Chunks, for key: StoreKey, options: WriteOptions
    ) async throws -> EntryMetadata where Chunks.Element == Data {
        try failIfAsked()
        return try await base.write(contentsOf: chunks, for: key, options: options)
    }

    func delete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool {
        try failIfAsked()
        return try await base.delete(key, condition: condition)
    }

    func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
        try failIfAsked()
        return try await base.listPage(query, after: cursor, limit: limit)
    }

    func list(_ query: ListQuery, pageSize: Int) -> StoreListing {
        StoreListing(paging: self, query: query, pageSize: pageSize)
    }

    func url(for key: StoreKey, validFor lifetime: Duration) async throws -> URL? {
        URL(string: "https://probe.invalid/\(key.rawValue)")
    }

    func reclaimExpired() async throws -> Int {
        try failIfAsked()
        return try await base.reclaimExpired()
    }
}

/// The layers forward everything else faithfully: capabilities, conditions, errors in their own
/// terms, no URLs, no reads where none is needed.
@Suite("Layer behaviour")
struct LayerBehaviourTests {
    static func layers(over probe: ProbeStore) throws -> [any KeyValueStore] {
        let keyring = try Keyring(current: 1, key: SymmetricKey(size: .bits256))
        return [probe.signed(with: keyring), probe.encrypted(with: keyring),
                probe.encrypted(with: keyring, algorithm: .chaCha20Poly1305)]
    }

    @Test func sugarReadsAsTheStack() throws {
        let signing = try Keyring(current: 1, key: SymmetricKey(size: .bits256))
        let encryption = try Keyring(current: 2, key: SymmetricKey(size: .bits256))
        let stack: EncryptedStore<SignedStore<MemoryStore>> = MemoryStore().signed(with: signing).encrypted(with: encryption)
        #expect(stack.description == "memory signed (HMAC-SHA256, key 1) encrypted (AES-256-GCM, key 2)")
        #expect(stack.base.keyring.currentKeyID == 1)
        #expect(stack.keyring.currentKeyID == 2)
        #expect(MemoryStore().signed(with: signing).encrypted(with: encryption, algorithm: .chaCha20Poly1305).description
                == "memory signed (HMAC-SHA256, key 1) encrypted (ChaCha20-Poly1305, key 2)")
    }

    @Test func capabilitiesAreTheBaseStores() async throws {
        let keyring = try Keyring(current: 1, key: SymmetricKey(size: .bits256))
        try await withScratchDirectory("trove-crypto") { directory in
            let file = try FileSystemStore(root: directory)
            #expect(file.capabilities.contains(.streaming))
            #expect(file.signed(with: keyring).capabilities == file.capabilities)
            #expect(file.encrypted(with: keyring).capabilities == file.capabilities)
            let memory = MemoryStore()
            #expect(memory.signed(with: keyring).encrypted(with: keyring).capabilities == memory.capabilities)
        }
    }

    @Test func urlsAreNeverHandedOut() async throws {
        let probe = ProbeStore()
        #expect(try await probe.url(for: "k") != nil, "the probe must offer a URL for the layers to withhold")
        for layer in try Self.layers(over: probe) {
            try await layer.set(Data("v".utf8), for: "k")
            #expect(try await layer.url(for: "k") == nil, "\(layer)")
        }
    }

    @Test func metadataAndListingsReadNoValue() async throws {
        let probe = ProbeStore()
        for layer in try Self.layers(over: probe) {
            try await layer.set(patternedBytes(70_000, seed: 1), for: "k")
            let before = probe.valueReads.withLock { $0 }
            #expect(try await layer.metadata(for: "k")?.size == 70_000)
            #expect(try await collect(layer.metadata()).map(\.size) == [70_000])
            #expect(try await layer.contains("k"))
            #expect(probe.valueReads.withLock { $0 } == before, "\(layer) read a value to report metadata")
            _ = try await layer.read("k")
            #expect(probe.valueReads.withLock { $0 } == before + 1)
        }
    }

    @Test func baseErrorsAreReportedInTheLayersTerms() async throws {
        let probe = ProbeStore()
        for layer in try Self.layers(over: probe) {
            try await layer.set(Data("v".utf8), for: "k")
            let cause = StoreError(.unavailable, operation: .read, store: "probe", message: "the probe is down", isRetryable: true)
            probe.failure.withLock { $0 = cause }
            let operations: [(String, () async throws -> Void)] = [
                ("read", { _ = try await layer.read("k") }),
                ("readStream", { _ = try await layer.readStream("k", chunkSize: 10) }),
                ("metadata", { _ = try await layer.metadata(for: "k") }),
                ("write", { _ = try await layer.set(Data("w".utf8), for: "k") }),
                ("streamed write", { _ = try await layer.set(contentsOf: ValueChunks(chunksOf: Data("w".utf8), chunkSize: 1), for: "k") }),
                ("delete", { _ = try await layer.delete("k") }),
                ("listPage", { _ = try await layer.listPage(.all, after: nil, limit: 10) }),
                ("list", { _ = try await collect(layer.list()) }),
                ("reclaimExpired", { _ = try await layer.reclaimExpired() }),
            ]
            for (name, operation) in operations {
                let error = await #expect(throws: StoreError.self, "\(name)") { try await operation() }
                #expect(error?.code == .unavailable, "\(name)")
                #expect(error?.store == layer.description, "\(name) must name the layer, not the probe")
                #expect(error?.isRetryable == true, "\(name) must keep what the base store said")
                if !["listPage", "list", "reclaimExpired"].contains(name) {
                    #expect(error?.key == "k", "\(name) must name the key")
                }
            }
            probe.failure.withLock { $0 = nil }
        }
    }

    @Test(arguments: LayerKind.allCases)
    func conditionsUseTheBaseStoresETags(_ kind: LayerKind) async throws {
        let harness = try LayerHarness(kind)
        let first = try await harness.store.set(Data("1".utf8), for: "k", condition: .ifAbsent)
        #expect(try await harness.base.metadata(for: "k")?.etag == first.etag)
        let failed = await #expect(throws: StoreError.self) {
            try await harness.store.set(Data("2".utf8), for: "k", condition: .ifAbsent)
        }
        #expect(failed?.code == .conditionFailed)
        #expect(failed?.key == "k")
        #expect(failed?.store == harness.store.description)
        let second = try await harness.store.set(Data("2".utf8), for: "k", condition: .ifMatches(first.etag))
        #expect(try await harness.store.read("k")?.value == Data("2".utf8))
        let stale = await #expect(throws: StoreError.self) {
            try await harness.store.delete("k", condition: .ifMatches(first.etag))
        }
        #expect(stale?.code == .conditionFailed)
        #expect(try await harness.store.delete("k", condition: .ifMatches(second.etag)))
    }

    @Test(arguments: LayerKind.allCases)
    func expiryPassesThrough(_ kind: LayerKind) async throws {
        let clock = ManualWallClock()
        let key = SymmetricKey(size: .bits256)
        let harness = try LayerHarness(kind, base: MemoryStore(clock: clock.wallClock),
                                       keyring: try Keyring(current: 1, key: key), key: key)
        let written = try await harness.store.set(Data("soon gone".utf8), for: "k", expiry: .after(.seconds(10)))
        #expect(written.expirationDate == clock.now.addingTimeInterval(10))
        #expect(try await harness.store.metadata(for: "k")?.expirationDate == written.expirationDate)
        try await harness.store.set(Data("also soon gone".utf8), for: "k2", expiry: .after(.seconds(10)))
        try await harness.store.set(Data("kept".utf8), for: "k3")
        #expect(try await harness.store.read("k")?.value == Data("soon gone".utf8))
        clock.advance(by: .seconds(11))
        #expect(try await harness.store.reclaimExpired() == 2)
        #expect(try await harness.store.read("k") == nil)
        #expect(try await harness.store.read("k2") == nil)
        #expect(try await harness.store.read("k3")?.value == Data("kept".utf8))
    }
}
