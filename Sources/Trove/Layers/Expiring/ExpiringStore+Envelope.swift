import Foundation

/// Envelope mode: reads, writes and deletes of values stored behind an ``ExpiryEnvelope``.
extension ExpiringStore {
    /// A stored entry's base metadata and its envelope.
    struct Peeked: Sendable {
        /// The base's metadata: its ETag is what conditional writes and deletes on the base use.
        let metadata: EntryMetadata
        let envelope: ExpiryEnvelope
    }

    /// A stored entry opened for streaming, its envelope already read.
    struct OpenedPayload: Sendable {
        let metadata: EntryMetadata
        let envelope: ExpiryEnvelope
        /// The value's bytes after the envelope.
        let payload: ValueChunks
    }

    // MARK: Envelopes

    /// The envelope of a write made now with `expiry` (or the default lifetime).
    func makeEnvelope(for expiry: Expiry, key: StoreKey) throws -> ExpiryEnvelope {
        let now = clock.now
        let effective = effectiveExpiry(expiry)
        var window: TimeInterval?
        if isSliding, let lifetime = Self.relativeLifetime(of: effective), lifetime > 0 {
            guard base.capabilities.contains(.conditionalWrites) else {
                throw StoreError(.notSupported, operation: .write, key: key, store: description,
                                 message: "sliding expiry needs conditional writes to refresh entries safely, "
                                     + "and the base store '\(base.description)' has none")
            }
            window = lifetime
        }
        return .fresh(writtenAt: now, deadline: effective.expirationDate(writtenAt: now), window: window)
    }

    /// The lifetime in seconds of an expiry relative to the write (`after(_:)`), or `nil` for a
    /// fixed date or none. `Expiry` shows only its dates, so a relative one is recognised by
    /// moving with the time of the write.
    static func relativeLifetime(of expiry: Expiry) -> TimeInterval? {
        let origin = Date(timeIntervalSinceReferenceDate: 0)
        let later = Date(timeIntervalSinceReferenceDate: 1_000_000)
        guard let first = expiry.expirationDate(writtenAt: origin),
              let second = expiry.expirationDate(writtenAt: later), first != second else { return nil }
        return first.timeIntervalSince(origin)
    }

    /// The expiry the base gets for an enveloped entry: its deadline where the base has native
    /// expiry (so the medium reclaims it by itself), otherwise none.
    func baseExpiry(for envelope: ExpiryEnvelope) -> Expiry {
        guard baseExpires, let deadline = envelope.deadline else { return .never }
        return .at(deadline)
    }

    /// The metadata this layer reports for an enveloped entry.
    func layerMetadata(_ stored: EntryMetadata, _ envelope: ExpiryEnvelope) -> EntryMetadata {
        EntryMetadata(key: stored.key, size: Swift.max(0, stored.size - Int64(ExpiryEnvelope.size)), etag: envelope.etag,
                      modificationDate: envelope.writtenAt, creationDate: stored.creationDate,
                      expirationDate: envelope.deadline)
    }

    /// Decodes the envelope at the start of `bytes`, or throws ``StoreError/Code/integrity``.
    func decodeEnvelope(_ bytes: Data, key: StoreKey, operation: StoreOperation) throws -> ExpiryEnvelope {
        switch ExpiryEnvelope.decode(bytes) {
        case .success(let envelope):
            return envelope
        case .failure(let problem):
            throw StoreError(.integrity, operation: operation, key: key, store: description, message: problem.message)
        }
    }

    /// Whether the base has conditional writes, without which a sliding refresh could overwrite
    /// a newer value.
    private var canRefresh: Bool { base.capabilities.contains(.conditionalWrites) }

    // MARK: Reading

    /// Reads the envelope of `key` without its value (a streamed read of the first 48 bytes).
    func peek(_ key: StoreKey, operation: StoreOperation) async throws -> Peeked? {
        guard let streamed = try await base.readStream(key, chunkSize: ExpiryEnvelope.size) else { return nil }
        var head = Data()
        for try await chunk in streamed.chunks {
            head.append(chunk)
            if head.count >= ExpiryEnvelope.size { break }
        }
        return Peeked(metadata: streamed.metadata, envelope: try decodeEnvelope(head, key: key, operation: operation))
    }

    /// `peek`, with an expired entry purged and reported as absent.
    func peekLive(_ key: StoreKey, operation: StoreOperation) async throws -> Peeked? {
        guard let current = try await peek(key, operation: operation) else { return nil }
        guard !current.envelope.isExpired(at: clock.now) else {
            await purge(key, storedETag: current.metadata.etag)
            return nil
        }
        return current
    }

    /// Deletes an expired entry if it still holds the version `storedETag`.
    ///
    /// Best-effort cleanup: the entry is already invisible, a failure leaves it for
    /// ``reclaimExpired()`` (which reports errors), and the condition keeps a newer value safe.
    func purge(_ key: StoreKey, storedETag: ETag) async {
        guard base.capabilities.contains(.conditionalDeletes) else { return }
        do {
            _ = try await base.delete(key, condition: .ifMatches(storedETag))
        } catch {
            // Left for reclaimExpired(); see above.
        }
    }

    func envelopeRead(_ key: StoreKey) async throws -> StoreEntry? {
        var attempt = 0
        while true {
            attempt += 1
            try Task.checkCancellation()
            guard let entry = try await base.read(key) else { return nil }
            let envelope = try decodeEnvelope(entry.value, key: key, operation: .read)
            let now = clock.now
            if envelope.isExpired(at: now) {
                await purge(key, storedETag: entry.metadata.etag)
                return nil
            }
            let payload = Data(entry.value.dropFirst(ExpiryEnvelope.size))
            // After many lost races the value is returned without its refresh rather than not at all.
            guard canRefresh, attempt < Self.maximumAttempts, let refreshed = envelope.refreshed(at: now) else {
                return StoreEntry(value: payload, metadata: layerMetadata(entry.metadata, envelope))
            }
            do {
                let written = try await base.write(refreshed.encoded() + payload, for: key, options: WriteOptions(
                    condition: .ifMatches(entry.metadata.etag), expiry: baseExpiry(for: refreshed)))
                return StoreEntry(value: payload, metadata: layerMetadata(written, refreshed))
            } catch let error as StoreError where error.code == .conditionFailed {
                continue  // written or refreshed by someone else meanwhile: read it again
            }
        }
    }

    /// Opens `key` for streaming and reads its envelope from the first bytes.
    func openPayload(_ key: StoreKey, chunkSize: Int) async throws -> OpenedPayload? {
        guard let streamed = try await base.readStream(key, chunkSize: Swift.max(chunkSize, ExpiryEnvelope.size)) else {
            return nil
        }
        var iterator = streamed.chunks.makeAsyncIterator()
        var head = Data()
        while head.count < ExpiryEnvelope.size, let chunk = try await iterator.next() {
            head.append(chunk)
        }
        let envelope = try decodeEnvelope(head, key: key, operation: .read)
        let payload = EnvelopedStreamRemainder.chunks(pending: Data(head.dropFirst(ExpiryEnvelope.size)),
                                                      iterator: iterator, chunkSize: chunkSize)
        return OpenedPayload(metadata: streamed.metadata, envelope: envelope, payload: payload)
    }

    func envelopeReadStream(_ key: StoreKey, chunkSize: Int) async throws -> StreamedEntry? {
        let chunkSize = Swift.max(1, chunkSize)
        var refreshed = false
        while true {
            try Task.checkCancellation()
            guard let opened = try await openPayload(key, chunkSize: chunkSize) else { return nil }
            let now = clock.now
            if opened.envelope.isExpired(at: now) {
                await purge(key, storedETag: opened.metadata.etag)
                return nil
            }
            // A sliding refresh streams the value through once more, behind the new envelope,
            // then the entry is opened again for the caller. At most one refresh per call.
            if !refreshed, canRefresh, let renewed = opened.envelope.refreshed(at: now) {
                refreshed = true
                try await rewrite(key, behind: renewed, ifStillAt: opened.metadata.etag)
                continue
            }
            return StreamedEntry(metadata: layerMetadata(opened.metadata, opened.envelope), chunks: opened.payload)
        }
    }

    /// Rewrites the entry under `key` behind `envelope`, streaming its value through in large
    /// chunks, if it still holds the version `storedETag`; a change meanwhile is left alone.
    private func rewrite(_ key: StoreKey, behind envelope: ExpiryEnvelope, ifStillAt storedETag: ETag) async throws {
        guard let source = try await openPayload(key, chunkSize: 1 << 20), source.metadata.etag == storedETag else { return }
        do {
            _ = try await base.write(contentsOf: EnvelopedChunks(header: envelope.encoded(), chunks: source.payload), for: key,
                                     options: WriteOptions(condition: .ifMatches(storedETag), expiry: baseExpiry(for: envelope)))
        } catch let error as StoreError where error.code == .conditionFailed {
            // Written or refreshed by someone else meanwhile: their version stands.
        }
    }

    func envelopeMetadata(_ key: StoreKey) async throws -> EntryMetadata? {
        try await peekLive(key, operation: .metadata).map { layerMetadata($0.metadata, $0.envelope) }
    }

    // MARK: Writing

    /// The error for a condition that does not hold, in this layer's terms.
    func conditionFailed(_ condition: String, _ key: StoreKey, _ operation: StoreOperation, holding: ETag?) -> StoreError {
        StoreError(.conditionFailed, operation: operation, key: key, store: description,
                   message: "condition \(condition) failed: the key " + (holding.map { "holds version \($0)" } ?? "holds no value"))
    }

    /// The error for an option the base cannot support.
    func baseLacks(_ option: String, _ capability: String, _ key: StoreKey, _ operation: StoreOperation) -> StoreError {
        StoreError(.notSupported, operation: operation, key: key, store: description,
                   message: "\(option) needs \(capability) in the base store '\(base.description)', which has none")
    }

    /// The error after too many attempts lost to concurrent changes.
    func gaveUp(_ key: StoreKey, _ operation: StoreOperation) -> StoreError {
        StoreError(.conditionFailed, operation: operation, key: key, store: description,
                   message: "gave up after \(Self.maximumAttempts) attempts: the entry kept changing underneath")
    }

    func envelopeWrite(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        let envelope = try makeEnvelope(for: options.expiry, key: key)
        let bytes = envelope.encoded() + value
        let expiry = baseExpiry(for: envelope)
        let condition = options.condition
        if condition.isAlways {
            return layerMetadata(try await base.write(bytes, for: key, options: WriteOptions(expiry: expiry)), envelope)
        }
        guard base.capabilities.contains(.conditionalWrites) else {
            throw baseLacks("condition \(condition)", "conditional writes", key, .write)
        }
        for _ in 1...Self.maximumAttempts {
            try Task.checkCancellation()
            var baseCondition = WriteCondition.ifAbsent
            if condition.requiresAbsence {
                do {
                    return layerMetadata(try await base.write(bytes, for: key, options: WriteOptions(condition: .ifAbsent, expiry: expiry)), envelope)
                } catch let error as StoreError where error.code == .conditionFailed {
                    // Something is stored: replace it if it has expired.
                }
                guard let current = try await peek(key, operation: .write) else { continue }
                if !current.envelope.isExpired(at: clock.now) {
                    throw conditionFailed(condition.description, key, .write, holding: current.envelope.etag)
                }
                baseCondition = .ifMatches(current.metadata.etag)
            } else if let expected = condition.expectedETag {
                let current = try await peekLive(key, operation: .write)
                guard let current, current.envelope.etag == expected else {
                    throw conditionFailed(condition.description, key, .write, holding: current?.envelope.etag)
                }
                baseCondition = .ifMatches(current.metadata.etag)
            }
            do {
                return layerMetadata(try await base.write(bytes, for: key, options: WriteOptions(condition: baseCondition, expiry: expiry)), envelope)
            } catch let error as StoreError where error.code == .conditionFailed {
                continue  // a refresh or another write slipped in: judge the condition again
            }
        }
        throw gaveUp(key, .write)
    }

    func envelopeWrite<Chunks: AsyncSequence & Sendable>(
        contentsOf chunks: Chunks, for key: StoreKey, options: WriteOptions
    ) async throws -> EntryMetadata where Chunks.Element == Data {
        let envelope = try makeEnvelope(for: options.expiry, key: key)
        let header = envelope.encoded()
        let enveloped = EnvelopedChunks(header: header, chunks: ValueChunks(chunks, checkedAgainst: options, key: key, store: description))
        let condition = options.condition
        var baseCondition = WriteCondition.always
        if !condition.isAlways {
            guard base.capabilities.contains(.conditionalWrites) else {
                throw baseLacks("condition \(condition)", "conditional writes", key, .write)
            }
            // The chunks can be read only once, so the condition is judged before they are.
            let current = try await peek(key, operation: .write)
            let live = current.flatMap { $0.envelope.isExpired(at: clock.now) ? nil : $0 }
            if condition.requiresAbsence {
                if let live { throw conditionFailed(condition.description, key, .write, holding: live.envelope.etag) }
                baseCondition = current.map { .ifMatches($0.metadata.etag) } ?? .ifAbsent
            } else if let expected = condition.expectedETag {
                guard let live, live.envelope.etag == expected else {
                    throw conditionFailed(condition.description, key, .write, holding: live?.envelope.etag)
                }
                baseCondition = .ifMatches(live.metadata.etag)
            }
        }
        do {
            let written = try await base.write(contentsOf: enveloped, for: key,
                                               options: WriteOptions(condition: baseCondition, expiry: baseExpiry(for: envelope),
                                                                    expectedSize: options.expectedSize.map { $0 + Int64(header.count) }))
            return layerMetadata(written, envelope)
        } catch let error as StoreError where error.code == .conditionFailed && !condition.isAlways {
            throw StoreError(.conditionFailed, operation: .write, key: key, store: description,
                             message: "condition \(condition) failed: the entry changed while the value was streaming "
                                 + "(a streamed value cannot be replayed; write it again)", underlying: error)
        }
    }

    // MARK: Deleting

    func envelopeDelete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool {
        let conditional = base.capabilities.contains(.conditionalDeletes)
        if condition.expectedETag != nil, !conditional {
            throw baseLacks("condition \(condition)", "conditional deletes", key, .delete)
        }
        for _ in 1...Self.maximumAttempts {
            try Task.checkCancellation()
            let current = try await peek(key, operation: .delete)
            let isLive = current.map { !$0.envelope.isExpired(at: clock.now) } ?? false
            if let expected = condition.expectedETag, !(isLive && current?.envelope.etag == expected) {
                throw conditionFailed(condition.description, key, .delete, holding: isLive ? current?.envelope.etag : nil)
            }
            guard let current else { return false }
            guard conditional else {
                _ = try await base.delete(key, condition: .always)
                return isLive
            }
            do {
                _ = try await base.delete(key, condition: .ifMatches(current.metadata.etag))
                return isLive
            } catch let error as StoreError where error.code == .conditionFailed {
                continue  // a refresh or a write slipped in: look again
            }
        }
        throw gaveUp(key, .delete)
    }
}
