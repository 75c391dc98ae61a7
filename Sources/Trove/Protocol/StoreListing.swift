/// The elements of a listing as an async sequence that fetches them in batches as it goes.
///
/// Stopping the iteration early (a `break`, a thrown error) fetches no further batches.
///
///     for try await element in store.list(try ListQuery(prefix: "logs/", delimiter: "/")) {
///         print(element.name)
///     }
public struct StoreListing: AsyncSequence, Sendable {
    public typealias Element = ListElement
    public typealias Failure = any Error

    private let makeSource: @Sendable () -> BatchSource

    /// Produces a listing's elements, a batch at a time.
    public struct BatchSource {
        let next: () async throws -> [ListElement]?

        /// Wraps a closure that returns the next batch (possibly empty), or `nil` at the end.
        public init(next: @escaping () async throws -> [ListElement]?) { self.next = next }
    }

    /// Creates a listing from a factory of batch sources, called once per iterator.
    ///
    /// Stores whose listing keeps state between batches (a directory walk, a server cursor)
    /// use this; others get paging over ``KeyValueStore/listPage(_:after:limit:)`` for free.
    public init(batches makeSource: @escaping @Sendable () -> BatchSource) {
        self.makeSource = makeSource
    }

    /// A listing that pages through `store` with ``KeyValueStore/listPage(_:after:limit:)``.
    public init(paging store: some KeyValueStore, query: ListQuery, pageSize: Int) {
        let pageSize = Swift.max(1, pageSize)
        self.init {
            var cursor: ListCursor?
            var finished = false
            return BatchSource {
                if finished { return nil }
                let page = try await store.listPage(query, after: cursor, limit: pageSize)
                cursor = page.nextCursor
                finished = page.nextCursor == nil
                return page.elements
            }
        }
    }

    /// The same listing with every element transformed by `transform` (for layers).
    public func mapElements(_ transform: @escaping @Sendable (ListElement) -> ListElement) -> StoreListing {
        let makeSource = self.makeSource
        return StoreListing {
            let source = makeSource()
            return BatchSource { try await source.next()?.map(transform) }
        }
    }

    /// Iterates over a listing, a batch at a time.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let source: BatchSource
        var buffer: [ListElement] = []
        var index = 0
        var finished = false

        /// The next element, fetching the next batch when the current one is used up.
        public mutating func next() async throws -> ListElement? {
            while index == buffer.count {
                if finished { return nil }
                try Task.checkCancellation()
                guard let batch = try await source.next() else {
                    finished = true
                    buffer = []
                    index = 0
                    return nil
                }
                buffer = batch
                index = 0
            }
            defer { index += 1 }
            return buffer[index]
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(source: makeSource())
    }
}

extension KeyValueStore {
    /// Pages through ``listPage(_:after:limit:)``, `pageSize` elements at a time.
    public func list(_ query: ListQuery, pageSize: Int) -> StoreListing {
        StoreListing(paging: self, query: query, pageSize: pageSize)
    }

    /// Lists what `query` selects, 1,000 elements per round trip.
    ///
    /// - Parameter query: What to list. Defaults to every key.
    public func list(_ query: ListQuery = .all) -> StoreListing {
        list(query, pageSize: 1000)
    }

    /// The keys that start with `prefix`, in byte-wise order.
    public func keys(withPrefix prefix: String = "") throws -> some AsyncSequence<StoreKey, any Error> {
        list(try ListQuery(prefix: prefix)).compactMap(\.key)
    }

    /// The metadata of every key that starts with `prefix`, in byte-wise key order.
    public func entries(withPrefix prefix: String = "") throws -> some AsyncSequence<EntryMetadata, any Error> {
        list(try ListQuery(prefix: prefix, includesMetadata: true)).compactMap(\.metadata)
    }

    /// The number of live keys that start with `prefix`.
    ///
    /// - Complexity: A full listing of the prefix, without reading values.
    public func count(withPrefix prefix: String = "") async throws -> Int {
        var total = 0
        for try await _ in try keys(withPrefix: prefix) { total += 1 }
        return total
    }

    /// Whether no live key starts with `prefix`.
    public func isEmpty(withPrefix prefix: String = "") async throws -> Bool {
        for try await _ in try keys(withPrefix: prefix) { return false }
        return true
    }
}
