import Foundation
import Synchronization

/// Leases taken in one step of a store that is ``OrderedUpdating``: the store walks the
/// queue's elements from the front, oldest first, and the queue's own rules (in `decide`) pick
/// the free ones and write their leases, all in one transaction.
extension DurableQueue {
    /// How many elements one native step looks at, at most: the elements held by other
    /// consumers at the front of the queue are passed over inside the step, and past this many
    /// the queue goes on with its scan instead.
    static var nativeStepExamines: Int { 1_024 }

    /// What a native step's `decide` saw and chose.
    private struct NativeWalk {
        var leases: [Lease] = []
        var retired: [StoreEntry] = []
        var foreign: EntryMetadata?
    }

    /// A walk's state, shared with `decide` (which may run on another thread).
    private final class NativeWalkBox: Sendable {
        let state = Mutex(NativeWalk())
    }

    /// Up to `wanted` deliveries of the oldest free elements (past `after`, when given), taken
    /// in one step of `native`; and whether the step looked at every element (when it did not,
    /// the scan may find more).
    func claimNatively(
        _ native: any OrderedUpdating, after: StoreKey? = nil, wanted: Int, now: Date
    ) async throws -> (deliveries: [Delivery], sawEverything: Bool) {
        let token = Self.newToken()
        let leaseUntil = now.addingTimeInterval(configuration.leaseDuration.timeInterval)
        let maximumDeliveries = configuration.maximumDeliveries
        let box = NativeWalkBox()
        let result = try await native.updateInKeyOrder(withPrefix: items.rawValue + "/", after: after,
                                                    examining: Self.nativeStepExamines) { entry in
            box.state.withLock { walk -> OrderedUpdate in
                guard walk.leases.count < wanted else { return .stop }
                let key = entry.metadata.key
                guard var record = QueueRecord(entry.value) else {
                    // Reported once, as the scan does, by a call that meets it first from the
                    // front (so that no lease of this call is lost to the error); passed over
                    // otherwise.
                    guard after == nil, walk.leases.isEmpty, !self.foreignElements.withLock({ $0.contains(key) }) else { return .keep }
                    walk.foreign = entry.metadata
                    return .stop
                }
                if record.isLeased(at: now) { return .keep }
                if let maximumDeliveries, record.deliveries >= maximumDeliveries {
                    walk.retired.append(entry)
                    return .keep
                }
                record.deliveries += 1
                record.leaseToken = token
                record.leaseUntil = leaseUntil
                let value = record.encoded()
                walk.leases.append(Lease(key: key, record: record, write: BatchWrite(key, value)))
                return .replace(value)
            }
        }
        let outcome = box.state.withLock { $0 }
        for entry in outcome.retired { try await retire(entry.metadata.key, entry) }
        // Reported once by this queue value, as the scan does, then passed over.
        if let foreign = outcome.foreign {
            foreignElements.withLock { _ = $0.insert(foreign.key) }
            throw notAnElement(foreign)
        }
        guard result.replaced.count == outcome.leases.count else {
            throw StoreError(.integrity, operation: .write, store: description,
                             message: "the store replaced \(result.replaced.count) entries, not the \(outcome.leases.count) leased")
        }
        var deliveries: [Delivery] = []
        var firstFailure: StoreError?
        for (lease, metadata) in zip(outcome.leases, result.replaced) {
            do {
                deliveries.append(try delivered(lease, etag: metadata.etag))
            } catch let error as StoreError {
                firstFailure = firstFailure ?? error
            }
        }
        if let firstFailure { throw firstFailure }
        // Retired elements were looked at but not delivered: another step may find more.
        let sawEverything = result.reachedTheEnd && outcome.retired.isEmpty
        return (deliveries, sawEverything || deliveries.count == wanted)
    }
}
