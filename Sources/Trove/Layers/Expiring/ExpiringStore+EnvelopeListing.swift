import Foundation

/// Envelope mode: listings without expired entries, and reclaiming their space.
extension ExpiringStore {
    /// How many headers a listing reads at once.
    static var listingWidth: Int { 8 }

    func envelopeListPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
        let limit = Swift.max(1, limit)
        var elements: [ListElement] = []
        var cursor = cursor
        // Ask the base for exactly what is missing, so that its cursor is always right after the
        // last element returned; expired entries make further base pages necessary.
        repeat {
            try Task.checkCancellation()
            let page = try await base.listPage(Self.withoutMetadata(query), after: cursor, limit: limit - elements.count)
            elements += try await liveElements(page.elements, query)
            cursor = page.nextCursor
        } while elements.count < limit && cursor != nil
        return ListPage(elements: elements, nextCursor: cursor)
    }

    func envelopeList(_ query: ListQuery, pageSize: Int) -> StoreListing {
        let pageSize = Swift.max(1, pageSize)
        let inner = base.list(Self.withoutMetadata(query), pageSize: pageSize)
        return StoreListing { [self] in
            var iterator = inner.makeAsyncIterator()
            var finished = false
            return StoreListing.BatchSource {
                if finished { return nil }
                var batch: [ListElement] = []
                while batch.count < pageSize {
                    guard let element = try await iterator.next() else {
                        finished = true
                        break
                    }
                    batch.append(element)
                }
                return try await forwarding(nil) { try await liveElements(batch, query) }
            }
        }
    }

    /// `query` without metadata: the base's is never used, since each key's envelope is read.
    static func withoutMetadata(_ query: ListQuery) -> ListQuery {
        ListQuery(validPrefix: query.prefix, delimiter: query.delimiter, includesMetadata: false)
    }

    /// The elements of a base listing that are live: each key's envelope is read (a few at a
    /// time) and expired keys are dropped and purged; a common prefix is kept only if some key
    /// under it is live. Order is kept.
    func liveElements(_ elements: [ListElement], _ query: ListQuery) async throws -> [ListElement] {
        guard !elements.isEmpty else { return [] }
        return try await withThrowingTaskGroup(of: (Int, ListElement?).self) { group in
            var results = [ListElement?](repeating: nil, count: elements.count)
            var next = 0
            func start(_ index: Int) {
                let element = elements[index]
                group.addTask { (index, try await live(element, query)) }
            }
            while next < Swift.min(Self.listingWidth, elements.count) {
                start(next)
                next += 1
            }
            while let (index, element) = try await group.next() {
                results[index] = element
                if next < elements.count {
                    start(next)
                    next += 1
                }
            }
            return results.compactMap { $0 }
        }
    }

    /// The element as this layer lists it, or `nil` if it stands for nothing live.
    private func live(_ element: ListElement, _ query: ListQuery) async throws -> ListElement? {
        switch element {
        case .entry(let key, _):
            guard let current = try await peekLive(key, operation: .list) else { return nil }
            return .entry(key, query.includesMetadata ? layerMetadata(current.metadata, current.envelope) : nil)
        case .commonPrefix(let prefix):
            return try await hasLiveKey(withPrefix: prefix) ? element : nil
        }
    }

    /// Whether some key that starts with `prefix` holds a live entry (expired ones met on the
    /// way are purged).
    func hasLiveKey(withPrefix prefix: String) async throws -> Bool {
        let everyKey = ListQuery(validPrefix: prefix, delimiter: nil, includesMetadata: false)
        for try await element in base.list(everyKey, pageSize: 16) {
            guard let key = element.key else { continue }
            if try await peekLive(key, operation: .list) != nil { return true }
        }
        return false
    }

    func envelopeReclaimExpired() async throws -> Int {
        // Where the base expires natively it was given every deadline, and reclaims by itself.
        var reclaimed = baseExpires ? try await base.reclaimExpired() : 0
        guard base.capabilities.contains(.conditionalDeletes) else {
            if baseExpires { return reclaimed }
            throw StoreError(.notSupported, operation: .reclaim, store: description,
                             message: "reclaiming expired entries needs conditional deletes (so that a value written "
                                 + "meanwhile is never deleted), and the base store '\(base.description)' has none")
        }
        for try await element in base.list(.all, pageSize: 256) {
            try Task.checkCancellation()
            guard let key = element.key, let current = try await peek(key, operation: .reclaim),
                  current.envelope.isExpired(at: clock.now) else { continue }
            do {
                if try await base.delete(key, condition: .ifMatches(current.metadata.etag)) { reclaimed += 1 }
            } catch let error as StoreError where error.code == .conditionFailed {
                continue  // rewritten meanwhile: no longer expired
            }
        }
        return reclaimed
    }
}
