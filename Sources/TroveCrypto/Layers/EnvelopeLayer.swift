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
            return StreamedEntry(metadata: metadata, chunks: engine.opening(entry.chunks, for: key, chunkSize: chunkSize))
        }
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

    func write<Chunks: AsyncSequence>(
        contentsOf chunks: Chunks, for key: StoreKey, options: WriteOptions
    ) async throws -> EntryMetadata where Chunks.Element == Data {
        try await engine.forwarding(key) {
            let metadata = try await base.write(contentsOf: engine.sealing(chunks, for: key), for: key, options: options)
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
