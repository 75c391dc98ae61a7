public import Trove
import NIOCore
import TroveRedisClient

extension RedisStore {
    /// One page of the key index, in byte order, by the listing script (one round trip).
    ///
    /// The cursor is `k:<key>` (the page ended with that key) or `p:<common prefix>` (it ended
    /// with that common prefix, whose keys are all skipped).
    public func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
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
        let reply = try await mapping(.list, nil) {
            try await client.run(RedisStoreScripts.list, keys: [indexKey, indexKey, expiryKey],
                                 arguments: [prefix, start, range.end, limit, delimiter, query.includesMetadata ? "1" : "0", query.prefix])
        }
        guard let fields = reply.array, let next = fields.first?.bytes else { throw unexpected(reply, .list, nil) }
        var elements: [ListElement] = []
        var index = 1
        while index < fields.count {
            guard let tag = fields[index].string, index + 1 < fields.count, let name = fields[index + 1].string else {
                throw unexpected(reply, .list, nil)
            }
            if tag == "p" {
                elements.append(.commonPrefix(name))
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
                elements.append(.entry(key, metadata))
                index += 7
            } else {
                elements.append(.entry(key, nil))
                index += 2
            }
        }
        var nextCursor: ListCursor?
        if next.readableBytes > 1 {
            var bytes = Array(next.readableBytesView)
            if bytes.first == UInt8(ascii: "["), bytes.last == 0xFF {
                bytes.removeFirst()
                bytes.removeLast()
                nextCursor = ListCursor("p:" + String(decoding: bytes, as: UTF8.self))
            } else {
                bytes.removeFirst()
                nextCursor = ListCursor("k:" + String(decoding: bytes, as: UTF8.self))
            }
        }
        return ListPage(elements: elements, nextCursor: nextCursor)
    }

    /// The `ZRANGEBYLEX` bounds of the keys that start with `prefix`: no UTF-8 text holds the
    /// byte 0xFF, so `prefix + 0xFF` is past every key under it.
    static func range(of prefix: String) -> (start: [UInt8], end: [UInt8]) {
        if prefix.isEmpty { return (Array("-".utf8), Array("+".utf8)) }
        return (Array(("[" + prefix).utf8), Array(("[" + prefix).utf8) + [0xFF])
    }
}
