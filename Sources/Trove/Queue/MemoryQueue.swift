import Synchronization

/// A first-in, first-out queue in this process's memory that can move its pending elements to a
/// ``DurableQueue`` and take them back, so that a process that must stop keeps its work.
///
///     let pending = MemoryQueue<Job>()
///     pending.push(job)
///     …
///     // Shutting down: park what is left in the store.
///     try await pending.flush(to: durable)
///     // Next start: take it back.
///     try await pending.ingest(from: durable)
///
/// Pushing and popping take a lock for a moment and never suspend.
public final class MemoryQueue<Element: Sendable>: Sendable {
    private struct State: ~Copyable {
        var elements: [Element] = []
        var head = 0

        var count: Int { elements.count - head }

        mutating func compact() {
            if head > 1024, head * 2 > elements.count {
                elements.removeFirst(head)
                head = 0
            }
        }
    }

    private let state = Mutex(State())

    /// Creates an empty queue.
    public init() {}

    /// Appends `element`.
    public func push(_ element: Element) {
        state.withLock { $0.elements.append(element) }
    }

    /// Removes and returns the oldest element, or `nil` when the queue is empty.
    public func pop() -> Element? {
        state.withLock { state in
            guard state.head < state.elements.count else { return nil }
            let element = state.elements[state.head]
            state.head += 1
            state.compact()
            return element
        }
    }

    /// The number of elements held.
    public var count: Int { state.withLock { $0.count } }

    /// Whether the queue holds no element.
    public var isEmpty: Bool { count == 0 }

    /// Enqueues every element held into `queue`, oldest first, removing each from memory once it
    /// is stored; elements pushed meanwhile are flushed too.
    ///
    /// - Returns: How many elements were flushed.
    /// - Throws: The durable queue's error; the element that failed and those after it stay in
    ///   memory, those before it are in the store.
    @discardableResult
    public func flush(to queue: DurableQueue<Element>) async throws -> Int {
        var flushed = 0
        while let element = state.withLock({ state in state.head < state.elements.count ? state.elements[state.head] : nil }) {
            try await queue.enqueue(element)
            state.withLock { state in
                state.head += 1
                state.compact()
            }
            flushed += 1
        }
        return flushed
    }

    /// Takes every element that `queue` can deliver now, in its order, and appends them here,
    /// acknowledging each in the durable queue once it is in memory.
    ///
    /// - Returns: How many elements were ingested.
    @discardableResult
    public func ingest(from queue: DurableQueue<Element>) async throws -> Int {
        var ingested = 0
        while let delivery = try await queue.dequeue() {
            push(delivery.element)
            try await queue.acknowledge(delivery.receipt)
            ingested += 1
        }
        return ingested
    }
}
