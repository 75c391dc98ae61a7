public import Foundation
import Synchronization
public import Trove
public import TroveRedisClient

/// A store in a Redis database: every key under a prefix, conditions and expiry carried out on
/// the server, so that every process sharing the database sees one store.
///
///     let client = RedisClient(configuration: RedisClient.Configuration(host: "127.0.0.1", port: 6379))
///     let sessions = RedisStore(client: client, prefix: "app:", expiration: .sliding(.seconds(1800)))
///     try await sessions.set(Data(token.utf8), for: "alice")   // lives 30 minutes after its last read
///
/// **Layout.** The entry of key `k` is a hash at `prefix + k` (`HGETALL app:alice` shows it):
/// field `v` holds the value, `e` the ETag, `m` and `c` the modification and creation times
/// (ms since 1970, by the server's clock), `x` the expiry time and `l` a sliding lifetime.
/// Expiry is the server's own (`PEXPIREAT` on the hash), so the server reclaims the space.
/// Two sorted sets beside them make listing and counting possible without `SCAN`:
/// `prefix + "\u{1}keys"` holds every key with score 0, so `ZRANGEBYLEX` gives them in
/// byte-wise order, a page at a time; `prefix + "\u{1}expiry"` holds the keys that expire,
/// scored by when. **Server memory** (Redis 7.0, `MEMORY USAGE`, 10,000 keys of 22 bytes with
/// values of 100 bytes): the key index takes about 129 bytes per key (the key's bytes and about
/// 107 of the sorted set's own), the expiry index as much again for an entry that expires, and
/// an entry's hash 480 bytes where a plain string of the same value takes 184: about 425 bytes
/// per entry beyond the plain string, for ordered listing, counting and the metadata.
///
/// **Large values.** A value longer than ``chunkByteCount`` (1 MiB) is not in `v`: it is in
/// strings of 1 MiB at `prefix + k + "\u{1}" + generation + ":" + i` (the generation is the ETag
/// of the write that made them; `g`, `n` and `s` in the hash say which, how many and the size),
/// staged with a time to live before the write's script makes them the entry's. A generation is
/// never rewritten, and a replaced or deleted value's chunks live ``chunkGraceMilliseconds``
/// more, so a reader sees one value whole. ``Layout/plain`` keeps values whole.
///
/// **On a Redis Cluster** (a client made with `RedisClient.init(cluster:eventLoopGroup:logger:)`)
/// the store is split into 16 buckets (``Layout/buckets(_:)``): key `k` belongs to bucket
/// `CRC16(k) mod 16`, its hash lives at `prefix + "{" + tag + "}" + k` and the bucket's two
/// sorted sets at `prefix + "{" + tag + "}\u{1}keys"` and `…\u{1}expiry`, where the hash tag
/// (`0.3`, `1.22`, …) pins the bucket to one slot and the 16 slots are spread evenly over the
/// slot space, so the buckets spread over the primaries as the slots do. Each script still
/// touches one entry and its own bucket's indexes, which share its slot, so writes,
/// compare-and-swap, deletes, counters and sliding reads stay one atomic step on one
/// primary. Listing reads every bucket's index from the cursor on (one pipeline, split per
/// primary) and merges them in byte order; counting adds the buckets' counts.
///
/// **Atomicity.** Every write, delete, counter step and sliding read is one Lua script, which
/// Redis runs with nothing in between: the condition, the hash and both indexes change
/// together. Scripts are sent by digest (`EVALSHA`), and in full (`EVAL`, which loads them)
/// only when the server answers `NOSCRIPT`. A plain read is one `HMGET`.
///
/// **Round trips.** A read, a write (conditional or not), a delete, a sliding read and a
/// counter step are one command and one round trip each; a batch of any size is one
/// pipeline, one round trip (not atomic: each entry succeeds or fails on its own); a listing
/// page is one script call.
///
/// **Expiry models** (``Expiration``): none (each write's own `Expiry`); fixed (writes
/// without one live a set time); sliding (writes without one live a set time after their last
/// read, and so do writes with a relative expiry of their own; a read of the value renews it
/// in the same script that reads it). Metadata lookups and listings do not renew.
///
/// **ETags** are a random 64-bit identifier of the store instance and a counter: new on every
/// write, even of identical bytes. Creation dates are kept across overwrites of a live entry.
///
/// **Listing** pages through the key index; keys whose entry expired since are dropped from
/// the index on the way. A delimiter listing skips past each common prefix on the server,
/// so a page costs O(page size × log n) whatever the number of keys under a common prefix.
///
/// **Plain strings** (``Layout/plain``): key `k` is the string `prefix + k`, readable and
/// writable by any other program, with no hash and no index; the store reads what others
/// wrote there, lists by `SCAN` and sorting, and does without what a string cannot keep
/// (dates, a new ETag for identical bytes), as its capabilities say.
///
/// Capabilities: persistence (as far as the server persists), conditional writes and
/// deletes, expiration, creation and modification dates, sharing across processes, a
/// distinct ETag per write, renewing an expiry within a read, and streaming (a value over
/// ``chunkByteCount`` goes in and out a chunk at a time). Not atomic batches. With
/// ``Layout/plain``, see ``capabilities``.
public final class RedisStore: KeyValueStore {
    /// The client the store sends its commands with; the caller owns it and shuts it down.
    public let client: RedisClient
    /// What every key of this store starts with on the server, such as `app:`.
    public let prefix: String
    /// How the store's entries expire.
    public let expiration: Expiration

    /// How the entries are laid out on the server: one index, buckets spread over a cluster's
    /// slots, or plain strings.
    public let layout: Layout

    /// The buckets of the layout: one for ``Layout/single``.
    let buckets: [Bucket]
    private let instance: UInt64
    private let counter = Atomic<UInt64>(0)

    /// Where the entries of one bucket live: their keys' common start, and the two indexes.
    struct Bucket: Sendable {
        /// What the server key of every entry of the bucket starts with.
        let entryPrefix: String
        /// The sorted set of the bucket's keys.
        let indexKey: String
        /// The sorted set of the bucket's expiring keys, scored by expiry time.
        let expiryKey: String
    }

    /// Creates a store over the keys under `prefix` in the client's database.
    ///
    /// Nothing is sent until the first call.
    ///
    /// - Parameters:
    ///   - client: The client to send commands with.
    ///   - prefix: What every key starts with on the server. Defaults to `""`, the whole
    ///     database (the index keys are then `\u{1}keys` and `\u{1}expiry`).
    ///   - expiration: How entries expire. Defaults to ``Expiration/none``.
    ///   - layout: How entries are laid out: ``Layout/single`` (the default for a client of
    ///     one server), ``Layout/buckets(_:)`` (the default for a cluster client, with 16
    ///     buckets) or ``Layout/plain`` (plain strings, for data other programs share). Every
    ///     process sharing the store must use the same layout.
    public init(client: RedisClient, prefix: String = "", expiration: Expiration = .none, layout: Layout? = nil) {
        self.client = client
        self.prefix = prefix
        self.expiration = expiration
        let layout = layout ?? (client.isCluster ? Layout.buckets(16) : Layout.single)
        self.layout = layout
        self.buckets = layout.bucketTags.map { tag in
            let entryPrefix = tag.map { prefix + "{" + $0 + "}" } ?? prefix
            return Bucket(entryPrefix: entryPrefix, indexKey: entryPrefix + "\u{1}keys", expiryKey: entryPrefix + "\u{1}expiry")
        }
        self.instance = UInt64.random(in: 1...UInt64.max)
    }

    /// With an index (``Layout/single``, ``Layout/buckets(_:)``): persistence (as far as the
    /// server persists), conditional writes and deletes, expiration, creation and modification
    /// dates, sharing across processes, retention, a distinct ETag per write, renewing an
    /// expiry within a read and streaming. With ``Layout/plain``, the same less creation and
    /// modification dates, a distinct ETag per write and streaming: a plain string keeps only
    /// its bytes and its TTL, and travels whole.
    public var capabilities: StoreCapabilities {
        if layout.isPlain {
            return [.persistence, .conditionalWrites, .conditionalDeletes, .expiration, .sharedAcrossProcesses, .retention,
                    .expiryRefreshOnRead]
        }
        return [.persistence, .conditionalWrites, .conditionalDeletes, .expiration, .creationDate, .modificationDate,
                .sharedAcrossProcesses, .retention, .distinctETagPerWrite, .expiryRefreshOnRead, .streaming]
    }

    /// `redis(redis://host:port/db, prefix 'app:', sliding 30m)`, never with a password.
    public var description: String {
        var text = "redis(\(client), prefix '\(prefix)'"
        if expiration != .none { text += ", \(expiration)" }
        if layout != .single { text += ", \(layout)" }
        return text + ")"
    }

    /// The bucket of `key`: CRC16 of its UTF-8 bytes modulo the number of buckets.
    func bucket(of key: StoreKey) -> Bucket {
        if buckets.count == 1 { return buckets[0] }
        return buckets[Int(RedisHashSlot.crc16(key.rawValue.utf8)) % buckets.count]
    }

    /// The server key of `key`'s hash.
    func serverKey(_ key: StoreKey) -> String { bucket(of: key).entryPrefix + key.rawValue }

    /// The three keys every script receives: the entry's hash and its bucket's two indexes.
    func scriptKeys(_ key: StoreKey) -> [String] {
        let bucket = bucket(of: key)
        return [bucket.entryPrefix + key.rawValue, bucket.indexKey, bucket.expiryKey]
    }

    /// A new ETag: this instance's identifier and the next count.
    func makeETag() -> ETag {
        ETag(high: instance, low: counter.wrappingAdd(1, ordering: .relaxed).newValue)
    }
}

extension RedisStore {
    /// How a ``RedisStore`` lays its entries out on the server.
    ///
    /// A Lua script touches the keys of one hash slot only, so on a cluster the entry and the
    /// index it is listed in must share a slot. ``single`` keeps one index for the whole store
    /// (one slot: fine on one server, a hot spot on a cluster); ``buckets(_:)`` splits the
    /// store into buckets, each with an index of its own and a hash tag that pins the bucket's
    /// entries and index to one slot, the buckets' slots spread evenly over the slot space.
    /// ``plain`` keeps no index at all: each entry is a plain string, for data that other
    /// programs read and write.
    public struct Layout: Hashable, Sendable, CustomStringConvertible {
        /// The number of buckets; 1 for ``single``.
        public let bucketCount: Int
        private let isBucketed: Bool
        /// Whether entries are plain strings, with no index (``plain``).
        let isPlain: Bool

        /// One index for the whole store: the entry of key `k` at `prefix + k`, the indexes at
        /// `prefix + "\u{1}keys"` and `prefix + "\u{1}expiry"`.
        public static let single = Layout(bucketCount: 1, isBucketed: false, isPlain: false)

        /// The entry of key `k` is the plain Redis string at `prefix + k`, its value exactly the
        /// string's bytes and its expiry the string's TTL, with nothing else on the server: what
        /// other programs read and write (`redis-cli GET app:k`, Python's RedisDict), so that a
        /// store can open data it did not write. What a plain string cannot keep, the store
        /// cannot give: no creation date, no modification date (`EntryMetadata.modificationDate`
        /// is the moment the server answered), the ETag is the SHA-1 of the bytes (so rewriting
        /// the same bytes keeps it), and a listing page scans every key under the prefix
        /// (`SCAN`) and sorts them, so it costs O(keys under the prefix) on the server, whatever
        /// the page size. Works on one server and on a cluster alike (each step touches one key).
        public static let plain = Layout(bucketCount: 1, isBucketed: false, isPlain: true)

        /// `count` buckets (from 1 to 1,024): key `k` is in bucket `CRC16(k) mod count`, its
        /// entry at `prefix + "{" + tag + "}" + k` and the bucket's indexes at
        /// `prefix + "{" + tag + "}\u{1}keys"` and `…\u{1}expiry`, where bucket `i`'s tag is
        /// `i.n` with the smallest `n ≥ 0` whose slot falls in the `i`-th of `count` equal
        /// parts of the 16,384 slots, so that the buckets spread evenly over the primaries.
        /// A prefix holding a hash tag of its own (`{…}`) pins every bucket to that tag's slot.
        public static func buckets(_ count: Int) -> Layout {
            Layout(bucketCount: min(max(count, 1), 1024), isBucketed: true, isPlain: false)
        }

        /// `single`, `16 buckets` or `plain`.
        public var description: String { isPlain ? "plain" : isBucketed ? "\(bucketCount) buckets" : "single" }

        /// Each bucket's hash tag, or `[nil]` for ``single``.
        var bucketTags: [String?] {
            guard isBucketed else { return [nil] }
            return (0..<bucketCount).map { bucket in
                var attempt = 0
                while true {
                    let tag = "\(bucket).\(attempt)"
                    if Int(RedisHashSlot(key: tag).rawValue) * bucketCount / RedisHashSlot.count == bucket { return tag }
                    attempt += 1
                }
            }
        }
    }

    /// How a ``RedisStore``'s entries expire.
    public struct Expiration: Hashable, Sendable, CustomStringConvertible {
        enum Base: Hashable, Sendable {
            case none
            case fixed(Duration)
            case sliding(Duration)
        }

        let base: Base

        /// Entries expire only as each write's own `Expiry` says.
        public static let none = Expiration(base: .none)
        /// A write without an `Expiry` of its own lives `lifetime` from the write; a write
        /// with one keeps it.
        public static func fixed(_ lifetime: Duration) -> Expiration { Expiration(base: .fixed(lifetime)) }
        /// A write without an `Expiry` of its own lives `lifetime` from its last read, and a
        /// write with a relative expiry (`Expiry.after(_:)`) lives that long from its last
        /// read; a write with `Expiry.at(_:)` keeps its fixed deadline. Each read of the value
        /// renews the deadline in the same server step as the read.
        public static func sliding(_ lifetime: Duration) -> Expiration { Expiration(base: .sliding(lifetime)) }

        /// Whether reads renew expiries.
        public var isSliding: Bool {
            if case .sliding = base { return true }
            return false
        }

        /// `none`, `fixed 30m` or `sliding 30m`.
        public var description: String {
            switch base {
            case .none: return "none"
            case .fixed(let lifetime): return "fixed \(lifetime)"
            case .sliding(let lifetime): return "sliding \(lifetime)"
            }
        }
    }

    /// What a write's expiry becomes on the server: nothing, a lifetime from the server's now,
    /// or a moment; and the sliding lifetime to keep.
    struct ServerExpiry {
        /// `0`, `r` (relative) or `t` (absolute).
        var kind: String
        var milliseconds: Int64
        var slidingMilliseconds: Int64
    }

    func serverExpiry(for expiry: Expiry) -> ServerExpiry {
        if expiry.isNever {
            switch expiration.base {
            case .none: return ServerExpiry(kind: "0", milliseconds: 0, slidingMilliseconds: 0)
            case .fixed(let lifetime): return ServerExpiry(kind: "r", milliseconds: lifetime.milliseconds, slidingMilliseconds: 0)
            case .sliding(let lifetime):
                return ServerExpiry(kind: "r", milliseconds: lifetime.milliseconds, slidingMilliseconds: lifetime.milliseconds)
            }
        }
        // Expiry tells its kind only through expirationDate(writtenAt:): a relative one moves
        // with the moment of the write, an absolute one does not.
        let origin = Date(timeIntervalSince1970: 0)
        let early = expiry.expirationDate(writtenAt: origin)!, late = expiry.expirationDate(writtenAt: Date(timeIntervalSince1970: 1000))!
        if early != late {
            let milliseconds = Int64((early.timeIntervalSince1970 * 1000).rounded())
            return ServerExpiry(kind: "r", milliseconds: milliseconds, slidingMilliseconds: expiration.isSliding ? max(milliseconds, 1) : 0)
        }
        return ServerExpiry(kind: "t", milliseconds: Int64((early.timeIntervalSince1970 * 1000).rounded(.up)), slidingMilliseconds: 0)
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
