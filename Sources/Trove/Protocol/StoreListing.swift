import Synchronization

/// The elements of a listing as an async sequence that fetches them in batches as it goes.
///
/// Stopping the iteration early (a `break`, a thrown error) fetches no further batches. What a
/// store holds open for a listing (a directory walk, a server cursor) is released at the end of
/// the listing, when fetching a batch throws, when the task is cancelled, when the iterator is
/// dropped, and, within ``KeyValueStore/withListing(_:pageSize:_:)``, when its body returns.
///
///     for try await element in store.list(try ListQuery(prefix: "logs/", delimiter: "/")) {
///         print(element.name)
///     }
public struct StoreListing: AsyncSequence, Sendable {
    public typealias Element = ListElement
    public typealias Failure = any Error

    private let makeSource: @Sendable () -> BatchSource
    private let scope: ListingScope?

    /// Produces a listing's elements, a batch at a time.
    public struct BatchSource {
        let next: () async throws -> [ListElement]?
        let close: (@Sendable () -> Void)?

        /// Wraps a closure that returns the next batch (possibly empty), or `nil` at the end,
        /// and one that releases what the source holds open (called at most once, when the
        /// listing ends early or fully; the source must also release it when dropped).
        ///
        /// - Parameters:
        ///   - next: Returns the next batch, or `nil` at the end.
        ///   - close: Releases the source's resources. Defaults to `nil`, for sources that hold
        ///     none between batches.
        public init(next: @escaping () async throws -> [ListElement]?, close: (@Sendable () -> Void)? = nil) {
            self.next = next
            self.close = close
        }
    }

    /// Creates a listing from a factory of batch sources, called once per iterator.
    ///
    /// Stores whose listing keeps state between batches (a directory walk, a server cursor)
    /// use this; others get paging over ``KeyValueStore/listPage(_:after:limit:)`` for free.
    public init(batches makeSource: @escaping @Sendable () -> BatchSource) {
        self.makeSource = makeSource
        self.scope = nil
    }

    private init(makeSource: @escaping @Sendable () -> BatchSource, scope: ListingScope?) {
        self.makeSource = makeSource
        self.scope = scope
    }

    /// The same listing, whose iterators are closed when `scope` ends.
    func scoped(to scope: ListingScope) -> StoreListing {
        StoreListing(makeSource: makeSource, scope: scope)
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
        return StoreListing(makeSource: {
            let source = makeSource()
            return BatchSource(next: { try await source.next()?.map(transform) }, close: source.close)
        }, scope: scope)
    }

    /// Iterates over a listing, a batch at a time.
    public struct AsyncIterator: AsyncIteratorProtocol {
        @usableFromInline let source: BatchSource
        @usableFromInline let closer: ListingCloser
        @usableFromInline var buffer: [ListElement] = []
        @usableFromInline var index = 0
        @usableFromInline var finished = false

        init(source: BatchSource, closer: ListingCloser) {
            self.source = source
            self.closer = closer
        }

        /// The next element, fetching the next batch when the current one is used up.
        public mutating func next() async throws -> ListElement? {
            try await next(isolation: nil)
        }

        /// The next element, on the caller's isolation: `for try await` calls this one. An
        /// element of the current batch is taken where the loop runs, without a call to await.
        @inlinable
        public mutating func next(isolation actor: isolated (any Actor)?) async throws -> ListElement? {
            if index < buffer.count, !closer.isClosed {
                defer { index += 1 }
                return buffer[index]
            }
            return try await nextFromNextBatch(isolation: actor)
        }

        /// The next element when the current batch is used up (or the listing was closed).
        @usableFromInline
        mutating func nextFromNextBatch(isolation actor: isolated (any Actor)?) async throws -> ListElement? {
            if !finished, closer.isClosed {
                finish()
                throw StoreError(.invalidArgument, operation: .list,
                                 message: "the listing was iterated after the withListing scope that opened it had ended")
            }
            while index == buffer.count {
                if finished { return nil }
                do {
                    try Task.checkCancellation()
                    guard let batch = try await source.next() else {
                        finish()
                        return nil
                    }
                    buffer = batch
                    index = 0
                } catch {
                    finish()
                    throw error
                }
            }
            defer { index += 1 }
            return buffer[index]
        }

        private mutating func finish() {
            finished = true
            buffer = []
            index = 0
            closer.close()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        let source = makeSource()
        let closer = ListingCloser(source.close)
        scope?.register(closer)
        return AsyncIterator(source: source, closer: closer)
    }
}

/// Closes one listing's source once.
@usableFromInline
final class ListingCloser: Sendable {
    private let action: Mutex<(@Sendable () -> Void)?>

    private let closed = Atomic<Bool>(false)

    init(_ action: (@Sendable () -> Void)?) { self.action = Mutex(action) }

    @usableFromInline
    var isClosed: Bool { closed.load(ordering: .acquiring) }

    func close() {
        closed.store(true, ordering: .releasing)
        let taken = action.withLock { action in
            defer { action = nil }
            return action
        }
        taken?()
    }
}

/// The listings opened within one ``KeyValueStore/withListing(_:pageSize:_:)``.
final class ListingScope: Sendable {
    private let closers = Mutex<[ListingCloser]?>([])

    func register(_ closer: ListingCloser) {
        let accepted = closers.withLock { closers -> Bool in
            guard closers != nil else { return false }
            closers!.append(closer)
            return true
        }
        if !accepted { closer.close() }  // the scope has ended: iterating yields nothing more
    }

    func end() {
        let all = closers.withLock { closers in
            defer { closers = nil }
            return closers ?? []
        }
        for closer in all { closer.close() }
    }
}

extension KeyValueStore {
    /// Runs `body` with a listing of `query` and releases whatever the store holds open for
    /// it (directory handles, a server cursor) when `body` returns or throws, even if `body`
    /// stopped iterating early or kept an iterator.
    ///
    ///     let firstTen = try await store.withListing(.all) { listing in
    ///         var names: [String] = []
    ///         for try await element in listing { names.append(element.name); if names.count == 10 { break } }
    ///         return names
    ///     }
    ///
    /// - Parameters:
    ///   - query: What to list.
    ///   - pageSize: About how many elements to fetch at a time. Defaults to 1,000.
    ///   - body: Iterates the listing; iterators it keeps yield nothing after it returns.
    public func withListing<T>(
        _ query: ListQuery, pageSize: Int = 1000, _ body: (StoreListing) async throws -> T
    ) async throws -> T {
        let scope = ListingScope()
        defer { scope.end() }
        return try await body(list(query, pageSize: pageSize).scoped(to: scope))
    }

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

    /// The number of live keys in this store.
    public func count() async throws -> Int {
        try await count(withPrefix: "")
    }

    /// The keys that start with `prefix`, in byte-wise order.
    public func keys(withPrefix prefix: String = "") throws -> some AsyncSequence<StoreKey, any Error> {
        list(try ListQuery(prefix: prefix)).compactMap(\.key)
    }

    /// The metadata of every key that starts with `prefix`, in byte-wise key order, without
    /// reading values.
    public func metadata(withPrefix prefix: String = "") throws -> some AsyncSequence<EntryMetadata, any Error> {
        list(try ListQuery(prefix: prefix, includesMetadata: true)).compactMap(\.metadata)
    }

    /// Whether no live key starts with `prefix`.
    public func isEmpty(withPrefix prefix: String = "") async throws -> Bool {
        for try await element in list(try ListQuery(prefix: prefix), pageSize: 1) where element.key != nil { return false }
        return true
    }
}
