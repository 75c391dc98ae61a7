/// The elements of a listing as an async sequence that fetches pages as it goes.
///
/// Stopping the iteration early (a `break`, a thrown error) reads no further pages.
///
///     for try await element in store.list(try ListQuery(prefix: "logs/", delimiter: "/")) {
///         print(element.name)
///     }
public struct StoreListing: AsyncSequence, Sendable {
    public typealias Element = ListElement
    public typealias Failure = any Error

    let store: any KeyValueStore
    let query: ListQuery
    let pageSize: Int

    /// Iterates over a listing, a page at a time.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let store: any KeyValueStore
        let query: ListQuery
        let pageSize: Int
        var buffer: [ListElement] = []
        var index = 0
        var cursor: ListCursor?
        var finished = false

        /// The next element, fetching the next page when the current one is used up.
        public mutating func next() async throws -> ListElement? {
            while index == buffer.count {
                if finished { return nil }
                try Task.checkCancellation()
                let page = try await store.listPage(query, after: cursor, limit: pageSize)
                buffer = page.elements
                index = 0
                cursor = page.nextCursor
                finished = page.nextCursor == nil
            }
            defer { index += 1 }
            return buffer[index]
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(store: store, query: query, pageSize: pageSize)
    }
}

extension KeyValueStore {
    /// Lists what `query` selects, fetching `pageSize` elements at a time.
    ///
    /// - Parameters:
    ///   - query: What to list. Defaults to every key.
    ///   - pageSize: Elements fetched per round trip. Defaults to 1,000.
    public func list(_ query: ListQuery = .all, pageSize: Int = 1000) -> StoreListing {
        StoreListing(store: self, query: query, pageSize: max(1, pageSize))
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
        let page = try await listPage(try ListQuery(prefix: prefix), after: nil, limit: 1)
        return page.elements.isEmpty
    }
}
