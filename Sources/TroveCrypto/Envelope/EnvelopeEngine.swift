import Foundation
import Trove

/// What ``SignedStore`` and ``EncryptedStore`` share: sealing and opening whole and streamed
/// values in one ``EnvelopeFormat``, turning stored sizes into value sizes, and reporting every
/// error in the layer's terms.
struct EnvelopeEngine<Format: EnvelopeFormat>: Sendable {
    /// The envelope the layer writes and reads.
    let format: Format
    /// The layer's description, which every error names.
    let storeDescription: String

    var layout: EnvelopeLayout { format.layout }

    // MARK: Whole values

    /// The envelope of `value` for `key`, sealed with the current key.
    func seal(_ value: Data, for key: StoreKey) throws(StoreError) -> Data {
        do throws(EnvelopeFailure) {
            var (header, sealer) = try format.makeSealer(for: key)
            var sealed = Data(capacity: Int(layout.storedSize(plaintextSize: Int64(value.count))))
            sealed.append(header)
            var offset = value.startIndex
            while true {
                let end = value.index(offset, offsetBy: EnvelopeLayout.segmentSize, limitedBy: value.endIndex) ?? value.endIndex
                let isLast = end == value.endIndex
                sealed.append(try sealer.seal(Data(value[offset..<end]), isLast: isLast))
                if isLast { return sealed }
                offset = end
            }
        } catch {
            throw failure(error, key: key, operation: .write)
        }
    }

    /// The value inside `stored`, the envelope read from under `key`, once every segment's tag
    /// has been checked.
    func open(_ stored: Data, for key: StoreKey, operation: StoreOperation) throws(StoreError) -> Data {
        do throws(EnvelopeFailure) {
            guard let size = layout.plaintextSize(storedSize: Int64(stored.count)) else {
                throw EnvelopeFailure.malformedLength(Int64(stored.count))
            }
            let bodyStart = stored.startIndex + layout.headerSize
            var opener = try format.makeOpener(header: Data(stored[stored.startIndex..<bodyStart]), for: key)
            var value = Data(capacity: Int(size))
            var offset = bodyStart
            while true {
                let end = stored.index(offset, offsetBy: layout.sealedSegmentSize, limitedBy: stored.endIndex) ?? stored.endIndex
                let isLast = end == stored.endIndex
                value.append(try opener.open(Data(stored[offset..<end]), isLast: isLast))
                if isLast { return value }
                offset = end
            }
        } catch {
            throw failure(error, key: key, operation: operation)
        }
    }

    // MARK: Streams

    /// `chunks` sealed for `key` as they come: the header first, then each segment as soon as the
    /// next byte after it shows that it is not the last.
    func sealing<Chunks: AsyncSequence & Sendable>(_ chunks: Chunks, for key: StoreKey) -> SealedChunks<Chunks, Format>
    where Chunks.Element == Data {
        SealedChunks(source: chunks, engine: self, key: key)
    }

    /// The value inside the envelope `sealed`, read from under `key`, in chunks of `chunkSize`
    /// bytes; each segment is checked before any of its bytes is handed out.
    ///
    /// A segment that fails its check ends the sequence with a ``StoreError/Code/integrity``
    /// error; the chunks handed out before it were checked.
    func opening(_ sealed: ValueChunks, for key: StoreKey, chunkSize: Int) -> ValueChunks {
        let engine = self
        let chunkSize = Swift.max(1, chunkSize)
        return ValueChunks {
            var source = sealed.makeAsyncIterator()
            var reader = OpeningReader(engine: engine, key: key)
            return ValueChunks.ChunkSource {
                try await reader.next(chunkSize: chunkSize, from: &source)
            }
        }
    }

    // MARK: Metadata

    /// `metadata` of an envelope, with the size of the value inside it.
    ///
    /// - Throws: ``StoreError/Code/integrity`` when no envelope has the stored size.
    func outer(_ metadata: EntryMetadata, operation: StoreOperation) throws(StoreError) -> EntryMetadata {
        guard let size = layout.plaintextSize(storedSize: metadata.size) else {
            throw failure(.malformedLength(metadata.size), key: metadata.key, operation: operation)
        }
        var copy = metadata
        copy.size = size
        return copy
    }

    /// A listing element with its metadata's size turned into the value's size.
    func outer(_ element: ListElement) throws(StoreError) -> ListElement {
        guard case .entry(let key, let metadata?) = element else { return element }
        return .entry(key, try outer(metadata, operation: .list))
    }

    /// `listing` (of the base store) with every element's metadata in the layer's terms and every
    /// error naming the layer, fetched a batch of about `pageSize` elements at a time.
    func outer(_ listing: StoreListing, pageSize: Int) -> StoreListing {
        let engine = self
        let batchSize = Swift.max(1, pageSize)
        return StoreListing {
            var elements = listing.makeAsyncIterator()
            var finished = false
            return StoreListing.BatchSource {
                if finished { return nil }
                var batch: [ListElement] = []
                try await engine.forwarding(nil) {
                    while batch.count < batchSize, let element = try await elements.next() {
                        batch.append(try engine.outer(element))
                    }
                }
                finished = batch.count < batchSize
                return batch
            }
        }
    }

    // MARK: Errors

    /// Runs `body` on the base store, reporting its errors as the layer's: with the layer's
    /// description and, when missing, `key`. Cancellation passes through unchanged.
    func forwarding<T>(_ key: StoreKey?, _ body: () async throws -> T) async throws -> T {
        try await StoreError.relabeling(store: storeDescription, key: key, body)
    }

    /// The error that reports `failure` for `key`, with code ``StoreError/Code/integrity`` for
    /// anything wrong with stored bytes.
    func failure(_ failure: EnvelopeFailure, key: StoreKey, operation: StoreOperation) -> StoreError {
        switch failure {
        case .malformedLength(let size):
            return StoreError(.integrity, operation: operation, key: key, store: storeDescription,
                              message: "the stored value (\(size) bytes) is not an envelope this layer wrote: "
                                  + "it is too short or has been cut")
        case .unsupportedVersion(let version):
            return StoreError(.integrity, operation: operation, key: key, store: storeDescription,
                              message: "the stored value has envelope version \(version), not 1: it was not written "
                                  + "by this layer, or has been changed")
        case .unsupportedAlgorithm(let code):
            return StoreError(.integrity, operation: operation, key: key, store: storeDescription,
                              message: "the stored value names an unknown encryption algorithm (\(code)): it was not "
                                  + "written by this layer, or has been changed")
        case .unknownKey(let id, let known):
            return StoreError(.integrity, operation: operation, key: key, store: storeDescription,
                              message: "the stored value was sealed with key \(id), which the keyring does not hold "
                                  + "(it holds \(known.map(\.description).joined(separator: ", "))): add that key "
                                  + "to the keyring to read it")
        case .authenticationFailed(let segment, let id, let algorithm, let underlying):
            return StoreError(.integrity, operation: operation, key: key, store: storeDescription,
                              message: "\(algorithm) check failed on segment \(segment) with key \(id): the stored "
                                  + "bytes were changed, cut or moved from another key, or key \(id) of the "
                                  + "keyring is not the key that sealed them",
                              underlying: underlying)
        case .sealingFailed(let algorithm, let underlying):
            return StoreError(.invalidArgument, operation: operation, key: key, store: storeDescription,
                              message: "the crypto library refused to seal the value with \(algorithm)",
                              underlying: underlying)
        }
    }
}

/// The state of one streamed read: sealed bytes not yet checked, checked bytes not yet handed
/// out, and the opener once the header has been read.
private struct OpeningReader<Format: EnvelopeFormat> {
    let engine: EnvelopeEngine<Format>
    let key: StoreKey
    var opener: Format.Opener?
    var sealed = ByteQueue()
    var opened = ByteQueue()
    var sourceEnded = false
    var openedLast = false
    /// Set once an error was thrown: the stream ends there.
    var failed = false

    init(engine: EnvelopeEngine<Format>, key: StoreKey) {
        self.engine = engine
        self.key = key
    }

    /// The next chunk of at most `chunkSize` checked bytes, or `nil` after the last.
    mutating func next(chunkSize: Int, from source: inout ValueChunks.AsyncIterator) async throws -> Data? {
        if failed { return nil }
        do {
            while opened.count < chunkSize, !openedLast {
                try await openNextSegment(from: &source)
            }
        } catch let failure as EnvelopeFailure {
            failed = true
            throw engine.failure(failure, key: key, operation: .read)
        } catch let error as StoreError {
            failed = true
            throw error.relabeled(store: engine.storeDescription, key: key)
        } catch {
            failed = true
            throw error
        }
        if opened.isEmpty { return nil }
        return opened.removeFirst(upTo: chunkSize)
    }

    /// Reads until the queue of sealed bytes holds more than `byteCount` bytes or the source ends.
    private mutating func fill(beyond byteCount: Int, from source: inout ValueChunks.AsyncIterator) async throws {
        while sealed.count <= byteCount, !sourceEnded {
            if let chunk = try await source.next() { sealed.append(chunk) } else { sourceEnded = true }
        }
    }

    private mutating func openNextSegment(from source: inout ValueChunks.AsyncIterator) async throws {
        let layout = engine.layout
        if opener == nil {
            try await fill(beyond: layout.headerSize - 1, from: &source)
            guard sealed.count >= layout.headerSize else {
                throw EnvelopeFailure.malformedLength(Int64(sealed.count))
            }
            opener = try engine.format.makeOpener(header: sealed.removeFirst(upTo: layout.headerSize), for: key)
        }
        guard var current = opener else { return }
        // A segment is the last one exactly when nothing follows it.
        try await fill(beyond: layout.sealedSegmentSize, from: &source)
        if sealed.count > layout.sealedSegmentSize {
            opened.append(try current.open(sealed.removeFirst(upTo: layout.sealedSegmentSize), isLast: false))
        } else {
            guard sealed.count >= layout.tagSize else {
                throw EnvelopeFailure.malformedLength(Int64(layout.headerSize + sealed.count))
            }
            opened.append(try current.open(sealed.removeAll(), isLast: true))
            openedLast = true
        }
        opener = current
    }
}

/// The chunks of a streamed write, sealed as they come (see ``EnvelopeEngine/sealing(_:for:)``).
struct SealedChunks<Source: AsyncSequence & Sendable, Format: EnvelopeFormat>: AsyncSequence, Sendable where Source.Element == Data {
    typealias Element = Data
    typealias Failure = any Error

    let source: Source
    let engine: EnvelopeEngine<Format>
    let key: StoreKey

    /// Yields the header, then each sealed segment.
    struct AsyncIterator: AsyncIteratorProtocol {
        var source: Source.AsyncIterator
        let engine: EnvelopeEngine<Format>
        let key: StoreKey
        var sealer: Format.Sealer?
        var buffer = ByteQueue()
        var finished = false

        mutating func next() async throws -> Data? {
            if finished { return nil }
            do {
                return try await produce()
            } catch let failure as EnvelopeFailure {
                finished = true
                throw engine.failure(failure, key: key, operation: .write)
            } catch {
                finished = true
                throw error
            }
        }

        private mutating func produce() async throws -> Data? {
            guard var current = sealer else {
                let (header, newSealer) = try engine.format.makeSealer(for: key)
                sealer = newSealer
                return header
            }
            // A segment is sealed once a byte after it shows that it is not the last.
            while buffer.count <= EnvelopeLayout.segmentSize {
                guard let chunk = try await source.next() else {
                    finished = true
                    return try current.seal(buffer.removeAll(), isLast: true)
                }
                buffer.append(chunk)
            }
            let segment = try current.seal(buffer.removeFirst(upTo: EnvelopeLayout.segmentSize), isLast: false)
            sealer = current
            return segment
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(source: source.makeAsyncIterator(), engine: engine, key: key)
    }
}
