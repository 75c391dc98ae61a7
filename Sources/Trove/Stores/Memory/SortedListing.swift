/// Paging over a sorted array of keys, shared by the in-memory stores.
///
/// The cursor is the name of the last element returned. A cursor that is a common prefix (it
/// ends with the delimiter) stands for every key under it, so the next page skips them.
enum SortedListing {
    static func page(
        of sortedKeys: [StoreKey],
        query: ListQuery,
        after cursor: ListCursor?,
        limit: Int,
        metadata: (StoreKey) -> EntryMetadata?
    ) -> ListPage {
        let limit = max(1, limit)
        var index = firstIndex(in: sortedKeys, notBefore: query.prefix)
        if let cursor {
            index = max(index, firstIndex(in: sortedKeys, after: cursor.rawValue))
        }
        var elements: [ListElement] = []
        var skipPrefix: String? = nil
        if let cursor, let delimiter = query.delimiterByte, cursor.rawValue.utf8.last == delimiter {
            skipPrefix = cursor.rawValue
        }
        while index < sortedKeys.count {
            let key = sortedKeys[index]
            index += 1
            guard key.hasPrefix(query.prefix) else { break }
            if let skip = skipPrefix, key.hasPrefix(skip) { continue }
            guard let meta = metadata(key) else { continue }
            switch query.classify(key) {
            case .none:
                continue
            case .key:
                elements.append(.entry(key, query.includesMetadata ? meta : nil))
            case .commonPrefix(let prefix):
                if case .commonPrefix(let last) = elements.last, last == prefix { continue }
                elements.append(.commonPrefix(prefix))
                skipPrefix = prefix
            }
            if elements.count == limit {
                // Report a next page only if something may follow.
                let more = index < sortedKeys.count && sortedKeys[index].hasPrefix(query.prefix)
                return ListPage(elements: elements, nextCursor: more ? ListCursor(elements[elements.count - 1].name) : nil)
            }
        }
        return ListPage(elements: elements, nextCursor: nil)
    }

    /// The index of the first key whose bytes are not before `bound`.
    static func firstIndex(in keys: [StoreKey], notBefore bound: String) -> Int {
        var low = 0, high = keys.count
        while low < high {
            let mid = (low + high) / 2
            if StoreKey.utf8Precedes(keys[mid].rawValue, bound) { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// The index of the first key whose bytes are after `bound`.
    static func firstIndex(in keys: [StoreKey], after bound: String) -> Int {
        var low = 0, high = keys.count
        while low < high {
            let mid = (low + high) / 2
            if StoreKey.utf8Precedes(bound, keys[mid].rawValue) { high = mid } else { low = mid + 1 }
        }
        return low
    }
}

/// The keys of an in-memory store in byte-wise order, kept up to date without sorting every key
/// again after each change: new keys wait in a small buffer, and the next listing sorts only
/// the buffer and merges it into the sorted keys, dropping the keys removed meanwhile.
///
/// - Complexity: Recording a change is O(1). The first listing after `k` insertions into `n`
///   keys costs O(n + k log k); a listing with no change since the last costs nothing extra.
struct SortedKeyIndex {
    private var sorted: [StoreKey] = []
    private var added: [StoreKey] = []
    private var removedSome = false

    /// Records a key that was absent and is now present.
    mutating func inserted(_ key: StoreKey) {
        added.append(key)
    }

    /// Records that some key was removed (found out at the next listing).
    mutating func removed() {
        removedSome = true
    }

    /// The present keys in byte-wise order; `isPresent` tells which recorded keys still are.
    mutating func keys(isPresent: (StoreKey) -> Bool) -> [StoreKey] {
        guard !added.isEmpty || removedSome else { return sorted }
        added.sort()
        var merged: [StoreKey] = []
        merged.reserveCapacity(sorted.count + added.count)
        var i = 0, j = 0
        func take(_ key: StoreKey) {
            // A key removed and added again is in both lists, and must appear once.
            if let last = merged.last, last == key { return }
            if isPresent(key) { merged.append(key) }
        }
        while i < sorted.count || j < added.count {
            if j == added.count || (i < sorted.count && sorted[i] < added[j]) {
                take(sorted[i]); i += 1
            } else {
                take(added[j]); j += 1
            }
        }
        sorted = merged
        added.removeAll(keepingCapacity: true)
        removedSome = false
        return sorted
    }
}
