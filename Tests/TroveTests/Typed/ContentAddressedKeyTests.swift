import Foundation
import Testing
import Trove
import TroveConformance
import TroveTestSupport

/// Content-addressed keys are SHA-256 digests; content-addressed writes are write-once and
/// deduplicate.
@Suite("Content-addressed keys")
struct ContentAddressedKeyTests {
    @Test func addressesAreSHA256InHexadecimal() throws {
        #expect(StoreKey.contentAddress(of: Data("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(StoreKey.contentAddress(of: Data()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(try StoreKey.contentAddress(of: Data("abc".utf8), under: "blobs")
            == "blobs/ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let longPrefix = try StoreKey(validating: String(repeating: "p", count: 1_000))
        let error = try #require(throws: StoreError.self) { try StoreKey.contentAddress(of: Data(), under: longPrefix) }
        #expect(error.code == .invalidKey)
    }

    @Test(arguments: typedFixtures)
    func theSameBytesTwiceGiveTheSameKeyAndNoRewrite(_ fixture: ConformanceFixture) async throws {
        try await fixture.withFreshStore { store, environment in
            let photo = Data((0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
            let first = try await store.setContentAddressed(photo, under: "blobs")
            #expect(first.isNew)
            #expect(first.key == (try StoreKey.contentAddress(of: photo, under: "blobs")))
            #expect(try await store[first.key] == photo)

            environment.clock?.advance(by: .seconds(5))
            let second = try await store.setContentAddressed(photo, under: "blobs")
            #expect(second.isNew == false)
            #expect(second.key == first.key)
            #expect(second.metadata.etag == first.metadata.etag)
            let stored = try #require(try await store.metadata(for: first.key))
            #expect(stored.etag == first.metadata.etag)
            #expect(stored.modificationDate == first.metadata.modificationDate)

            let other = try await store.setContentAddressed(photo + Data([0]), under: "blobs")
            #expect(other.isNew)
            #expect(other.key != first.key)
            #expect(try await store.count(withPrefix: "blobs/") == 2)
            #expect(try await store[other.key] == photo + Data([0]))
            #expect(try await store[first.key] == photo)
        }
    }

    @Test(arguments: typedFixtures)
    func concurrentWritersOfTheSameBytesStoreItOnce(_ fixture: ConformanceFixture) async throws {
        try await fixture.withFreshStore { store, _ in
            let value = Data("the same bytes from eight writers".utf8)
            let results = try await withThrowingTaskGroup(of: ContentAddressedWrite.self) { group in
                for _ in 0..<8 { group.addTask { try await store.setContentAddressed(value) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.filter(\.isNew).count == 1)
            #expect(Set(results.map(\.key)).count == 1)
            #expect(Set(results.map(\.metadata.etag)).count == 1)
            #expect(try await store.count() == 1)
        }
    }

    @Test func anEntryAlreadyUnderTheAddressIsTakenAsTheSameContent() async throws {
        let store = MemoryStore()
        let value = Data("payload".utf8)
        let address = StoreKey.contentAddress(of: value)
        let planted = try await store.set(Data("planted".utf8), for: address)
        let result = try await store.setContentAddressed(value)
        #expect(result.isNew == false)
        #expect(result.metadata.etag == planted.etag)
        #expect(try await store[address] == Data("planted".utf8))
    }

    @Test func typedValuesAreAddressedByTheirEncoding() async throws {
        let store = MemoryStore()
        let documents = store.prefixed("documents").typed(as: Profile.self)
        let first = try await documents.setContentAddressed(.alice)
        let again = try await documents.setContentAddressed(.alice)
        let other = try await documents.setContentAddressed(.bob)
        #expect(first.isNew)
        #expect(again.isNew == false)
        #expect(again.key == first.key)
        #expect(other.key != first.key)
        #expect(first.key == StoreKey.contentAddress(of: try JSONCodec<Profile>().encode(.alice)))
        #expect(try await documents[first.key] == .alice)
        #expect(try await store.contains(try StoreKey("documents").appending(first.key)))
    }
}
