import Crypto
import Foundation
import Testing
import Trove
import TroveCrypto
import TroveTestSupport

/// Stored envelopes changed behind a layer's back are refused with `.integrity`, and the refusal
/// changes nothing: the other entries, the tampered envelope itself and the listing stay as they
/// were.
@Suite("Tampering is detected")
struct TamperTests {
    /// A small value and its neighbour, written through the layer.
    static let secret = Data("secret value of a".utf8)
    static let neighbour = Data("value of b".utf8)

    /// Writes `a` and `b` through a fresh layer of `kind`.
    func prepared(_ kind: LayerKind, a: Data = TamperTests.secret) async throws -> LayerHarness {
        let harness = try LayerHarness(kind)
        try await harness.store.set(a, for: "a")
        try await harness.store.set(Self.neighbour, for: "b")
        return harness
    }

    /// After a refused read: `b` still reads, `a`'s envelope is still `planted`, and both are listed.
    func expectNothingElseChanged(_ harness: LayerHarness, planted: Data,
                                  sourceLocation: SourceLocation = #_sourceLocation) async throws {
        #expect(try await harness.store.read("b")?.value == Self.neighbour, sourceLocation: sourceLocation)
        #expect(try await harness.stored("a") == planted, "a refused read changed the stored envelope",
                sourceLocation: sourceLocation)
        let keys = try await collect(harness.store.keys())
        #expect(keys == ["a", "b"], sourceLocation: sourceLocation)
    }

    @Test(arguments: LayerKind.allCases)
    func flippedByteAnywhereIsDetected(_ kind: LayerKind) async throws {
        let harness = try await prepared(kind)
        let original = try await harness.stored("a")
        #expect(original.count == kind.storedSize(of: Self.secret.count))
        // Every byte: version, key id, write id or salt, value, tag.
        for offset in 0..<original.count {
            let planted = flipping(original, at: offset)
            try await harness.plant(planted, at: "a")
            let error = await harness.expectIntegrityFailure("a", secretValue: Self.secret)
            if error == nil { Issue.record("flipping byte \(offset) of \(original.count) went unnoticed") }
            try await expectNothingElseChanged(harness, planted: planted)
        }
        try await harness.plant(original, at: "a")
        #expect(try await harness.store.read("a")?.value == Self.secret, "the untouched envelope must read again")
    }

    @Test(arguments: LayerKind.allCases)
    func flippedByteInALaterSegmentIsDetected(_ kind: LayerKind) async throws {
        let value = patternedBytes(2 * segmentSize + 100, seed: 1)
        let harness = try await prepared(kind, a: value)
        let original = try await harness.stored("a")
        let sealedSegment = segmentSize + kind.tagSize
        for offset in [kind.headerSize + sealedSegment + 5, kind.headerSize + 2 * sealedSegment - 1, original.count - 1] {
            let planted = flipping(original, at: offset)
            try await harness.plant(planted, at: "a")
            await harness.expectIntegrityFailure("a")
            try await expectNothingElseChanged(harness, planted: planted)
        }
    }

    @Test(arguments: LayerKind.allCases)
    func truncationIsDetected(_ kind: LayerKind) async throws {
        let value = patternedBytes(segmentSize + 10, seed: 2)
        let harness = try await prepared(kind, a: value)
        let original = try await harness.stored("a")
        let cuts = [
            original.count - 1,                          // the last byte of the tag
            original.count - kind.tagSize,               // the whole last tag
            kind.headerSize + segmentSize + kind.tagSize, // the whole last segment: one full, valid-looking segment left
            kind.headerSize + kind.tagSize,              // what an empty value would take
            kind.headerSize,                             // the header alone
            3,                                           // part of the header
            0,                                           // nothing at all
        ]
        for length in cuts {
            let planted = original.prefix(length)
            try await harness.plant(planted, at: "a")
            let error = await harness.expectIntegrityFailure("a")
            if error == nil { Issue.record("cutting the envelope to \(length) bytes went unnoticed") }
            try await expectNothingElseChanged(harness, planted: planted)
        }
    }

    @Test(arguments: LayerKind.allCases)
    func swappedValuesAreDetected(_ kind: LayerKind) async throws {
        let harness = try LayerHarness(kind)
        // Same length, so that only the binding to the key can tell them apart.
        try await harness.store.set(Data("value one".utf8), for: "x/one")
        try await harness.store.set(Data("value two".utf8), for: "x/two")
        let one = try await harness.stored("x/one"), two = try await harness.stored("x/two")
        try await harness.plant(two, at: "x/one")
        try await harness.plant(one, at: "x/two")
        await harness.expectIntegrityFailure("x/one")
        await harness.expectIntegrityFailure("x/two")
        #expect(try await harness.stored("x/one") == two)
        #expect(try await harness.stored("x/two") == one)

        // A value moved to a key where there was none.
        try await harness.plant(one, at: "x/three")
        await harness.expectIntegrityFailure("x/three")
    }

    @Test(arguments: LayerKind.allCases)
    func reorderedOrMixedSegmentsAreDetected(_ kind: LayerKind) async throws {
        let harness = try LayerHarness(kind)
        let sealedSegment = segmentSize + kind.tagSize
        try await harness.store.set(patternedBytes(3 * segmentSize, seed: 3), for: "big")
        let first = try await harness.stored("big")
        // Segments 0 and 1 swapped: both full, so the length stays right.
        let header = first.prefix(kind.headerSize)
        let segments = (0..<3).map { first.dropFirst(kind.headerSize + $0 * sealedSegment).prefix(sealedSegment) }
        let reordered = header + segments[1] + segments[0] + segments[2]
        try await harness.plant(reordered, at: "big")
        await harness.expectIntegrityFailure("big")

        // The first segment of one write of the key with the rest of another write of it.
        try await harness.store.set(patternedBytes(3 * segmentSize, seed: 4), for: "big")
        let second = try await harness.stored("big")
        let mixed = second.prefix(kind.headerSize) + segments[0] + second.dropFirst(kind.headerSize + sealedSegment)
        #expect(mixed.count == second.count)
        try await harness.plant(mixed, at: "big")
        await harness.expectIntegrityFailure("big")
    }

    @Test(arguments: LayerKind.allCases)
    func wrongKeyIsDetected(_ kind: LayerKind) async throws {
        let harness = try await prepared(kind)
        let original = try await harness.stored("a")
        // The same id, another secret.
        let impostor = try harness.with(try Keyring(current: 1, key: SymmetricKey(size: .bits256)))
        let error = await impostor.expectIntegrityFailure("a", secretValue: Self.secret)
        #expect(error?.message.contains("key 1") == true, "\(error?.message ?? "")")
        impostor.expectNoSecrets(in: try #require(error), value: Self.secret)
        #expect(try await harness.stored("a") == original)
        #expect(try await harness.store.read("a")?.value == Self.secret, "the right key must still read it")
    }

    @Test(arguments: LayerKind.allCases)
    func unknownKeyIDIsDetected(_ kind: LayerKind) async throws {
        let harness = try await prepared(kind)
        let original = try await harness.stored("a")
        // A keyring without key 1.
        let other = try harness.with(try Keyring(current: 2, key: SymmetricKey(size: .bits256)))
        let error = await other.expectIntegrityFailure("a", secretValue: Self.secret)
        #expect(error?.message.contains("key 1") == true, "\(error?.message ?? "")")

        // An envelope whose key id was changed to one the keyring does not hold.
        var planted = original
        planted[planted.startIndex + kind.keyIDOffset + 3] = 99
        try await harness.plant(planted, at: "a")
        let renamed = await harness.expectIntegrityFailure("a", secretValue: Self.secret)
        #expect(renamed?.message.contains("key 99") == true, "\(renamed?.message ?? "")")
        try await expectNothingElseChanged(harness, planted: planted)
    }

    @Test(arguments: LayerKind.allCases)
    func garbageAndShortEnvelopesAreDetected(_ kind: LayerKind) async throws {
        let harness = try await prepared(kind)
        let garbage: [Data] = [
            Data(), Data([1]), Data(repeating: 1, count: kind.headerSize - 1),
            Data(repeating: 1, count: kind.headerSize + kind.tagSize),
            patternedBytes(100, seed: 5), patternedBytes(segmentSize + 500, seed: 6),
            Data("just some plain text that was never sealed by any layer".utf8),
        ]
        for planted in garbage {
            try await harness.plant(planted, at: "a")
            let error = await harness.expectIntegrityFailure("a")
            if error == nil { Issue.record("\(planted.count) bytes of garbage went unnoticed") }
            try await expectNothingElseChanged(harness, planted: planted)
        }
    }

    @Test(arguments: LayerKind.allCases)
    func unknownVersionIsDetected(_ kind: LayerKind) async throws {
        let harness = try await prepared(kind)
        var planted = try await harness.stored("a")
        planted[planted.startIndex] = 2
        try await harness.plant(planted, at: "a")
        let error = await harness.expectIntegrityFailure("a")
        #expect(error?.message.contains("version 2") == true, "\(error?.message ?? "")")
    }

    @Test(arguments: LayerKind.allCases)
    func tooShortEnvelopesFailMetadataAndListings(_ kind: LayerKind) async throws {
        let harness = try await prepared(kind)
        try await harness.plant(Data(repeating: 0, count: kind.headerSize + kind.tagSize - 1), at: "a")
        let metadataError = await #expect(throws: StoreError.self) { try await harness.store.metadata(for: "a") }
        #expect(metadataError?.code == .integrity)
        #expect(metadataError?.key == "a")
        #expect(metadataError?.store == harness.store.description)
        let listingError = await #expect(throws: StoreError.self) {
            try await collect(harness.store.list(try ListQuery(includesMetadata: true)))
        }
        #expect(listingError?.code == .integrity)
        #expect(listingError?.key == "a")
        let pageError = await #expect(throws: StoreError.self) {
            try await harness.store.listPage(try ListQuery(includesMetadata: true), after: nil, limit: 10)
        }
        #expect(pageError?.code == .integrity)
        // Without metadata nothing needs the size: the key is listed, so that it can be found and deleted.
        #expect(try await collect(harness.store.keys()) == ["a", "b"])
        #expect(try await harness.store.delete("a"))
        #expect(try await collect(harness.store.metadata()).map(\.key) == ["b"])
    }

    @Test(arguments: LayerKind.allCases)
    func streamedReadHandsOutOnlyCheckedBytes(_ kind: LayerKind) async throws {
        let value = patternedBytes(3 * segmentSize, seed: 7)
        let harness = try await prepared(kind, a: value)
        let original = try await harness.stored("a")
        // Spoil the second segment: the first may be handed out, nothing after it.
        let planted = flipping(original, at: kind.headerSize + segmentSize + kind.tagSize + 10)
        try await harness.plant(planted, at: "a")
        let stream = try #require(try await harness.store.readStream("a", chunkSize: 4096))
        #expect(stream.metadata.size == Int64(value.count))
        var received = Data()
        let error = await #expect(throws: StoreError.self) {
            for try await chunk in stream.chunks { received.append(chunk) }
        }
        #expect(error?.code == .integrity)
        #expect(error?.message.contains("segment 1") == true, "\(error?.message ?? "")")
        #expect(received == value.prefix(segmentSize), "only the checked first segment may be handed out")
    }
}
