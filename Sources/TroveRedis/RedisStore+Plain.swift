import Crypto
import Foundation
import Trove
import NIOCore
import TroveRedisClient

/// The scripts of ``RedisStore/Layout/plain``: each touches the one string it is about, so it
/// runs on one server or on the primary of the string's slot alike.
///
/// The ETag of a plain entry is the SHA-1 of its bytes. The client computes it for the bytes it
/// writes and reads; the server computes it (`redis.sha1hex`) only where the client has no
/// bytes: for a condition on the current value, which it compares in the same step as it
/// writes, and for a read of the metadata alone. (Hashing every value on the server cost a
/// large value's reads and writes as much again as the copy.)
enum RedisPlainScripts {
    /// The server's clock in ms.
    private static let now = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        """

    /// A read that may renew the expiry. ARGV: mode ('' none, s sliding: a string with a TTL
    /// gets the lifetime again, r relative ms, t absolute ms, p persist), ms (the lifetime for
    /// s), with value (1) or size (0). Returns false for a missing key, else {value, false, now,
    /// expiry or -1} or {size, sha1, now, expiry or -1}.
    static let read = RedisScript(name: "plain-read", source: now + """

        local v = redis.call('GET', KEYS[1])
        if not v then return false end
        local mode = ARGV[1]
        local ttl = redis.call('PTTL', KEYS[1])
        local x = -1
        if ttl >= 0 then x = now + ttl end
        if mode == 's' then
          if ttl >= 0 then
            x = now + tonumber(ARGV[2])
            redis.call('PEXPIRE', KEYS[1], ARGV[2])
          end
        elseif mode == 'r' or mode == 't' then
          if mode == 'r' then x = now + tonumber(ARGV[2]) else x = tonumber(ARGV[2]) end
          if x <= now then
            redis.call('DEL', KEYS[1])
            return false
          end
          redis.call('PEXPIRE', KEYS[1], x - now)
        elseif mode == 'p' then
          redis.call('PERSIST', KEYS[1])
          x = -1
        end
        if ARGV[3] == '1' then return {v, false, now, x} end
        return {string.len(v), redis.sha1hex(v), now, x}
        """)

    /// ARGV: value, condition (a, n, m), expected sha1, expiry kind (0, r, t), expiry ms.
    /// Returns {0} when the condition fails, else {1, now, expiry or -1}.
    static let write = RedisScript(name: "plain-write", source: now + """

        local cond = ARGV[2]
        if cond == 'n' then
          if redis.call('EXISTS', KEYS[1]) == 1 then return {0} end
        elseif cond == 'm' then
          local cur = redis.call('GET', KEYS[1])
          if not cur or redis.sha1hex(cur) ~= ARGV[3] then return {0} end
        end
        local x = false
        if ARGV[4] == 'r' then x = now + tonumber(ARGV[5]) elseif ARGV[4] == 't' then x = tonumber(ARGV[5]) end
        if x and x <= now then
          redis.call('DEL', KEYS[1])
          return {1, now, x}
        end
        if x then
          redis.call('SET', KEYS[1], ARGV[1], 'PX', x - now)
        else
          redis.call('SET', KEYS[1], ARGV[1])
        end
        return {1, now, x or -1}
        """)

    /// ARGV: expected sha1. Returns -1 when the string is missing or holds other bytes, else 1.
    static let delete = RedisScript(name: "plain-delete", source: """
        local cur = redis.call('GET', KEYS[1])
        if not cur or redis.sha1hex(cur) ~= ARGV[1] then return -1 end
        return redis.call('DEL', KEYS[1])
        """)

    /// ARGV: delta, lifetime ms for a new counter (0 for none). Returns the sum; the server's
    /// error for a value that is not an integer or a sum that overflows.
    static let increment = RedisScript(name: "plain-increment", source: """
        local existed = redis.call('EXISTS', KEYS[1]) == 1
        local n = redis.pcall('INCRBY', KEYS[1], ARGV[1])
        if type(n) == 'table' and n.err then return n end
        if not existed and ARGV[2] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
        return n
        """)
}

extension RedisStore {
    /// The ETag of a plain entry holding `value`: its SHA-1 in 40 lower-case hex digits, as
    /// `redis.sha1hex` writes it.
    static func sha1Hex(of value: Data) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(40)
        for byte in Insecure.SHA1.hash(data: value) {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    // MARK: Reads

    /// The mode and milliseconds of the plain read script for a read under `options`.
    private func plainReadMode(_ refresh: Expiry?) -> [any RESPArgument & Sendable] {
        guard let refresh else {
            if case .sliding(let lifetime) = expiration.base { return ["s", String(lifetime.milliseconds)] }
            return ["", "0"]
        }
        if refresh.isNever { return ["p", "0"] }
        let server = serverExpiry(for: refresh)
        return [server.kind, String(server.milliseconds)]
    }

    /// Reads `key` with the plain read script: the value (or its size only), renewing the
    /// expiry as `refresh` says, or by the sliding lifetime when `refresh` is `nil`.
    func plainRead(_ key: StoreKey, refresh: Expiry?, withValue: Bool, renews: Bool) async throws -> StoreEntry? {
        let mode: [any RESPArgument & Sendable] = renews ? plainReadMode(refresh) : ["", "0"]
        let reply = try await mapping(withValue ? .read : .metadata, key) {
            try await client.run(RedisPlainScripts.read, keys: [serverKey(key)], arguments: mode + [withValue ? "1" : "0"])
        }
        return try plainEntry(from: reply, key, withValue: withValue)
    }

    /// An entry from the plain read script's `{value, false, now, expiry}` or, with `withValue`
    /// false, `{size, sha1, now, expiry}` (its value empty, its metadata telling the size).
    func plainEntry(from reply: RESPValue, _ key: StoreKey, withValue: Bool) throws -> StoreEntry? {
        if reply.isNull { return nil }
        guard let fields = reply.array, fields.count == 4, let now = fields[2].int64, let expiry = fields[3].int64 else {
            throw unexpected(reply, .read, key)
        }
        let value: Data, size: Int64, sha: String
        if withValue {
            guard let bytes = fields[0].bytes else { throw unexpected(reply, .read, key) }
            value = Data(bytes.readableBytesView)
            size = Int64(value.count)
            sha = Self.sha1Hex(of: value)
        } else {
            guard let length = fields[0].int64, let digest = fields[1].string else { throw unexpected(reply, .read, key) }
            value = Data()
            size = length
            sha = digest
        }
        let metadata = EntryMetadata(key: key, size: size, etag: ETag(sha), modificationDate: Self.date(now),
                                     creationDate: nil, expirationDate: expiry < 0 ? nil : Self.date(expiry))
        return StoreEntry(value: value, metadata: metadata)
    }

    func plainReadBatch(_ keys: [StoreKey]) async throws -> [StoreEntry?] {
        let mode = plainReadMode(nil)
        let replies = try await mapping(.read, nil) {
            try await runScripts(RedisPlainScripts.read, keys.map { ([serverKey($0)], mode + ["1"]) })
        }
        return try zip(keys, replies).map { key, reply in try plainEntry(from: try serverReply(reply, .read, key), key, withValue: true) }
    }

    /// The metadata of `keys`, in one pipeline, without renewing anything; `nil` for a key gone.
    func plainMetadata(_ keys: [StoreKey]) async throws -> [EntryMetadata?] {
        guard !keys.isEmpty else { return [] }
        let replies = try await mapping(.list, nil) {
            try await runScripts(RedisPlainScripts.read, keys.map { ([serverKey($0)], ["", "0", "0"]) })
        }
        return try zip(keys, replies).map { key, reply in
            try plainEntry(from: try serverReply(reply, .list, key), key, withValue: false)?.metadata
        }
    }

    // MARK: Writes

    private func plainWriteArguments(_ value: Data, _ options: WriteOptions) -> [any RESPArgument & Sendable] {
        let (condition, expected) = scriptCondition(options.condition)
        let expiry = serverExpiry(for: options.expiry)
        return [value, condition, expected, expiry.kind, String(expiry.milliseconds)]
    }

    func plainWrite(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        let reply = try await mapping(.write, key) {
            try await client.run(RedisPlainScripts.write, keys: [serverKey(key)], arguments: plainWriteArguments(value, options))
        }
        return try plainWritten(reply, key, value: value, options: options).get()
    }

    func plainWriteBatch(_ writes: [BatchWrite]) async throws -> [Result<EntryMetadata, StoreError>] {
        let replies = try await mapping(.write, nil) {
            try await runScripts(RedisPlainScripts.write, writes.map { ([serverKey($0.key)], plainWriteArguments($0.value, $0.options)) })
        }
        return zip(writes, replies).map { write, reply in
            Result {
                try plainWritten(try serverReply(reply, .write, write.key), write.key, value: write.value,
                                 options: write.options).get()
            }.mapError { $0 as? StoreError ?? StoreError(.io, operation: .write, key: write.key, store: description, message: "\($0)") }
        }
    }

    private func plainWritten(_ reply: RESPValue, _ key: StoreKey, value: Data, options: WriteOptions) throws(StoreError) -> Result<EntryMetadata, StoreError> {
        guard let fields = reply.array, let status = fields.first?.int64 else { throw unexpected(reply, .write, key) }
        if status == 0 {
            let why = options.condition.requiresAbsence ? "the key already holds a value"
                : "the key is missing or its bytes' SHA-1 is not \(options.condition.expectedETag?.rawValue ?? "")"
            return .failure(StoreError(.conditionFailed, operation: .write, key: key, store: description,
                                       message: "the write's condition \(options.condition) does not hold: \(why)"))
        }
        guard fields.count == 3, let now = fields[1].int64, let expiry = fields[2].int64 else {
            throw unexpected(reply, .write, key)
        }
        return .success(EntryMetadata(key: key, size: Int64(value.count), etag: ETag(Self.sha1Hex(of: value)),
                                      modificationDate: Self.date(now), creationDate: nil,
                                      expirationDate: expiry < 0 ? nil : Self.date(expiry)))
    }

    // MARK: Deletes

    /// `DEL` for an unconditional delete, else the conditional delete script (in full, which
    /// loads it, with `loading`).
    private func plainDeleteCommand(_ key: StoreKey, _ condition: DeleteCondition, loading: Bool = false) -> RedisCommand {
        guard let etag = condition.expectedETag else { return RedisCommand("DEL", serverKey(key)) }
        return RedisPlainScripts.delete.command(keys: [serverKey(key)], arguments: [etag.rawValue], loading: loading)
    }

    func plainDelete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool {
        let reply = try await mapping(.delete, key) {
            try serverReply(try await pipelineLoadingScripts([plainDeleteCommand(key, condition)]) { _ in
                plainDeleteCommand(key, condition, loading: true)
            }[0], .delete, key)
        }
        return try plainDeleted(reply, key, condition).get()
    }

    func plainDeleteBatch(_ deletes: [BatchDelete]) async throws -> [Result<Void, StoreError>] {
        let replies = try await mapping(.delete, nil) {
            try await pipelineLoadingScripts(deletes.map { plainDeleteCommand($0.key, $0.condition) }) {
                plainDeleteCommand(deletes[$0].key, deletes[$0].condition, loading: true)
            }
        }
        return zip(deletes, replies).map { delete, reply in
            Result {
                _ = try plainDeleted(try serverReply(reply, .delete, delete.key), delete.key, delete.condition).get()
            }.mapError { $0 as? StoreError ?? StoreError(.io, operation: .delete, key: delete.key, store: description, message: "\($0)") }
        }
    }

    private func plainDeleted(_ reply: RESPValue, _ key: StoreKey, _ condition: DeleteCondition) throws(StoreError) -> Result<Bool, StoreError> {
        guard let count = reply.int64 else { throw unexpected(reply, .delete, key) }
        if count < 0 {
            return .failure(StoreError(.conditionFailed, operation: .delete, key: key, store: description,
                                       message: "the delete's condition \(condition) does not hold: the key is missing or holds other bytes"))
        }
        return .success(count > 0)
    }

    // MARK: Counters

    /// The command of one plain counter step: `INCRBY`, or a script that also gives a new
    /// counter the store's default lifetime.
    func plainIncrementReply(_ key: StoreKey, by delta: Int64) async throws -> RESPValue {
        let expiry = serverExpiry(for: .never)
        if expiry.kind == "0" { return try await client.send(RedisCommand("INCRBY", serverKey(key), String(delta))) }
        return try await client.run(RedisPlainScripts.increment, keys: [serverKey(key)],
                                    arguments: [String(delta), String(expiry.milliseconds)])
    }

    // MARK: Listing

    /// Every string key under `pattern`'s prefix on every primary, by `SCAN … MATCH … TYPE
    /// string`, handed to `body` a batch at a time (a name may come twice, as `SCAN` allows).
    func scanPlainNames(_ operation: StoreOperation, under serverPrefix: String, _ body: ([UInt8]) -> Void) async throws {
        let pattern = Self.globEscaped(serverPrefix) + "*"
        let primaries = try await mapping(operation, nil) { try await client.primaries() }
        for primary in primaries {
            var cursor = "0"
            repeat {
                let command = RedisCommand("SCAN", cursor, "MATCH", pattern, "COUNT", "1000", "TYPE", "string")
                let reply = try await mapping(operation, nil) { try await client.send(command, to: primary) }
                guard let parts = reply.array, parts.count == 2, let next = parts[0].string, let names = parts[1].array else {
                    throw unexpected(reply, operation, nil)
                }
                for name in names {
                    guard let bytes = name.bytes else { throw unexpected(reply, operation, nil) }
                    body(Array(bytes.readableBytesView))
                }
                cursor = next
            } while cursor != "0"
        }
    }

    /// `text` with the glob characters of `SCAN … MATCH` escaped, so that it matches itself.
    static func globEscaped(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if "*?[]\\^".contains(character) { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }

    /// The store key of a server name under the store's prefix, or `nil` when the rest is not a
    /// valid key (a string some other program wrote there).
    private func plainKey(_ name: [UInt8], prefixLength: Int) -> StoreKey? {
        guard name.count > prefixLength, let text = String(validating: name[prefixLength...], as: UTF8.self) else { return nil }
        return try? StoreKey(validating: text)
    }

    /// One page of a plain listing: a `SCAN` of every key under the prefix, keeping the
    /// `limit` smallest names after the cursor, in byte order. The client holds at most about
    /// twice the page; the server walks every key under the prefix for every page.
    func plainListPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
        let limit = max(1, min(limit, 10_000))
        var after: [UInt8]?
        var skipping: [UInt8]?
        if let cursor {
            let raw = cursor.rawValue
            if raw.hasPrefix("k:") {
                after = Array(raw.utf8.dropFirst(2))
            } else if raw.hasPrefix("p:") {
                after = Array(raw.utf8.dropFirst(2))
                skipping = after
            } else {
                throw StoreError(.invalidArgument, operation: .list, store: description,
                                 message: "'\(raw)' is not a cursor of a Redis store listing")
            }
        }
        let prefixLength = prefix.utf8.count
        // The smallest names seen, with whether each is a common prefix; trimmed to `limit`
        // whenever it reaches twice that.
        var window: [(name: [UInt8], element: ListElement)] = []
        // Once a trim dropped names, the largest name kept: nothing at or past it can be listed.
        var bound: [UInt8]?
        func trim() {
            window.sort { $0.name.lexicographicallyPrecedes($1.name) }
            var kept: [(name: [UInt8], element: ListElement)] = []
            for item in window where kept.last?.name != item.name {
                kept.append(item)
            }
            if kept.count > limit {
                kept.removeLast(kept.count - limit)
                bound = kept.last?.name
            }
            window = kept
        }
        try await scanPlainNames(.list, under: prefix + query.prefix) { name in
            guard let key = plainKey(name, prefixLength: prefixLength), let listed = query.classify(key) else { return }
            let item: (name: [UInt8], element: ListElement)
            switch listed {
            case .key: item = (Array(key.rawValue.utf8), .entry(key, nil))
            case .commonPrefix(let common): item = (Array(common.utf8), .commonPrefix(common))
            }
            if let after, !after.lexicographicallyPrecedes(item.name) { return }
            if let skipping, item.name.starts(with: skipping) { return }
            if let bound, !item.name.lexicographicallyPrecedes(bound) { return }
            window.append(item)
            if window.count >= 2 * limit { trim() }
        }
        trim()
        var elements = window.map(\.element)
        if query.includesMetadata {
            let keys = elements.compactMap(\.key)
            let found = try await plainMetadata(keys)
            var metadata: [StoreKey: EntryMetadata] = [:]
            for (key, entry) in zip(keys, found) { metadata[key] = entry }
            elements = elements.compactMap { element in
                guard let key = element.key else { return element }
                return metadata[key].map { .entry(key, $0) }
            }
        }
        guard bound != nil, let last = window.last else { return ListPage(elements: elements, nextCursor: nil) }
        let name = String(decoding: last.name, as: UTF8.self)
        if case .commonPrefix = last.element { return ListPage(elements: elements, nextCursor: ListCursor("p:" + name)) }
        return ListPage(elements: elements, nextCursor: ListCursor("k:" + name))
    }

    /// The number of string keys under `prefix`, by a `SCAN` of every primary; it remembers
    /// each name once (`SCAN` may give one twice), so it holds every name under the prefix.
    func plainCount(withPrefix queryPrefix: String) async throws -> Int {
        let prefixLength = prefix.utf8.count
        var names = Set<[UInt8]>()
        try await scanPlainNames(.count, under: prefix + queryPrefix) { name in
            if plainKey(name, prefixLength: prefixLength) != nil { names.insert(name) }
        }
        return names.count
    }
}
