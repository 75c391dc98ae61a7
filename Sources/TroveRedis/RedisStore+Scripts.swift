import TroveRedisClient

/// The Lua scripts that make each of the store's changes one atomic step on the server.
///
/// Every entry is a hash at `prefix + key` with the fields `v` (the value), `e` (the ETag),
/// `m` and `c` (modification and creation times, ms since 1970, the server's clock), `x` (the
/// expiry time, when there is one) and `l` (the sliding lifetime in ms, in sliding mode). The
/// index `prefix + "\u{1}keys"` is a sorted set of every key with score 0 (listed by
/// `ZRANGEBYLEX`, which compares bytes); `prefix + "\u{1}expiry"` holds the keys that expire,
/// scored by their expiry time, so that counting can drop the expired ones first. Each script
/// receives the three as KEYS[1..3].
///
/// A value longer than ``RedisStore/chunkByteCount`` is not in `v`: its bytes are strings of
/// that size at `hash + "\u{1}" + generation + ":" + i`, and the hash holds `g` (the
/// generation: the ETag of the write that made them), `n` (their number) and `s` (the size).
/// They are written first (staged, with a time to live), then made the entry's in one script.
/// A generation is never written again, so a reader that has the hash reads its chunks as they
/// were; the chunks of a replaced or deleted value are given ``RedisStore/chunkGraceMilliseconds``
/// to live rather than deleted, so that a reader already reading them can finish.
enum RedisStoreScripts {
    /// The server's clock in ms.
    private static let now = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        """

    /// What the scripts do with a value's chunks: `retire` gives the chunks of generation `g`
    /// (`n` of them) the grace to live, unless they would go sooner; `follow` makes them expire
    /// `GRACE` after `x`, or never when `x` is false.
    private static let chunks = """
        local GRACE = \(RedisStore.chunkGraceMilliseconds)
        local function chunk(g, i) return KEYS[1] .. '\\1' .. g .. ':' .. i end
        local function retire(g, n)
          if not g then return end
          for i = 0, tonumber(n) - 1 do
            local k = chunk(g, i)
            local ttl = redis.call('PTTL', k)
            if ttl == -1 or ttl > GRACE then redis.call('PEXPIRE', k, GRACE) end
          end
        end
        local function follow(g, n, x)
          if not g then return end
          for i = 0, tonumber(n) - 1 do
            if x then redis.call('PEXPIREAT', chunk(g, i), x + GRACE) else redis.call('PERSIST', chunk(g, i)) end
          end
        end

        """

    /// ARGV: member, value, etag, condition (a, n, m), expected etag, expiry kind (0, r, t),
    /// expiry ms, sliding lifetime ms (0 for none).
    /// Returns {0} when the condition fails, else {1, now, created, expiry or -1}.
    static let write = RedisScript(name: "write", source: now + chunks + """
        local cur = redis.call('HMGET', KEYS[1], 'e', 'c', 'x', 'l', 'g', 'n')
        local cond = ARGV[4]
        if cond == 'n' and cur[1] then return {0} end
        if cond == 'm' and cur[1] ~= ARGV[5] then return {0} end
        local created = now
        if cur[1] and cur[2] then created = tonumber(cur[2]) end
        local x = false
        if ARGV[6] == 'r' then x = now + tonumber(ARGV[7]) elseif ARGV[6] == 't' then x = tonumber(ARGV[7]) end
        -- Only an entry with an expiry or chunks has fields (x, l, g, n, s) and a time to live
        -- the new one may not have: one without is overwritten by HSET.
        retire(cur[5], cur[6])
        local hadExpiry = cur[3] or cur[4]
        local cleared = hadExpiry or cur[5]
        if cleared then redis.call('DEL', KEYS[1]) end
        if x and x <= now then
          if not cleared then redis.call('DEL', KEYS[1]) end
          redis.call('ZREM', KEYS[2], ARGV[1])
          redis.call('ZREM', KEYS[3], ARGV[1])
          return {1, now, created, x}
        end
        redis.call('HSET', KEYS[1], 'v', ARGV[2], 'e', ARGV[3], 'm', now, 'c', created)
        redis.call('ZADD', KEYS[2], 0, ARGV[1])
        if x then
          redis.call('HSET', KEYS[1], 'x', x)
          if ARGV[8] ~= '0' then redis.call('HSET', KEYS[1], 'l', ARGV[8]) end
          redis.call('PEXPIREAT', KEYS[1], x)
          redis.call('ZADD', KEYS[3], x, ARGV[1])
        elseif hadExpiry then
          redis.call('ZREM', KEYS[3], ARGV[1])
        end
        return {1, now, created, x or -1}
        """)

    /// Makes staged chunks the entry's value. ARGV: member, etag (the chunks' generation),
    /// condition (a, n, m), expected etag, expiry kind (0, r, t), expiry ms, sliding lifetime ms
    /// (0 for none), the number of chunks, the size. Returns {0} when the condition fails (the
    /// staged chunks deleted), else {1, now, created, expiry or -1}; an error when a staged chunk
    /// is gone (its time to live ran out before the write was made).
    static let writeChunked = RedisScript(name: "write-chunked", source: now + chunks + """
        local g = ARGV[2]
        local n = tonumber(ARGV[8])
        local function drop() for i = 0, n - 1 do redis.call('DEL', chunk(g, i)) end end
        local cur = redis.call('HMGET', KEYS[1], 'e', 'c', 'x', 'l', 'g', 'n')
        local cond = ARGV[3]
        if (cond == 'n' and cur[1]) or (cond == 'm' and cur[1] ~= ARGV[4]) then drop() return {0} end
        for i = 0, n - 1 do
          if redis.call('EXISTS', chunk(g, i)) == 0 then
            drop()
            return redis.error_reply('ERR a staged chunk of the value is gone: its time to live ran out before the write ended')
          end
        end
        local created = now
        if cur[1] and cur[2] then created = tonumber(cur[2]) end
        local x = false
        if ARGV[5] == 'r' then x = now + tonumber(ARGV[6]) elseif ARGV[5] == 't' then x = tonumber(ARGV[6]) end
        retire(cur[5], cur[6])
        redis.call('DEL', KEYS[1])
        if x and x <= now then
          drop()
          redis.call('ZREM', KEYS[2], ARGV[1])
          redis.call('ZREM', KEYS[3], ARGV[1])
          return {1, now, created, x}
        end
        redis.call('HSET', KEYS[1], 'e', g, 'm', now, 'c', created, 'g', g, 'n', n, 's', ARGV[9])
        redis.call('ZADD', KEYS[2], 0, ARGV[1])
        follow(g, n, x)
        if x then
          redis.call('HSET', KEYS[1], 'x', x)
          if ARGV[7] ~= '0' then redis.call('HSET', KEYS[1], 'l', ARGV[7]) end
          redis.call('PEXPIREAT', KEYS[1], x)
          redis.call('ZADD', KEYS[3], x, ARGV[1])
        else
          redis.call('ZREM', KEYS[3], ARGV[1])
        end
        return {1, now, created, x or -1}
        """)

    /// A read that may renew the expiry. ARGV: member, mode ('' none, s sliding by the entry's
    /// own lifetime, r relative ms, t absolute ms, p persist), ms, with value (1) or size (0).
    /// Returns false for a missing key, else {value or size, etag, modified, created, expiry or
    /// -1, generation, chunks, size}: for a value in chunks, the value is false (its chunks
    /// follow the entry's new expiry) and the last three tell where they are.
    static let read = RedisScript(name: "read", source: chunks + """
        local r = redis.call('HMGET', KEYS[1], 'e', 'm', 'c', 'x', 'l', 'g', 'n', 's')
        if not r[1] then return false end
        local mode = ARGV[2]
        local x = r[4]
        if x then x = tonumber(x) end
        if mode ~= '' then
        
        """ + now + """

          if mode == 's' then
            if r[5] then x = now + tonumber(r[5]) else mode = '' end
          elseif mode == 'r' then x = now + tonumber(ARGV[3])
          elseif mode == 't' then x = tonumber(ARGV[3])
          else x = false end
          if mode ~= '' then
            if x and x <= now then
              retire(r[6], r[7])
              redis.call('DEL', KEYS[1])
              redis.call('ZREM', KEYS[2], ARGV[1])
              redis.call('ZREM', KEYS[3], ARGV[1])
              return false
            elseif x then
              redis.call('HSET', KEYS[1], 'x', x)
              redis.call('PEXPIREAT', KEYS[1], x)
              redis.call('ZADD', KEYS[3], x, ARGV[1])
              follow(r[6], r[7], x)
            else
              redis.call('HDEL', KEYS[1], 'x', 'l')
              redis.call('PERSIST', KEYS[1])
              redis.call('ZREM', KEYS[3], ARGV[1])
              follow(r[6], r[7], false)
            end
          end
        end
        local v
        if r[6] then
          if ARGV[4] == '1' then v = false else v = tonumber(r[8]) end
        elseif ARGV[4] == '1' then v = redis.call('HGET', KEYS[1], 'v') else v = redis.call('HSTRLEN', KEYS[1], 'v') end
        return {v, r[1], r[2], r[3], x or -1, r[6], r[7], r[8]}
        """)

    /// ARGV: member, expected etag ('' for none). Returns -1 when the ETag does not match, else
    /// the number of entries deleted (0 or 1).
    static let delete = RedisScript(name: "delete", source: chunks + """
        local r = redis.call('HMGET', KEYS[1], 'e', 'g', 'n')
        if ARGV[2] ~= '' and r[1] ~= ARGV[2] then return -1 end
        retire(r[2], r[3])
        local n = redis.call('DEL', KEYS[1])
        redis.call('ZREM', KEYS[2], ARGV[1])
        redis.call('ZREM', KEYS[3], ARGV[1])
        return n
        """)

    /// ARGV: member, delta, etag, expiry kind, expiry ms, sliding lifetime ms (for a new
    /// counter). Returns the new value as text; the server's error for a value that is not an
    /// integer or a sum that overflows.
    static let increment = RedisScript(name: "increment", source: now + """

        local existed = redis.call('EXISTS', KEYS[1]) == 1
        if existed and redis.call('HEXISTS', KEYS[1], 'g') == 1 then
          return redis.error_reply('ERR hash value is not an integer')
        end
        local n = redis.pcall('HINCRBY', KEYS[1], 'v', ARGV[2])
        if type(n) == 'table' and n.err then return n end
        redis.call('HSET', KEYS[1], 'e', ARGV[3], 'm', now)
        if not existed then
          redis.call('HSET', KEYS[1], 'c', now)
          redis.call('ZADD', KEYS[2], 0, ARGV[1])
          local x = false
          if ARGV[4] == 'r' then x = now + tonumber(ARGV[5]) elseif ARGV[4] == 't' then x = tonumber(ARGV[5]) end
          if x then
            redis.call('HSET', KEYS[1], 'x', x)
            if ARGV[6] ~= '0' then redis.call('HSET', KEYS[1], 'l', ARGV[6]) end
            redis.call('PEXPIREAT', KEYS[1], x)
            redis.call('ZADD', KEYS[3], x, ARGV[1])
          end
        end
        return redis.call('HGET', KEYS[1], 'v')
        """)

    /// Drops up to 1,000 expired keys from the indexes. ARGV: the store's key prefix.
    /// Returns how many were dropped.
    static let purge = RedisScript(name: "purge", source: now + """

        local due = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, 1000)
        local n = 0
        for _, member in ipairs(due) do
          if redis.call('EXISTS', ARGV[1] .. member) == 0 then
            redis.call('ZREM', KEYS[2], member)
            n = n + 1
          end
          redis.call('ZREM', KEYS[3], member)
        end
        return n
        """)

    /// One page of a listing. ARGV: the store's key prefix, range start, range end, limit,
    /// delimiter ('' for none), with metadata (1 or 0), the query's prefix.
    /// Returns {next start or '', then per element: 'k', key[, size, etag, modified, created,
    /// expiry] or 'p', common prefix}. Members whose entry has expired are dropped from the
    /// indexes on the way.
    static let list = RedisScript(name: "list", source: """
        local out = {''}
        local limit = tonumber(ARGV[4])
        local start = ARGV[2]
        local delim = ARGV[5]
        local meta = ARGV[6] == '1'
        local plen = string.len(ARGV[7])
        local count = 0
        local examined = 0
        local exhausted = false
        while count < limit and examined < limit * 4 + 64 do
          local want = limit - count + 8
          local batch = redis.call('ZRANGEBYLEX', KEYS[2], start, ARGV[3], 'LIMIT', 0, want)
          local restarted = false
          for _, member in ipairs(batch) do
            examined = examined + 1
            local h = ARGV[1] .. member
            local cp = false
            if delim ~= '' then
              local pos = string.find(member, delim, plen + 1, true)
              if pos then cp = string.sub(member, 1, pos) end
            end
            local live
            if meta and not cp then
              local r = redis.call('HMGET', h, 'e', 'm', 'c', 'x', 's')
              live = r[1] ~= false
              if live then
                local size
                if r[5] then size = tonumber(r[5]) else size = redis.call('HSTRLEN', h, 'v') end
                table.insert(out, 'k'); table.insert(out, member); table.insert(out, size)
                table.insert(out, r[1]); table.insert(out, r[2]); table.insert(out, r[3]); table.insert(out, r[4] or '-1')
              end
            else
              live = redis.call('EXISTS', h) == 1
              if live then
                if cp then table.insert(out, 'p'); table.insert(out, cp) else table.insert(out, 'k'); table.insert(out, member) end
              end
            end
            if not live then
              redis.call('ZREM', KEYS[2], member)
              redis.call('ZREM', KEYS[3], member)
              start = '(' .. member
            elseif cp then
              count = count + 1
              start = '[' .. cp .. '\\255'
              restarted = true
              break
            else
              count = count + 1
              start = '(' .. member
            end
            if count >= limit then break end
          end
          if not restarted and #batch < want and count < limit then exhausted = true; break end
        end
        if not exhausted then out[1] = start end
        return out
        """)
}
