public import Trove
import NIOCore
import TroveRedisClient

extension RedisStore {
    /// One page of the key index, in byte order, by the listing script: one round trip.
    ///
    /// The cursor is `k:<key>` (the page ended with that key) or `p:<common prefix>` (it ended
    /// with that common prefix, whose keys are all skipped).
    ///
    /// With ``Layout/buckets(_:)``, the page is a merge: each bucket's index is read from the
    /// cursor on (all buckets in one pipeline, split per primary), a share of the limit each,
    /// and the page holds the smallest elements up to the point that every bucket has been
    /// read past, so nothing a bucket has not shown yet can belong before an element listed.
    /// The memory of a page is bounded by the number of buckets times that share.
    public func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
        if layout.isPlain { return try await plainListPage(query, after: cursor, limit: limit) }
        let limit = max(1, min(limit, 10_000))
        let range = Self.range(of: query.prefix)
        var start = range.start
        if let cursor {
            let raw = cursor.rawValue
            if raw.hasPrefix("k:") {
                start = Array(("(" + raw.dropFirst(2)).utf8)
            } else if raw.hasPrefix("p:") {
                start = Array(("[" + raw.dropFirst(2)).utf8) + [0xFF]
            } else {
                throw StoreError(.invalidArgument, operation: .list, store: description,
                                 message: "'\(raw)' is not a cursor of a Redis store listing")
            }
        }
        let delimiter = query.delimiter.map(String.init) ?? ""
        // Each bucket holds about limit / count of the keys in any range; twice that and some
        // leave room for an uneven spread. A short share makes a short page, never a wrong one.
        let share = buckets.count == 1 ? limit : min(limit, 2 * (limit + buckets.count - 1) / buckets.count + 8)
        let replies = try await mapping(.list, nil) {
            try await runScripts(RedisStoreScripts.list, buckets.map { bucket in
                ([bucket.indexKey, bucket.indexKey, bucket.expiryKey],
                 [bucket.entryPrefix, start, range.end, share, delimiter, query.includesMetadata ? "1" : "0", query.prefix])
            })
        }
        var parts: [BucketPage] = []
        for reply in replies { parts.append(try bucketPage(try serverReply(reply, .list, nil), query)) }
        if parts.count == 1 {
            return ListPage(elements: parts[0].elements.map(\.element), nextCursor: parts[0].next.map(Self.cursor(resumingAt:)))
        }
        return Self.merge(parts, limit: limit)
    }

    /// What one bucket's listing script returned: its elements in byte order with their
    /// names' bytes, and where the bucket's listing would go on (`nil` when it is done).
    struct BucketPage {
        var elements: [(name: [UInt8], element: ListElement)]
        /// The script's next `ZRANGEBYLEX` start: `(key` or `[prefix` + 0xFF.
        var next: [UInt8]?
    }

    /// The smallest `limit` elements of the buckets' pages that no bucket can still precede,
    /// common prefixes that several buckets found listed once.
    static func merge(_ parts: [BucketPage], limit: Int) -> ListPage {
        // Every bucket has shown everything up to its frontier (the bytes after the bound's
        // first byte, inclusive); elements up to the lowest frontier are safe to list.
        var lowest: [UInt8]?
        for part in parts {
            guard let next = part.next else { continue }
            let frontier = Array(next.dropFirst())
            if lowest.map({ frontier.lexicographicallyPrecedes($0) }) ?? true { lowest = frontier }
        }
        var all = parts.flatMap(\.elements).filter { item in lowest.map { !$0.lexicographicallyPrecedes(item.name) } ?? true }
        all.sort { $0.name.lexicographicallyPrecedes($1.name) }
        var elements: [ListElement] = []
        var last: [UInt8]?
        var lastWasPrefix = false
        var remaining = false
        for item in all {
            if let last, last == item.name { continue }
            if elements.count == limit {
                remaining = true
                break
            }
            elements.append(item.element)
            last = item.name
            if case .commonPrefix = item.element { lastWasPrefix = true } else { lastWasPrefix = false }
        }
        if remaining, let last {
            let name = String(decoding: last, as: UTF8.self)
            return ListPage(elements: elements, nextCursor: ListCursor((lastWasPrefix ? "p:" : "k:") + name))
        }
        // Everything up to the lowest frontier is listed: go on from there.
        guard let lowest, let bound = parts.compactMap(\.next).first(where: { Array($0.dropFirst()) == lowest }) else {
            return ListPage(elements: elements, nextCursor: nil)
        }
        return ListPage(elements: elements, nextCursor: cursor(resumingAt: bound))
    }

    /// The cursor that makes the listing script start at `start` (`(key` or `[prefix` + 0xFF).
    static func cursor(resumingAt start: [UInt8]) -> ListCursor {
        var bytes = start
        if bytes.first == UInt8(ascii: "["), bytes.last == 0xFF {
            bytes.removeFirst()
            bytes.removeLast()
            return ListCursor("p:" + String(decoding: bytes, as: UTF8.self))
        }
        bytes.removeFirst()
        return ListCursor("k:" + String(decoding: bytes, as: UTF8.self))
    }

    /// Reads the listing script's `{next start or '', then per element: 'k', key[, size, etag,
    /// modified, created, expiry] or 'p', common prefix}`.
    func bucketPage(_ reply: RESPValue, _ query: ListQuery) throws -> BucketPage {
        guard let fields = reply.array, let next = fields.first?.bytes else { throw unexpected(reply, .list, nil) }
        var elements: [(name: [UInt8], element: ListElement)] = []
        var index = 1
        while index < fields.count {
            guard let tag = fields[index].string, index + 1 < fields.count, let nameBytes = fields[index + 1].bytes,
                  let name = fields[index + 1].string else {
                throw unexpected(reply, .list, nil)
            }
            if tag == "p" {
                elements.append((Array(nameBytes.readableBytesView), .commonPrefix(name)))
                index += 2
                continue
            }
            guard let key = try? StoreKey(validating: name) else {
                // Not a key a store can have: skip it rather than fail the whole listing.
                index += query.includesMetadata ? 7 : 2
                continue
            }
            if query.includesMetadata {
                guard index + 6 < fields.count, let size = fields[index + 2].int64 else { throw unexpected(reply, .list, nil) }
                let metadata = try metadata(key, size: size, etag: fields[index + 3], modified: fields[index + 4],
                                            created: fields[index + 5], expiry: fields[index + 6])
                elements.append((Array(nameBytes.readableBytesView), .entry(key, metadata)))
                index += 7
            } else {
                elements.append((Array(nameBytes.readableBytesView), .entry(key, nil)))
                index += 2
            }
        }
        return BucketPage(elements: elements, next: next.readableBytes > 1 ? Array(next.readableBytesView) : nil)
    }

    /// The `ZRANGEBYLEX` bounds of the keys that start with `prefix`: no UTF-8 text holds the
    /// byte 0xFF, so `prefix + 0xFF` is past every key under it.
    static func range(of prefix: String) -> (start: [UInt8], end: [UInt8]) {
        if prefix.isEmpty { return (Array("-".utf8), Array("+".utf8)) }
        return (Array(("[" + prefix).utf8), Array(("[" + prefix).utf8) + [0xFF])
    }
}
