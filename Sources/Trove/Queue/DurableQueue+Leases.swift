import Foundation
import Synchronization

/// Taking, checking and giving up leases: the compare-and-swaps behind `dequeue`, and the
/// reads behind `release` and `extendLease`.
extension DurableQueue {
    /// Takes a lease on the element under `key` if no one holds it; `nil` when it is gone, held
    /// (remembered for when its lease runs out), retired, or taken by someone else first.
    /// `listed` is the entry as its page read it, which may have changed since: when its
    /// compare-and-swap fails, the entry is read again once.
    func claim(_ key: StoreKey, listed: StoreEntry??, now: Date) async throws -> Delivery? {
        let entry: StoreEntry
        switch listed {
        case .some(.none): return nil
        case .some(.some(let read)): entry = read
        case .none:
            guard let read = try await store.read(key) else { return nil }
            entry = read
        }
        guard let lease = try await prepareLease(key, entry, token: Self.newToken(), now: now) else { return nil }
        let metadata: EntryMetadata
        do {
            metadata = try await store.write(lease.write.value, for: key, options: lease.write.options)
        } catch let error as StoreError where error.code == .conditionFailed {
            return listed == nil ? nil : try await claim(key, listed: nil, now: now)
        }
        return try delivered(lease, etag: metadata.etag)
    }

    /// Takes one lease on each free element of `candidates` with one batch of writes.
    func claim(_ candidates: [ScanState.Candidate], now: Date) async throws -> [Delivery] {
        // Elements not read ahead (met again after their lease ran out, say): read now, at once.
        var entries = candidates.map(\.entry)
        let unread = candidates.indices.filter { entries[$0] == nil }
        if !unread.isEmpty {
            let read = try await store.readBatch(unread.map { candidates[$0].key })
            for (index, entry) in zip(unread, read) { entries[index] = .some(entry) }
        }
        let token = Self.newToken()
        var leases: [(lease: Lease, listed: Bool)] = []
        for (index, (candidate, entry)) in zip(candidates, entries).enumerated() {
            guard let entry = entry ?? nil else { continue }
            // An entry that is not an element is reported only when it comes first (no lease of
            // this batch is lost to the error); after leases it is passed over, for a later call.
            do {
                if let lease = try await prepareLease(candidate.key, entry, token: token, now: now,
                                                      reportsForeignEntry: leases.isEmpty) {
                    leases.append((lease, candidate.entry != nil))
                }
            } catch {
                // Nothing of this batch is written yet: the candidates after it are tried later.
                scan.withLock { scan in candidates[(index + 1)...].forEach { scan.remember($0.key) } }
                throw error
            }
        }
        guard !leases.isEmpty else { return [] }
        let results = try await store.writeBatch(leases.map(\.lease.write))
        var deliveries: [Delivery] = []
        var firstFailure: StoreError?
        var readAgain: [StoreKey] = []
        for ((lease, listed), result) in zip(leases, results) {
            switch result {
            case .success(let metadata):
                do {
                    deliveries.append(try delivered(lease, etag: metadata.etag))
                } catch let error as StoreError {
                    firstFailure = firstFailure ?? error
                }
            case .failure(let error) where error.code == .conditionFailed:
                // The entry changed since its page read it, or (in an atomic batch) another
                // entry's did: read it again. Read just now and taken since: another consumer
                // has it.
                if listed || Self.wasAbortedByAnother(error) { readAgain.append(lease.key) }
            case .failure(let error):
                firstFailure = firstFailure ?? error
            }
        }
        if !readAgain.isEmpty { scan.withLock { scan in readAgain.forEach { scan.remember($0) } } }
        if let firstFailure { throw firstFailure }
        return deliveries
    }

    /// A lease about to be written: the element's key, its record with the lease, and the
    /// conditional write that takes it.
    struct Lease {
        let key: StoreKey
        let record: QueueRecord
        let write: BatchWrite
    }

    /// The lease of `token` on the element `entry` holds, or `nil` when another consumer holds
    /// it (remembered for when its lease runs out) or it was retired.
    /// An entry that is not a queue element is reported (``notAnElement(_:)``) once by this
    /// queue value, and only when `reportsForeignEntry`; else it is passed over (`nil`).
    func prepareLease(
        _ key: StoreKey, _ entry: StoreEntry, token: UInt64, now: Date, reportsForeignEntry: Bool = true
    ) async throws -> Lease? {
        guard var record = QueueRecord(entry.value) else {
            guard reportsForeignEntry, foreignElements.withLock({ $0.insert(key).inserted }) else { return nil }
            throw notAnElement(entry.metadata)
        }
        if record.isLeased(at: now) {
            scan.withLock { $0.defer(key, until: record.leaseUntil) }
            return nil
        }
        if let maximum = configuration.maximumDeliveries, record.deliveries >= maximum {
            try await retire(key, entry)
            return nil
        }
        record.deliveries += 1
        record.leaseToken = token
        record.leaseUntil = now.addingTimeInterval(configuration.leaseDuration.timeInterval)
        return Lease(key: key, record: record,
                     write: BatchWrite(key, record.encoded(), options: WriteOptions(condition: .ifMatches(entry.metadata.etag))))
    }

    /// The delivery of a lease the store has written, with the ETag it wrote.
    func delivered(_ lease: Lease, etag: ETag) throws -> Delivery {
        // If the lease runs out unacknowledged, the element is tried again before later ones.
        scan.withLock { $0.defer(lease.key, until: lease.record.leaseUntil) }
        let element: Element
        do {
            element = try codec.decode(lease.record.payload)
        } catch {
            throw StoreError(.decodingFailed, operation: .read, key: lease.key, store: description,
                             message: "the element is not a valid \(Element.self) in codec '\(codec.name)'; "
                                + "it comes back when its lease runs out", underlying: error)
        }
        return Delivery(element: element, receipt: QueueReceipt(id: lease.key, token: lease.record.leaseToken, leaseETag: etag),
                        deliveryCount: Int(lease.record.deliveries), leaseExpiration: lease.record.leaseUntil,
                        enqueuedAt: lease.record.enqueuedAt)
    }

    /// The error for an entry under `items/` that is not a queue element.
    func notAnElement(_ metadata: EntryMetadata) -> StoreError {
        StoreError(.integrity, operation: .read, key: metadata.key, store: description,
                   message: "the entry is not a queue element (\(metadata.size) bytes); was it written by another program?")
    }

    /// Whether `error` is that of an entry of an atomic batch that failed for another entry
    /// (see ``StoreError/batchAborted(by:key:store:)``).
    static func wasAbortedByAnother(_ error: StoreError) -> Bool {
        guard let cause = error.underlying as? StoreError else { return false }
        return cause.key != error.key
    }

    /// A lease token: random, never 0 (which marks an element no one holds).
    static func newToken() -> UInt64 {
        var token: UInt64 = 0
        while token == 0 { token = UInt64.random(in: .min ... .max) }
        return token
    }

    /// Moves an element that was delivered too often to the dead-letter namespace, or deletes
    /// it; does nothing if another consumer changed it first.
    func retire(_ key: StoreKey, _ entry: StoreEntry) async throws {
        if let deadLetters = configuration.deadLetterNamespace {
            let target = try deadLetters.key.appending(StoreKey(validating: String(key.lastSegment)))
            do {
                _ = try await store.write(entry.value, for: target, options: WriteOptions(condition: .ifAbsent))
            } catch let error as StoreError where error.code == .conditionFailed {
                // Moved there already by a consumer that then died before deleting it here.
            }
        }
        do {
            _ = try await store.delete(key, condition: .ifMatches(entry.metadata.etag))
        } catch let error as StoreError where error.code == .conditionFailed {
            // Another consumer retired it or took it meanwhile.
        }
    }

    /// The element's record and ETag, if the receipt's lease is still its current one.
    func heldRecord(_ receipt: QueueReceipt, operation: StoreOperation) async throws -> (QueueRecord, ETag) {
        guard let entry = try await store.read(receipt.id), let record = QueueRecord(entry.value),
              record.leaseToken == receipt.token else {
            throw leaseLost(receipt, operation)
        }
        return (record, entry.metadata.etag)
    }

    func replace(_ receipt: QueueReceipt, _ record: QueueRecord, _ etag: ETag) async throws {
        do {
            _ = try await store.write(record.encoded(), for: receipt.id, options: WriteOptions(condition: .ifMatches(etag)))
        } catch let error as StoreError where error.code == .conditionFailed {
            throw leaseLost(receipt, .write)
        }
    }

    func leaseLost(_ receipt: QueueReceipt, _ operation: StoreOperation) -> StoreError {
        StoreError(.conditionFailed, operation: operation, key: receipt.id, store: description,
                   message: "the lease of this delivery is over: the element was acknowledged, or its lease ran out "
                    + "and it was delivered again")
    }
}
