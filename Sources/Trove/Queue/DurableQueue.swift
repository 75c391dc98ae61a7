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
    private let scan = Mutex(ScanState())

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
        let payload: Data
        do {
            payload = try codec.encode(element)
        } catch {
            throw StoreError(.invalidArgument, operation: .write, store: description,
                             message: "the element cannot be encoded with codec '\(codec.name)'; nothing was enqueued",
                             underlying: error)
        }
        let key = try keys.makeKey(under: items)
        let record = QueueRecord(deliveries: 0, leaseUntil: Date(timeIntervalSinceReferenceDate: 0), leaseToken: 0,
                                 enqueuedAt: clock.now, payload: payload)
        _ = try await store.write(record.encoded(), for: key, options: WriteOptions(condition: .ifAbsent))
        return key
    }

    /// Appends `elements` in order (each one write; a failure leaves those before it enqueued).
    ///
    /// - Returns: Their identifiers, in order.
    @discardableResult
    public func enqueue(contentsOf elements: some Sequence<Element>) async throws -> [StoreKey] {
        var identifiers: [StoreKey] = []
        for element in elements { identifiers.append(try await enqueue(element)) }
        return identifiers
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
        let query = try ListQuery(prefix: items.rawValue + "/")
        var startedFromTheFront = false
        while true {
            try Task.checkCancellation()
            let now = clock.now
            if let key = scan.withLock({ $0.nextCandidate(at: now) }) {
                if let delivery = try await claim(key, now: now) { return delivery }
                continue
            }
            // The listed keys are used up: list the next page of this pass; once a pass has
            // reached the end, start another from the front, at most once per call.
            let cursor = scan.withLock { $0.cursor }
            if cursor == nil {
                if startedFromTheFront { return nil }
                startedFromTheFront = true
            }
            let page = try await store.listPage(query, after: cursor, limit: ScanState.pageSize)
            scan.withLock { $0.refill(with: page.elements.compactMap(\.key), next: page.nextCursor) }
        }
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
        let (_, etag) = try await heldRecord(receipt, operation: .delete)
        do {
            _ = try await store.delete(receipt.id, condition: .ifMatches(etag))
        } catch let error as StoreError where error.code == .conditionFailed {
            throw leaseLost(receipt, .delete)
        }
        scan.withLock { $0.forget(receipt.id) }
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

    // MARK: Internals

    /// Takes a lease on the element under `key` if no one holds it; `nil` when it is gone, held
    /// (remembered for when its lease runs out), retired, or taken by someone else first.
    private func claim(_ key: StoreKey, now: Date) async throws -> Delivery? {
        guard let entry = try await store.read(key) else { return nil }
        guard var record = QueueRecord(entry.value) else {
            throw StoreError(.integrity, operation: .read, key: key, store: description,
                             message: "the entry is not a queue element (\(entry.value.count) bytes); was it written by another program?")
        }
        if record.isLeased(at: now) {
            scan.withLock { $0.defer(key, until: record.leaseUntil) }
            return nil
        }
        if let maximum = configuration.maximumDeliveries, record.deliveries >= maximum {
            try await retire(key, entry)
            return nil
        }
        var token: UInt64 = 0
        while token == 0 { token = UInt64.random(in: .min ... .max) }
        record.deliveries += 1
        record.leaseToken = token
        record.leaseUntil = now.addingTimeInterval(configuration.leaseDuration.timeInterval)
        do {
            _ = try await store.write(record.encoded(), for: key, options: WriteOptions(condition: .ifMatches(entry.metadata.etag)))
        } catch let error as StoreError where error.code == .conditionFailed {
            return nil
        }
        // If the lease runs out unacknowledged, the element is tried again before later ones.
        scan.withLock { $0.defer(key, until: record.leaseUntil) }
        let element: Element
        do {
            element = try codec.decode(record.payload)
        } catch {
            throw StoreError(.decodingFailed, operation: .read, key: key, store: description,
                             message: "the element is not a valid \(Element.self) in codec '\(codec.name)'; "
                                + "it comes back when its lease runs out", underlying: error)
        }
        return Delivery(element: element, receipt: QueueReceipt(id: key, token: token), deliveryCount: Int(record.deliveries),
                        leaseExpiration: record.leaseUntil, enqueuedAt: record.enqueuedAt)
    }

    /// Moves an element that was delivered too often to the dead-letter namespace, or deletes
    /// it; does nothing if another consumer changed it first.
    private func retire(_ key: StoreKey, _ entry: StoreEntry) async throws {
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
    private func heldRecord(_ receipt: QueueReceipt, operation: StoreOperation) async throws -> (QueueRecord, ETag) {
        guard let entry = try await store.read(receipt.id), let record = QueueRecord(entry.value),
              record.leaseToken == receipt.token else {
            throw leaseLost(receipt, operation)
        }
        return (record, entry.metadata.etag)
    }

    private func replace(_ receipt: QueueReceipt, _ record: QueueRecord, _ etag: ETag) async throws {
        do {
            _ = try await store.write(record.encoded(), for: receipt.id, options: WriteOptions(condition: .ifMatches(etag)))
        } catch let error as StoreError where error.code == .conditionFailed {
            throw leaseLost(receipt, .write)
        }
    }

    private func leaseLost(_ receipt: QueueReceipt, _ operation: StoreOperation) -> StoreError {
        StoreError(.conditionFailed, operation: operation, key: receipt.id, store: description,
                   message: "the lease of this delivery is over: the element was acknowledged, or its lease ran out "
                    + "and it was delivered again")
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

/// Where a consumer's scan of the queue stands: the keys of the last page not yet tried, where
/// the listing resumes, and the elements seen under another consumer's lease, with when that
/// lease runs out.
struct ScanState: Sendable {
    static let pageSize = 64

    var buffer: [StoreKey] = []
    var next = 0
    var cursor: ListCursor?
    var deferred: [StoreKey: Date] = [:]

    /// The next key to try: an element whose lease has run out first, else the next listed key.
    mutating func nextCandidate(at now: Date) -> StoreKey? {
        if let due = deferred.filter({ $0.value <= now }).min(by: { $0.key < $1.key })?.key {
            deferred[due] = nil
            return due
        }
        while next < buffer.count {
            let key = buffer[next]
            next += 1
            if deferred[key] == nil { return key }
        }
        return nil
    }

    mutating func refill(with keys: [StoreKey], next cursor: ListCursor?) {
        buffer = keys
        next = 0
        self.cursor = cursor
    }

    mutating func `defer`(_ key: StoreKey, until date: Date) {
        deferred[key] = date
    }

    /// Stops remembering `key` (an element acknowledged).
    mutating func forget(_ key: StoreKey) {
        deferred[key] = nil
    }

    /// Makes `key` the next key tried (an element given back).
    mutating func remember(_ key: StoreKey) {
        deferred[key] = .distantPast
    }
}

/// What a consumer needs to acknowledge, give back or extend a delivery: the element's
/// identifier and the lease's token. Its text form, `<identifier> <token>`, is what
/// `trove queue pop` prints and `trove queue ack` reads.
public struct QueueReceipt: Hashable, Sendable, CustomStringConvertible {
    /// The element's key in the store.
    public let id: StoreKey
    /// The lease's token.
    public let token: UInt64

    /// A receipt for the lease `token` on the element `id`.
    public init(id: StoreKey, token: UInt64) {
        self.id = id
        self.token = token
    }

    /// Reads a receipt from its text form.
    ///
    /// - Throws: ``StoreError/Code/invalidArgument`` when the text is not one.
    public init(parsing text: String) throws(StoreError) {
        let parts = text.split(separator: " ")
        guard parts.count == 2, let token = UInt64(parts[1], radix: 16), token != 0 else {
            throw StoreError(.invalidArgument, operation: .validate,
                             message: "'\(text)' is not a queue receipt (an element's key, a space, and a hexadecimal token)")
        }
        self.id = try StoreKey(validating: String(parts[0]))
        self.token = token
    }

    /// `<identifier> <token in hexadecimal>`.
    public var description: String { "\(id.rawValue) \(String(token, radix: 16))" }
}
