import Foundation
import Trove

/// The part of ``SignedStore`` and ``EncryptedStore`` that does not depend on the envelope
/// format: every requirement of `KeyValueStore`, sealing on the way in and opening on the way
/// out with an ``EnvelopeEngine``, and reporting errors in the layer's terms.
struct EnvelopeLayer<Base: KeyValueStore, Format: EnvelopeFormat>: Sendable {
    let base: Base
    let engine: EnvelopeEngine<Format>

    func read(_ key: StoreKey) async throws -> StoreEntry? {
        try await engine.forwarding(key) {
            guard let entry = try await base.read(key) else { return nil }
            let value = try engine.open(entry.value, for: key, operation: .read)
            var metadata = entry.metadata
            metadata.size = Int64(value.count)
            return StoreEntry(value: value, metadata: metadata)
        }
    }

    func readStream(_ key: StoreKey, chunkSize: Int) async throws -> StreamedEntry? {
        try await engine.forwarding(key) {
            guard let entry = try await base.readStream(key, chunkSize: EnvelopeLayout.segmentSize) else { return nil }
            let metadata = try engine.outer(entry.metadata, operation: .read)
            return entry.withChunks(engine.opening(entry.chunks, for: key, chunkSize: chunkSize), metadata: metadata)
        }
    }

    /// The options that the base can apply to the envelope: all but the range, which selects
    /// bytes of the opened value.
    private static func baseOptions(_ options: ReadOptions) -> ReadOptions {
        ReadOptions(ifNoneMatch: options.ifNoneMatch, refreshingExpiry: options.refreshingExpiry)
    }

    func read(_ key: StoreKey, options: ReadOptions) async throws -> ReadOutcome<StoreEntry>? {
        try await engine.forwarding(key) {
            switch try await base.read(key, options: Self.baseOptions(options)) {
            case nil:
                return nil
            case .unchanged(let metadata)?:
                return .unchanged(try engine.outer(metadata, operation: .read))
            case .value(let entry)?:
                let value = try engine.open(entry.value, for: key, operation: .read)
                var metadata = entry.metadata
                metadata.size = Int64(value.count)
                return ReadOptions(range: options.range).outcome(of: StoreEntry(value: value, metadata: metadata))
            }
        }
    }

    func readStream(_ key: StoreKey, chunkSize: Int, options: ReadOptions) async throws -> ReadOutcome<StreamedEntry>? {
        try await engine.forwarding(key) {
            switch try await base.readStream(key, chunkSize: EnvelopeLayout.segmentSize, options: Self.baseOptions(options)) {
            case nil:
                return nil
            case .unchanged(let metadata)?:
                return .unchanged(try engine.outer(metadata, operation: .read))
            case .value(let entry)?:
                let metadata = try engine.outer(entry.metadata, operation: .read)
                let opened = entry.withChunks(engine.opening(entry.chunks, for: key, chunkSize: chunkSize), metadata: metadata)
                return await ReadOptions(range: options.range).outcome(of: opened)
            }
        }
    }

    func metadata(for key: StoreKey, options: ReadOptions) async throws -> EntryMetadata? {
        try await engine.forwarding(key) {
            try await base.metadata(for: key, options: options).map { metadata throws(StoreError) in
                try engine.outer(metadata, operation: .metadata)
            }
        }
    }

    func discard(_ key: StoreKey) async throws {
        try await engine.forwarding(key) { try await base.discard(key) }
    }

    func count(withPrefix prefix: String) async throws -> Int {
        try await engine.forwarding(nil) { try await base.count(withPrefix: prefix) }
    }

    func readBatch(_ keys: [StoreKey]) async throws -> [StoreEntry?] {
        try await engine.forwarding(nil) {
            let stored = try await base.readBatch(keys)
            return try zip(keys, stored).map { key, entry throws(StoreError) -> StoreEntry? in
                guard let entry else { return nil }
                let value = try engine.open(entry.value, for: key, operation: .read)
                var metadata = entry.metadata
                metadata.size = Int64(value.count)
                return StoreEntry(value: value, metadata: metadata)
            }
        }
    }

    func writeBatch(_ writes: [BatchWrite]) async throws -> [Result<EntryMetadata, StoreError>] {
        try await engine.forwarding(nil) {
            let sealed = try writes.map { write throws(StoreError) in
                BatchWrite(write.key, try engine.seal(write.value, for: write.key), options: write.options)
            }
            return try await base.writeBatch(sealed).map { result in
                result.flatMap { metadata in Result { () throws(StoreError) in try engine.outer(metadata, operation: .write) } }
            }
        }
    }

    func deleteBatch(_ deletes: [BatchDelete]) async throws -> [Result<Void, StoreError>] {
        try await engine.forwarding(nil) { try await base.deleteBatch(deletes) }
    }

    func metadata(for key: StoreKey) async throws -> EntryMetadata? {
        try await engine.forwarding(key) {
            try await base.metadata(for: key).map { metadata throws(StoreError) in
                try engine.outer(metadata, operation: .metadata)
            }
        }
    }

    func write(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        try await engine.forwarding(key) {
            let sealed = try engine.seal(value, for: key)
            let metadata = try await base.write(sealed, for: key, options: options)
            return try engine.outer(metadata, operation: .write)
        }
    }

    func write<Chunks: AsyncSequence & Sendable>(
        contentsOf chunks: Chunks, for key: StoreKey, options: WriteOptions
    ) async throws -> EntryMetadata where Chunks.Element == Data {
        try await engine.forwarding(key) {
            // The sealed value is longer than the plain one: its size is checked here, on the
            // plain chunks, and not declared to the base.
            let checked = ValueChunks(chunks, checkedAgainst: options, key: key, store: engine.storeDescription)
            var sealedOptions = options
            sealedOptions.expectedSize = nil
            let metadata = try await base.write(contentsOf: engine.sealing(checked, for: key), for: key, options: sealedOptions)
            return try engine.outer(metadata, operation: .write)
        }
    }

    func delete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool {
        try await engine.forwarding(key) { try await base.delete(key, condition: condition) }
    }

    func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
        try await engine.forwarding(nil) {
            let page = try await base.listPage(query, after: cursor, limit: limit)
            var elements: [ListElement] = []
            elements.reserveCapacity(page.elements.count)
            for element in page.elements { elements.append(try engine.outer(element)) }
            return ListPage(elements: elements, nextCursor: page.nextCursor)
        }
    }

    func list(_ query: ListQuery, pageSize: Int) -> StoreListing {
        engine.outer(base.list(query, pageSize: pageSize), pageSize: pageSize)
    }

    func reclaimExpired() async throws -> Int {
        try await engine.forwarding(nil) { try await base.reclaimExpired() }
    }
}
