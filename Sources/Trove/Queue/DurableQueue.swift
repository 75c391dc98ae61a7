public import Foundation
import Synchronization

/// A first-in, first-out queue of elements on any store with conditional writes, that survives
/// restarts and hands each element to one consumer at a time, across processes.
///
///     let jobs = try DurableQueue<Job>(store: store, namespace: "jobs")
///     try await jobs.enqueue(Job(url: "https://example.com"))
///
///     // In any number of consumers, in any number of processes:
///     if let delivery = try await jobs.dequeue(waitingUpTo: .seconds(5)) {
///         try await process(delivery.element)
///         try await jobs.acknowledge(delivery.receipt)
///     }
///
/// **Leases.** `dequeue` takes a lease on the oldest element no one holds: until the lease runs
/// out (``Configuration/leaseDuration``) no other consumer receives the element.
/// ``acknowledge(_:)`` removes it for good, and succeeds only while the lease is the caller's:
/// an element is acknowledged at most once. An element whose lease runs out unacknowledged (its
/// consumer died, or was too slow) is delivered again, with its ``Delivery/deliveryCount``
/// raised; after ``Configuration/maximumDeliveries`` it moves to the dead-letter namespace, if
/// one is configured, instead of being delivered again.
///
/// **Order.** Each element is one entry under `namespace/items/`, named by a time-ordered key
/// (see ``TimeOrderedKeyGenerator``): elements of one producer are delivered in the order they
/// were enqueued, and those of several producers by the time they were enqueued (to the
/// millisecond, as far as the producers' clocks agree). An element delivered again keeps its
/// place.
///
/// **How.** Taking a lease is a compare-and-swap of the element's entry (its ETag), and
/// acknowledging is a delete on the ETag of that lease, so the guarantees are those of the
/// store's conditional writes: they hold across processes for stores that are
/// ``StoreCapabilities/sharedAcrossProcesses``. Nothing else is kept: a queue opened again after
/// its process died holds every element that was enqueued and not acknowledged.
///
/// **Cost.** An enqueue is one conditional write. A delivery is one conditional write (the
/// lease) and an acknowledgement one conditional delete (on the ETag the lease wrote, which the
/// receipt carries); the queue lists its elements a page at a time and reads each page's
/// entries with one ``KeyValueStore/readBatch(_:)``. The batch calls
/// (``enqueue(contentsOf:)``, ``dequeue(upTo:)``, ``acknowledge(contentsOf:)``) make each of
/// those one ``KeyValueStore/writeBatch(_:)`` or ``KeyValueStore/deleteBatch(_:)``: one
/// transaction on SQLite, one pipeline on Redis.
///
/// **Native leases.** On a store that is ``OrderedUpdating`` (`SQLiteStore` of the `TroveSQLite`
/// module, not behind layers), ``dequeue(upTo:)`` takes each batch of up to ``batchSize`` in one
/// step of the store instead: one transaction that walks the queue from its oldest element, passes over those
/// held by other consumers and writes the leases of the free ones (about twice the rate of the
/// general path on SQLite). When more than 1,024 elements at the front are held, it goes on
/// with its scan as on any other store. A single ``dequeue()`` keeps the general path, whose
/// reads run ahead of its one write: a transaction of its own per element costs more.
///
/// A queue value may be used by many tasks at once; it remembers where its last scan of the
/// queue stopped, so consumers do not list the whole queue for every element.
public final class DurableQueue<Element: Sendable>: Sendable, CustomStringConvertible {
    /// How a queue leases and retires its elements.
    public struct Configuration: Sendable {
        /// How long a consumer holds an element before it is delivered again. Defaults to 30
        /// seconds.
        public var leaseDuration: Duration
        /// After how many deliveries an element is retired instead of delivered again; `nil`
        /// (the default) for no limit.
        public var maximumDeliveries: Int?
        /// Where retired elements go (their entries move there, under the same names); `nil`
        /// (the default) deletes them.
        public var deadLetterNamespace: KeyNamespace?
        /// How often a waiting `dequeue` looks again, at first; it backs off to a second.
        /// Defaults to 20 milliseconds.
        public var pollInterval: Duration

        /// Creates a configuration; every parameter has the default described on its property.
        public init(
            leaseDuration: Duration = .seconds(30), maximumDeliveries: Int? = nil,
            deadLetterNamespace: KeyNamespace? = nil, pollInterval: Duration = .milliseconds(20)
        ) {
            self.leaseDuration = leaseDuration
            self.maximumDeliveries = maximumDeliveries
            self.deadLetterNamespace = deadLetterNamespace
            self.pollInterval = pollInterval
        }
    }

    /// An element handed to a consumer, with what it needs to acknowledge it.
    public struct Delivery: Sendable {
        /// The element.
        public let element: Element
        /// What ``DurableQueue/acknowledge(_:)`` needs.
        public let receipt: QueueReceipt
        /// How many times the element has been delivered, this time included (1 the first time).
        public let deliveryCount: Int
        /// When the lease runs out, unless it is extended.
        public let leaseExpiration: Date
        /// When the element was enqueued.
        public let enqueuedAt: Date
    }

    /// The store that holds the elements.
    public let store: any KeyValueStore
    /// The namespace of the queue's entries.
    public let namespace: KeyNamespace
    /// The codec of the elements.
    public let codec: AnyValueCodec<Element>
    /// How the queue leases and retires elements.
    public let configuration: Configuration

    let clock: WallClock
    let items: StoreKey
    private let keys: TimeOrderedKeyGenerator
    let scan = Mutex(ScanState())
    /// The store's native lease step, when it has one (see ``OrderedUpdating``).
    let native: (any OrderedUpdating)?
    /// Entries under `items/` that are not queue elements: each is reported once (an integrity
    /// error), then passed over and left as it is.
    let foreignElements = Mutex(Set<StoreKey>())

    /// Opens the queue kept under `namespace` of `store` (there is nothing to create).
    ///
    /// - Throws: ``StoreError/Code/notSupported`` when the store lacks conditional writes or
    ///   deletes; ``StoreError/Code/invalidArgument`` for a lease shorter than a millisecond or
    ///   a maximum below 1.
    public init(
        store: some KeyValueStore, namespace: KeyNamespace, codec: AnyValueCodec<Element>,
        configuration: Configuration = Configuration(), clock: WallClock = .system
    ) throws {
        self.store = store
        self.native = store as? any OrderedUpdating
        self.namespace = namespace
        self.codec = codec
        self.configuration = configuration
        self.clock = clock
        self.keys = TimeOrderedKeyGenerator(clock: clock)
        self.items = try namespace.key.appending(StoreKey(validating: "items"))
        let description = "queue \(namespace) in \(store.description)"
        guard store.capabilities.isSuperset(of: [.conditionalWrites, .conditionalDeletes]) else {
            throw StoreError(.notSupported, operation: .open, store: description,
                             message: "a durable queue needs a store with conditional writes and deletes")
        }
        guard configuration.leaseDuration >= .milliseconds(1) else {
            throw StoreError(.invalidArgument, operation: .open, store: description,
                             message: "the lease must last at least a millisecond, not \(configuration.leaseDuration)")
        }
        if let maximum = configuration.maximumDeliveries, maximum < 1 {
            throw StoreError(.invalidArgument, operation: .open, store: description,
                             message: "the maximum number of deliveries must be at least 1, not \(maximum)")
        }
    }

    /// `queue <namespace>/ in <store>`.
    public var description: String { "queue \(namespace) in \(store.description)" }

    // MARK: Producing

    /// Appends `element` to the queue.
    ///
    /// - Returns: The element's identifier (its key under `namespace/items/`).
    /// - Throws: ``StoreError/Code/invalidArgument`` when the codec cannot encode it; the
    ///   store's errors.
    @discardableResult
    public func enqueue(_ element: Element) async throws -> StoreKey {
        let write = try newElement(try encode(element), enqueuedAt: clock.now)
        _ = try await store.write(write.value, for: write.key, options: write.options)
        return write.key
    }

    /// Appends `elements` in order, with one ``KeyValueStore/writeBatch(_:)`` per
    /// ``batchSize`` elements (one transaction each on SQLite).
    ///
    /// Every element is encoded before anything is written. When a batch fails, the batches
    /// before it stay enqueued, and so do the elements of its own that the store wrote (none,
    /// on a store with ``StoreCapabilities/atomicBatches``); the error names the first element
    /// that failed.
    ///
    /// - Returns: Their identifiers, in order.
    /// - Throws: ``StoreError/Code/invalidArgument`` when the codec cannot encode one (nothing
    ///   is enqueued then); the store's errors.
    @discardableResult
    public func enqueue(contentsOf elements: some Sequence<Element>) async throws -> [StoreKey] {
        let payloads = try elements.map { try encode($0) }
        var identifiers: [StoreKey] = []
        identifiers.reserveCapacity(payloads.count)
        var start = 0
        while start < payloads.count {
            let now = clock.now
            let writes = try payloads[start..<min(start + Self.batchSize, payloads.count)].map {
                try newElement($0, enqueuedAt: now)
            }
            let results = try await store.writeBatch(writes)
            for result in results { _ = try result.get() }
            identifiers.append(contentsOf: writes.map(\.key))
            start += writes.count
        }
        return identifiers
    }

    /// How many elements one store batch of ``enqueue(contentsOf:)``, ``dequeue(upTo:)`` or
    /// ``acknowledge(contentsOf:)`` holds at most.
    public static var batchSize: Int { 256 }

    private func encode(_ element: Element) throws -> Data {
        do {
            return try codec.encode(element)
        } catch {
            throw StoreError(.invalidArgument, operation: .write, store: description,
                             message: "the element cannot be encoded with codec '\(codec.name)'; nothing was enqueued",
                             underlying: error)
        }
    }

    /// The write that enqueues `payload` under a new time-ordered key.
    private func newElement(_ payload: Data, enqueuedAt: Date) throws -> BatchWrite {
        let record = QueueRecord(deliveries: 0, leaseUntil: Date(timeIntervalSinceReferenceDate: 0), leaseToken: 0,
                                 enqueuedAt: enqueuedAt, payload: payload)
        return BatchWrite(try keys.makeKey(under: items), record.encoded(), options: WriteOptions(condition: .ifAbsent))
    }

    // MARK: Consuming

    /// Takes a lease on the oldest element that no one holds.
    ///
    /// - Returns: The delivery, or `nil` when every element is held by a consumer or the queue
    ///   is empty.
    /// - Throws: ``StoreError/Code/decodingFailed`` when the element's bytes do not decode (the
    ///   lease is taken, so it comes back when the lease runs out, or is retired after
    ///   ``Configuration/maximumDeliveries``); the store's errors.
    public func dequeue() async throws -> Delivery? {
        var startedFromTheFront = false
        while true {
            try Task.checkCancellation()
            let now = clock.now
            // The listed elements are read a window at a time, just before they are tried.
            if let window = scan.withLock({ $0.windowToRead() }) {
                let entries = try await store.readBatch(window.keys)
                scan.withLock { $0.fill(window, with: entries) }
            }
            if let candidate = scan.withLock({ $0.nextCandidate(at: now) }) {
                if let delivery = try await claim(candidate.key, listed: candidate.entry, now: now) { return delivery }
                continue
            }
            guard try await listNextPage(&startedFromTheFront) else { return nil }
        }
    }

    /// Takes one lease on up to `maximum` of the oldest elements that no one holds, with one
    /// ``KeyValueStore/writeBatch(_:)`` (one transaction on SQLite) for each batch of
    /// ``batchSize``; each delivery has its own receipt.
    ///
    /// - Returns: The deliveries, oldest first: fewer than `maximum` (none) when no more
    ///   elements are free.
    /// - Throws: ``StoreError/Code/invalidArgument`` for a `maximum` below 1;
    ///   ``StoreError/Code/decodingFailed`` when an element's bytes do not decode (the leases
    ///   of the batch are taken, so its elements come back when they run out); the store's
    ///   errors.
    public func dequeue(upTo maximum: Int) async throws -> [Delivery] {
        guard maximum >= 1 else {
            throw StoreError(.invalidArgument, operation: .write, store: description,
                             message: "a batch dequeue takes at least 1 element, not \(maximum)")
        }
        var deliveries: [Delivery] = []
        var scans = true
        if let native {
            while deliveries.count < maximum {
                try Task.checkCancellation()
                let wanted = min(maximum - deliveries.count, Self.batchSize)
                // Each step after the first goes on past the last element the one before took.
                let (taken, sawEverything) = try await claimNatively(native, after: deliveries.last?.receipt.id,
                                                                     wanted: wanted, now: clock.now)
                deliveries += taken
                if taken.count < wanted {
                    // Unless more elements are held than one step looks at, nothing is left.
                    scans = !sawEverything
                    break
                }
            }
        }
        var startedFromTheFront = false
        while scans, deliveries.count < maximum {
            try Task.checkCancellation()
            let now = clock.now
            let wanted = min(maximum - deliveries.count, Self.batchSize)
            let candidates = scan.withLock { scan in
                var candidates: [ScanState.Candidate] = []
                while candidates.count < wanted, let candidate = scan.nextCandidate(at: now) { candidates.append(candidate) }
                return candidates
            }
            if candidates.isEmpty {
                guard try await listNextPage(&startedFromTheFront) else { break }
                continue
            }
            deliveries += try await claim(candidates, now: now)
        }
        // Elements read again after a failed lease come after the others of their round.
        deliveries.sort { $0.receipt.id < $1.receipt.id }
        return deliveries
    }

    /// Lists the next page of the scan's pass; once a pass has reached the end, starts another
    /// from the front, at most once per call. Returns `false` when that second pass has
    /// reached the end too.
    private func listNextPage(_ startedFromTheFront: inout Bool) async throws -> Bool {
        let cursor = scan.withLock { $0.cursor }
        if cursor == nil {
            if startedFromTheFront { return false }
            startedFromTheFront = true
        }
        let page = try await store.listPage(try ListQuery(prefix: items.rawValue + "/"), after: cursor,
                                            limit: ScanState.pageSize)
        let keys = page.elements.compactMap(\.key)
        scan.withLock { $0.refill(with: keys, next: page.nextCursor) }
        return true
    }

    /// Takes a lease on the oldest element that no one holds, waiting for one up to `timeout`.
    ///
    /// Polls the store, first after ``Configuration/pollInterval``, then at doubling intervals
    /// up to a second; the waits are the queue's clock's, so a ``ManualWallClock`` makes them
    /// take no real time.
    ///
    /// - Returns: The delivery, or `nil` when none came within `timeout`.
    public func dequeue(waitingUpTo timeout: Duration) async throws -> Delivery? {
        let deadline = clock.now.addingTimeInterval(timeout.timeInterval)
        var pause = configuration.pollInterval
        while true {
            if let delivery = try await dequeue() { return delivery }
            let remaining = deadline.timeIntervalSince(clock.now)
            guard remaining > 0 else { return nil }
            try await clock.sleep(for: min(pause, .nanoseconds(Int64(remaining * 1e9))))
            pause = min(pause * 2, .seconds(1))
        }
    }

    /// The deliveries of this queue as they come, waiting while the queue is empty; the
    /// sequence ends when the task is cancelled. Each delivery must still be acknowledged.
    ///
    ///     for try await delivery in queue.deliveries() {
    ///         try await handle(delivery.element)
    ///         try await queue.acknowledge(delivery.receipt)
    ///     }
    public func deliveries() -> Deliveries { Deliveries(queue: self) }

    /// The deliveries of a queue, as an asynchronous sequence; see ``DurableQueue/deliveries()``.
    public struct Deliveries: AsyncSequence, Sendable {
        /// A delivery of the queue.
        public typealias Element = Delivery
        let queue: DurableQueue

        /// Waits for the next delivery.
        public struct AsyncIterator: AsyncIteratorProtocol {
            let queue: DurableQueue

            /// The next delivery; `nil` once the task is cancelled.
            public mutating func next() async throws -> Delivery? {
                while !Task.isCancelled {
                    if let delivery = try await queue.dequeue(waitingUpTo: .seconds(1)) { return delivery }
                }
                return nil
            }
        }

        /// Starts waiting for deliveries.
        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(queue: queue) }
    }

    /// Removes the delivered element for good.
    ///
    /// - Throws: ``StoreError/Code/conditionFailed`` when the lease is no longer the receipt's
    ///   (it ran out and the element was delivered again, or it was acknowledged already); the
    ///   element is then left to its current holder.
    public func acknowledge(_ receipt: QueueReceipt) async throws {
        if let etag = receipt.leaseETag {
            // The entry as the lease wrote it: its ETag is that of bytes holding the lease's
            // token, so a match means the lease is still the receipt's.
            do {
                _ = try await store.delete(receipt.id, condition: .ifMatches(etag))
                scan.withLock { $0.forget(receipt.id) }
                return
            } catch let error as StoreError where error.code == .conditionFailed {
                // Extended or given back since, or lost: the entry says which.
            }
        }
        let (_, etag) = try await heldRecord(receipt, operation: .delete)
        do {
            _ = try await store.delete(receipt.id, condition: .ifMatches(etag))
        } catch let error as StoreError where error.code == .conditionFailed {
            throw leaseLost(receipt, .delete)
        }
        scan.withLock { $0.forget(receipt.id) }
    }

    /// Removes the delivered elements of `receipts` for good, with one
    /// ``KeyValueStore/deleteBatch(_:)`` per ``batchSize`` receipts; an element whose lease
    /// is no longer its receipt's is left to its current holder.
    ///
    /// - Returns: The receipts whose lease was over (their elements were acknowledged already,
    ///   or delivered again), in the order given; empty when every element was removed.
    /// - Throws: The store's errors, after which any of the elements may or may not have been
    ///   removed.
    @discardableResult
    public func acknowledge(contentsOf receipts: some Sequence<QueueReceipt>) async throws -> [QueueReceipt] {
        let receipts = Array(receipts)
        var lost: [Int] = []
        var start = 0
        while start < receipts.count {
            let batch = start..<min(start + Self.batchSize, receipts.count)
            start = batch.upperBound
            let quick = batch.filter { receipts[$0].leaseETag != nil }
            var slow = batch.filter { receipts[$0].leaseETag == nil }
            if !quick.isEmpty {
                let results = try await store.deleteBatch(quick.map {
                    BatchDelete(receipts[$0].id, condition: .ifMatches(receipts[$0].leaseETag!))
                })
                for (index, result) in zip(quick, results) {
                    switch result {
                    case .success: scan.withLock { $0.forget(receipts[index].id) }
                    // Extended or given back since, lost, or (in an atomic batch) with one that was.
                    case .failure(let error) where error.code == .conditionFailed: slow.append(index)
                    case .failure(let error): throw error
                    }
                }
            }
            for index in slow.sorted() {
                do {
                    try await acknowledge(QueueReceipt(id: receipts[index].id, token: receipts[index].token))
                } catch let error as StoreError where error.code == .conditionFailed {
                    lost.append(index)
                }
            }
        }
        return lost.sorted().map { receipts[$0] }
    }

    /// Gives the delivered element back at once, for another consumer (or this one) to take,
    /// without acknowledging it. Its delivery count stays raised.
    ///
    /// - Throws: ``StoreError/Code/conditionFailed`` when the lease is no longer the receipt's.
    public func release(_ receipt: QueueReceipt) async throws {
        var (record, etag) = try await heldRecord(receipt, operation: .write)
        record.leaseToken = 0
        record.leaseUntil = Date(timeIntervalSinceReferenceDate: 0)
        try await replace(receipt, record, etag)
        scan.withLock { $0.remember(receipt.id) }
    }

    /// Extends the lease of a delivered element to `duration` from now, for work that takes
    /// longer than the lease.
    ///
    /// - Returns: When the lease now runs out.
    /// - Throws: ``StoreError/Code/conditionFailed`` when the lease is no longer the receipt's.
    @discardableResult
    public func extendLease(_ receipt: QueueReceipt, by duration: Duration) async throws -> Date {
        var (record, etag) = try await heldRecord(receipt, operation: .write)
        record.leaseUntil = clock.now.addingTimeInterval(duration.timeInterval)
        try await replace(receipt, record, etag)
        scan.withLock { $0.defer(receipt.id, until: record.leaseUntil) }
        return record.leaseUntil
    }

    /// The number of elements not yet acknowledged, those under lease included.
    public func count() async throws -> Int {
        try await store.count(withPrefix: items.rawValue + "/")
    }

    /// Whether every element has been acknowledged.
    public func isEmpty() async throws -> Bool {
        try await store.isEmpty(withPrefix: items.rawValue + "/")
    }
}

extension DurableQueue where Element: Codable {
    /// Opens the queue kept under `namespace` of `store`, with elements in JSON.
    public convenience init(
        store: some KeyValueStore, namespace: KeyNamespace, configuration: Configuration = Configuration(),
        clock: WallClock = .system
    ) throws {
        try self.init(store: store, namespace: namespace, codec: .json, configuration: configuration, clock: clock)
    }
}
