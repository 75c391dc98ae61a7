import Foundation
import Testing
import Trove
import TroveTestSupport

@Suite("LimitedStore")
struct LimitedStoreTests {
    static func bytes(_ text: String) -> Data { Data(text.utf8) }

    // MARK: Keys

    @Test func keysUpToTheCapAreAcceptedAndLongerOnesRefused() async throws {
        let base = MemoryStore()
        let store = base.limited(keyLength: 32, valueSize: 16 << 10)
        let longest = try StoreKey(validating: String(repeating: "k", count: 32))
        let accented = try StoreKey(validating: String(repeating: "é", count: 16))  // 32 UTF-8 bytes
        try await store.set(Self.bytes("v"), for: longest)
        try await store.set(Self.bytes("v"), for: accented)
        #expect(try await store[longest] == Self.bytes("v"))
        #expect(try await store[accented] == Self.bytes("v"))

        for string in [String(repeating: "k", count: 33), String(repeating: "é", count: 16) + "k", "a/" + String(repeating: "b", count: 31)] {
            let key = try StoreKey(validating: string)
            let error = await #expect(throws: StoreError.self, "\(string)") { try await store.set(Self.bytes("v"), for: key) }
            #expect(error?.code == .invalidKey)
            #expect(error?.key == key)
            #expect(error?.store == store.description)
            #expect(error?.message.contains("cap of 32 bytes") == true, "the error names the cap")
        }
        #expect(try await base.count() == 2, "nothing over the cap reached the base")
    }

    @Test func everyOperationOnAKeyOverTheCapIsRefused() async throws {
        let base = MemoryStore()
        let long = try StoreKey(validating: String(repeating: "x", count: 40))
        try await base.set(Self.bytes("written beneath"), for: long)
        let store = base.limited(keyLength: 32)
        let operations: [(String, @Sendable () async throws -> Void)] = [
            ("read", { _ = try await store.read(long) }),
            ("readStream", { _ = try await store.readStream(long, chunkSize: 4) }),
            ("metadata", { _ = try await store.metadata(for: long) }),
            ("streamed write", { try await store.set(contentsOf: ValueChunks(chunksOf: Self.bytes("v"), chunkSize: 1), for: long) }),
            ("delete", { try await store.delete(long) }),
            ("url", { _ = try await store.url(for: long) }),
        ]
        for (what, operation) in operations {
            let error = await #expect(throws: StoreError.self, "\(what)") { try await operation() }
            #expect(error?.code == .invalidKey, "\(what)")
        }
        #expect(try await base[long] == Self.bytes("written beneath"))
        #expect(try await store.count() == 1, "listings are forwarded unchanged")
    }

    // MARK: Values

    @Test func valuesUpToTheCapAreStoredAndLargerOnesRefused() async throws {
        let base = MemoryStore()
        let store = base.limited(valueSize: 16 << 10)
        let largest = Data(repeating: 7, count: 16 << 10)
        try await store.set(largest, for: "k")
        #expect(try await store["k"] == largest)

        for key: StoreKey in ["k", "fresh"] {
            let before = try await base.read(key)
            let error = await #expect(throws: StoreError.self) { try await store.set(Data(count: (16 << 10) + 1), for: key) }
            #expect(error?.code == .valueTooLarge)
            #expect(error?.key == key)
            #expect(error?.store == store.description)
            #expect(error?.message.contains("16384") == true)
            #expect(try await base.read(key) == before, "a refused value changes nothing")
        }
    }

    @Test func aStreamedValueOverTheCapIsRefusedWithoutReadingTheRest() async throws {
        try await Self.refuseStreamedValueOverTheCap(on: MemoryStore())
        try await withScratchDirectory { directory in
            try await Self.refuseStreamedValueOverTheCap(on: try FileSystemStore(root: directory))
        }
    }

    static func refuseStreamedValueOverTheCap<Base: KeyValueStore>(on base: Base) async throws {
        let store = base.limited(valueSize: 16 << 10)
        let previous = try await store.set(Self.bytes("previous"), for: "k")
        for key: StoreKey in ["k", "fresh"] {
            let pulled = PolicyTestCounter()
            let chunks = PolicyTestChunks(chunks: Array(repeating: Data(repeating: 1, count: 1000), count: 1000), pulled: pulled)
            let error = await #expect(throws: StoreError.self) { try await store.set(contentsOf: chunks, for: key) }
            #expect(error?.code == .valueTooLarge)
            #expect(error?.key == key)
            #expect(error?.store == store.description)
            #expect(pulled.value == 17, "16 chunks fit under 16 KiB; the 17th crosses the cap and nothing more is read")
        }
        #expect(try await base.read("k")?.metadata.etag == previous.etag, "the previous value stays")
        #expect(try await base.read("fresh") == nil, "nothing is stored under a fresh key")
        #expect(try await base.count() == 1)

        let exact = PolicyTestChunks(chunks: Array(repeating: Data(repeating: 2, count: 1024), count: 16), pulled: PolicyTestCounter())
        let written = try await store.set(contentsOf: exact, for: "exact")
        #expect(written.size == 16 << 10)
        #expect(try await store["exact"] == Data(repeating: 2, count: 16 << 10))
    }

    // MARK: Everything else passes through

    @Test func conditionsAndExpiryPassThrough() async throws {
        let clock = ManualWallClock()
        let base = MemoryStore(clock: clock.wallClock)
        let store = base.limited(keyLength: 32, valueSize: 1024)
        #expect(store.capabilities == base.capabilities)
        let first = try await store.set(Self.bytes("v"), for: "k", condition: .ifAbsent, expiry: .after(.seconds(10)))
        #expect(first.expirationDate == clock.now.addingTimeInterval(10))
        let taken = await #expect(throws: StoreError.self) {
            try await store.set(Self.bytes("w"), for: "k", condition: .ifAbsent)
        }
        #expect(taken?.code == .conditionFailed)
        #expect(taken?.store == store.description, "base errors are relabelled with the layer")
        try await store.set(Self.bytes("w"), for: "k", condition: .ifMatches(first.etag))
        clock.advance(by: .seconds(11))
        #expect(try await store["k"] == Self.bytes("w"), "the overwrite without expiry replaced the expiry")
        try await store.set(Self.bytes("gone"), for: "e", expiry: .after(.seconds(1)))
        clock.advance(by: .seconds(2))
        #expect(try await store.reclaimExpired() == 1)
    }

    @Test func sugarAndDescription() {
        let unlimited = MemoryStore().limited()
        #expect(unlimited.maximumKeyLength == StoreKey.maximumByteCount)
        #expect(unlimited.maximumValueSize == .max)
        #expect(unlimited.description == "memory limited")
        let limited = MemoryStore().limited(keyLength: 32, valueSize: 16 << 10)
        #expect(limited.description == "memory limited(keys 32 bytes, values 16384 bytes)")
        #expect(LimitedStore(base: MemoryStore(), maximumKeyLength: 0, maximumValueSize: -1).maximumKeyLength == 1)
        #expect(LimitedStore(base: MemoryStore(), maximumKeyLength: 5000).maximumKeyLength == StoreKey.maximumByteCount)
    }
}
