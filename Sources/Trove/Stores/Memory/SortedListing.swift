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
