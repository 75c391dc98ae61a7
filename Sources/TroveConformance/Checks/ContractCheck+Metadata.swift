import Foundation
import Trove

extension ContractCheck {
    /// Metadata is accurate and the same from every source (the write's result, `metadata`,
    /// `read`, `readStream`, a listing with metadata): the key, the size, the ETag, a plausible
    /// modification date (the write's moment where the store claims
    /// `StoreCapabilities.modificationDate`, else no earlier than the write and no later than
    /// the answer), a creation date present exactly when the store claims
    /// `StoreCapabilities.creationDate`, and no expiration date for a write without expiry.
    public static let metadataIsAccurate = ContractCheck(
        "metadataIsAccurate",
        "size, ETag, modification date and creation date (iff claimed) are right and agree everywhere"
    ) { try await MetadataChecks.metadataIsAccurate($0) }

    /// Every write gives the entry a new ETag, even rewriting identical bytes twice in a row,
    /// streaming them, or re-creating a deleted key; reads and writes of other keys leave it alone.
    public static let etagChangesOnEveryWrite = ContractCheck(
        "etagChangesOnEveryWrite",
        "the ETag changes whenever the bytes do; with distinctETagPerWrite, on every write, identical bytes included"
    ) { try await MetadataChecks.etagChangesOnEveryWrite($0) }
}

/// The bodies of the metadata checks.
enum MetadataChecks {
    static func metadataIsAccurate(_ c: CheckContext) async throws {
        let key: StoreKey = "meta/entry"
        let value = BytePattern(seed: 42).bytes(at: 0, count: 1234)
        let keepsCreation = c.capabilities.contains(.creationDate)
        let keepsModification = c.capabilities.contains(.modificationDate)

        let before = c.now()
        let written = try await c.store.set(value, for: key)
        let after = c.now()
        let interval = (before.earliest, after.latest)

        var sources: [(String, EntryMetadata?)] = [("the write's result", written)]
        sources.append(("metadata(for:)", try await c.store.metadata(for: key)))
        sources.append(("read", try await c.store.read(key)?.metadata))
        sources.append(("readStream", try await c.store.readStream(key, chunkSize: 4096)?.metadata))
        sources.append(("a listing with metadata", try await c.elements(ListQuery(includesMetadata: true)).first?.metadata))

        let answered = c.now()
        for (source, metadata) in sources {
            guard let metadata else { throw c.failure("\(source) gave no metadata for a stored key", key: key) }
            try c.expectEqual(metadata.key, key, "\(source) named another key", key: key)
            try c.expectEqual(metadata.size, Int64(value.count), "\(source) reported the wrong size", key: key)
            try c.expectEqual(metadata.etag, written.etag, "\(source) reported another ETag than the write returned", key: key)
            try c.expect(!metadata.etag.rawValue.isEmpty, "\(source) reported an empty ETag", key: key)
            if keepsModification {
                try c.expectPlausible(metadata.modificationDate, within: interval,
                                      "\(source) reported an implausible modification date", key: key)
                try c.expect(abs(metadata.modificationDate.timeIntervalSince(written.modificationDate)) <= 1,
                             "\(source) disagrees with the write's result about the modification date", key: key,
                             expected: "\(written.modificationDate)", got: "\(metadata.modificationDate)")
            } else {
                // The moment the store answered: after the write began, before the answer came.
                try c.expectPlausible(metadata.modificationDate, within: (interval.0, answered.latest),
                                      "\(source) reported a modification date outside the write and its answer", key: key)
            }
            try c.expect(metadata.expirationDate == nil, "\(source) reported an expiration date for a write without expiry",
                         key: key, expected: "nil", got: "\(metadata.expirationDate.map { "\($0)" } ?? "nil")")
            if keepsCreation {
                try c.expectPlausible(metadata.creationDate, within: interval,
                                      "\(source): a store that claims creationDate must report a plausible one", key: key)
            } else {
                try c.expect(metadata.creationDate == nil,
                             "\(source) reported a creation date but the store does not claim the creationDate capability",
                             key: key, expected: "nil", got: "\(metadata.creationDate.map { "\($0)" } ?? "nil")")
            }
        }

        // An overwrite later: a new modification date no earlier than the first.
        c.environment.clock?.advance(by: .seconds(10))
        let rewritten = try await c.store.set(CheckContext.bytes("shorter"), for: key)
        try c.expectEqual(rewritten.size, 7, "the overwrite's result reported the wrong size", key: key)
        try c.expectEqual(try await c.store.metadata(for: key)?.size, 7, "metadata size after an overwrite", key: key)
        try c.expect(rewritten.modificationDate >= written.modificationDate.addingTimeInterval(-1),
                     "an overwrite moved the modification date backwards", key: key,
                     expected: "at or after \(written.modificationDate)", got: "\(rewritten.modificationDate)")
        if keepsCreation, let created = rewritten.creationDate {
            try c.expect(created <= rewritten.modificationDate.addingTimeInterval(1),
                         "the creation date is after the modification date", key: key,
                         expected: "at or before \(rewritten.modificationDate)", got: "\(created)")
        }
    }

    static func etagChangesOnEveryWrite(_ c: CheckContext) async throws {
        let key: StoreKey = "etag/entry"
        let same = CheckContext.bytes("identical bytes")
        var seen: [ETag] = []

        func expectNew(_ metadata: EntryMetadata, _ what: String) async throws {
            try c.expect(!seen.contains(metadata.etag), "\(what) did not change the ETag", key: key,
                         expected: "an ETag not among \(seen.map(\.rawValue))", got: metadata.etag.rawValue)
            try c.expectEqual(try await c.store.metadata(for: key)?.etag, metadata.etag,
                              "metadata reported another ETag than \(what) returned", key: key)
            try c.expectEqual(try await c.store.read(key)?.metadata.etag, metadata.etag,
                              "read reported another ETag than \(what) returned", key: key)
            seen.append(metadata.etag)
        }

        guard c.capabilities.contains(.distinctETagPerWrite) else {
            // A digest ETag: it follows the bytes, and only the bytes.
            let first = try await c.store.set(same, for: key)
            let again = try await c.store.set(same, for: key)
            try c.expectEqual(try await c.store.metadata(for: key)?.etag, again.etag,
                              "metadata reported another ETag than the write returned", key: key)
            let changed = try await c.store.set(CheckContext.bytes("different"), for: key)
            try c.expect(changed.etag != again.etag && changed.etag != first.etag, "writing different bytes did not change the ETag",
                         key: key, expected: "an ETag other than \(again.etag)", got: changed.etag.rawValue)
            try c.expectEqual(try await c.store.read(key)?.metadata.etag, changed.etag,
                              "read reported another ETag than the write returned", key: key)
            if c.capabilities.contains(.conditionalWrites) {
                try await c.expectError(.conditionFailed, "ifMatches with the ETag of replaced bytes must fail", key: key) {
                    try await c.store.set(same, for: key, condition: .ifMatches(again.etag))
                }
            }
            return
        }
        for attempt in 1...4 {
            try await expectNew(try await c.store.set(same, for: key), "writing identical bytes (write \(attempt))")
        }
        try await expectNew(try await c.store.set(CheckContext.bytes("different"), for: key), "writing different bytes")
        try await expectNew(try await c.store.set(same, for: key), "writing the earlier bytes again")
        try await expectNew(try await c.store.set(contentsOf: ValueChunks(chunksOf: same, chunkSize: 4), for: key),
                            "a streamed write of identical bytes")

        // Reads and writes elsewhere do not change it.
        let current = seen[seen.count - 1]
        _ = try await c.store.read(key)
        if let stream = try await c.store.readStream(key, chunkSize: 3) { _ = try await stream.chunks.collect() }
        try await c.store.set(same, for: "etag/other")
        try c.expectEqual(try await c.store.metadata(for: key)?.etag, current,
                          "reading the key or writing another key changed its ETag", key: key)

        // A deleted and re-created key never gets an ETag it had before.
        try await c.store.discard(key)
        try await expectNew(try await c.store.set(same, for: key), "re-creating a deleted key with identical bytes")
    }
}
