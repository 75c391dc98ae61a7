import Testing
import TroveRedisClient

/// Slots as the Redis Cluster specification computes them, and the key each command is
/// routed by.
@Suite("Redis Cluster hash slots")
struct RedisHashSlotTests {
    /// CRC16-XModem's check value, and slots the Redis documentation gives.
    @Test func knownValues() {
        #expect(RedisHashSlot.crc16(Array("123456789".utf8)) == 0x31C3)
        #expect(RedisHashSlot(key: "123456789").rawValue == 0x31C3 % 16_384)
        #expect(RedisHashSlot(key: "somekey").rawValue == 11_058)
        #expect(RedisHashSlot(key: "foo{hash_tag}").rawValue == 2_515)
        #expect(RedisHashSlot(key: "foo").rawValue == 12_182)
        #expect(RedisHashSlot(key: "").rawValue == 0)
    }

    /// The hash tag rules of the specification: the first `{`, the first `}` after it, and
    /// something between them.
    @Test func hashTags() {
        let user = RedisHashSlot(key: "user1000")
        #expect(RedisHashSlot(key: "{user1000}.following") == user)
        #expect(RedisHashSlot(key: "{user1000}.followers") == user)
        #expect(RedisHashSlot(key: "foo{}{bar}") == RedisHashSlot(key: Array("foo{}{bar}".utf8)))
        #expect(RedisHashSlot(key: "foo{}{bar}") != RedisHashSlot(key: "bar"))
        #expect(RedisHashSlot(key: "foo{{bar}}zap") == RedisHashSlot(key: "{bar"))
        #expect(RedisHashSlot(key: "foo{bar}{zap}") == RedisHashSlot(key: "bar"))
        #expect(RedisHashSlot(key: "{unclosed") == RedisHashSlot(key: Array("{unclosed".utf8)))
        #expect(RedisHashSlot(rawValue: 16_384) == nil)
    }

    /// A command is routed by its first key: the first argument, or the first key after the
    /// key count of a script call; commands without keys have no slot.
    @Test func commandsAreRoutedByTheirFirstKey() {
        #expect(RedisCommand("GET", "foo").keySlot == RedisHashSlot(key: "foo"))
        #expect(RedisCommand("set", "{user1000}.a", "v").keySlot == RedisHashSlot(key: "user1000"))
        #expect(RedisCommand("EVALSHA", "0123", 2, "alpha", "beta", "x").keySlot == RedisHashSlot(key: "alpha"))
        #expect(RedisCommand("EVAL", "return 1", 0).keySlot == nil)
        #expect(RedisCommand("MEMORY", "USAGE", "foo").keySlot == RedisHashSlot(key: "foo"))
        #expect(RedisCommand("PING").keySlot == nil)
        #expect(RedisCommand("CLUSTER", "SHARDS").keySlot == nil)
        let long = String(repeating: "k", count: 300)
        #expect(RedisCommand("HSET", long, "field", "value").keySlot == RedisHashSlot(key: long))
        var pinned = RedisCommand("PING")
        pinned.slot = RedisHashSlot(rawValue: 42)
        #expect(pinned.keySlot?.rawValue == 42)
    }
}
