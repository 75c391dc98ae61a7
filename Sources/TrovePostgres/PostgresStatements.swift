import Foundation

/// The SQL of one store's table, written once when the store opens.
///
/// Every statement is one round trip and decides by itself, on the server, what the contract
/// asks: a condition is part of the statement's `WHERE`, and expiry is judged against the
/// server's `now()` (the start of the statement's transaction), so that every client of the
/// table agrees on what is live whatever its own clock says.
struct PostgresStatements: Sendable {
    /// The table, quoted and schema-qualified: `"public"."kv"`.
    let table: String
    /// The expiry index's name, quoted.
    let expiryIndex: String

    init(schema: String, table: String) {
        self.table = Self.quote(schema) + "." + Self.quote(table)
        self.expiryIndex = Self.quote(table + "_expires_at")
    }

    /// `name` as a quoted identifier (names are checked before they get here; a quote inside
    /// one is doubled all the same).
    static func quote(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Whether `name` may name a table or a schema: a letter or `_`, then up to 54 letters,
    /// digits or `_` (so that the expiry index's name, the table's and `_expires_at`, fits
    /// PostgreSQL's 63 bytes).
    static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, bytes.count <= 55 else { return false }
        func isLetter(_ byte: UInt8) -> Bool { (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == 0x5F }
        return isLetter(first) && bytes.dropFirst().allSatisfy { isLetter($0) || (0x30...0x39).contains($0) }
    }

    /// A row that has not expired by the server's clock.
    static let live = "(expires_at IS NULL OR expires_at > now())"
    /// A row that has expired by the server's clock.
    static let expired = "(expires_at IS NOT NULL AND expires_at <= now())"
    /// The expiry of a write from its two parameters: an absolute time, or a lifetime in
    /// microseconds from the server's `now()`; neither is no expiry.
    static func expiry(_ absolute: Int, _ relative: Int) -> String {
        "COALESCE($\(absolute)::timestamptz, now() + $\(relative)::float8 * interval '1 microsecond')"
    }
    /// The metadata columns, in the order ``PostgresStore`` decodes them.
    static let metadataColumns = "size, etag, created_at, modified_at, expires_at"

    var createTable: String {
        """
        CREATE TABLE IF NOT EXISTS \(table) (
            key text COLLATE "C" PRIMARY KEY,
            value bytea NOT NULL,
            size bigint NOT NULL,
            etag text NOT NULL,
            created_at timestamptz NOT NULL,
            modified_at timestamptz NOT NULL,
            expires_at timestamptz
        )
        """
    }

    var createExpiryIndex: String {
        "CREATE INDEX IF NOT EXISTS \(expiryIndex) ON \(table) (expires_at) WHERE expires_at IS NOT NULL"
    }

    // MARK: Reads

    /// $1 key.
    var read: String {
        "SELECT value, \(Self.metadataColumns) FROM \(table) WHERE key = $1 AND \(Self.live)"
    }

    /// $1 key.
    var metadata: String {
        "SELECT \(Self.metadataColumns) FROM \(table) WHERE key = $1 AND \(Self.live)"
    }

    /// The part of a value a ranged read returns: $2 the first offset (from 0), or minus the
    /// length of a suffix; $3 the most bytes to return. With $4, an ETag for which nothing is
    /// returned.
    private static let rangedValue = """
        CASE WHEN etag = $4::text THEN NULL
             ELSE substring(value FROM (CASE WHEN $2::bigint < 0 THEN greatest(size + $2::bigint, 0) ELSE $2::bigint END)::integer + 1
                            FOR $3::integer) END
        """

    /// A read with options: $1 key, $2 start or minus a suffix's length, $3 the most bytes,
    /// $4 an ETag not to return the value for (or NULL).
    var readWithOptions: String {
        "SELECT \(Self.rangedValue), \(Self.metadataColumns) FROM \(table) WHERE key = $1 AND \(Self.live)"
    }

    /// A read that renews the expiry in the same statement, keeping value and ETag: $1 to $4 as
    /// ``readWithOptions``, $5 and $6 the new expiry.
    var readRenewing: String {
        """
        UPDATE \(table) SET expires_at = \(Self.expiry(5, 6)) WHERE key = $1 AND \(Self.live)
        RETURNING \(Self.rangedValue), \(Self.metadataColumns)
        """
    }

    /// Renews the expiry and returns the metadata: $1 key, $2 and $3 the new expiry.
    var metadataRenewing: String {
        """
        UPDATE \(table) SET expires_at = \(Self.expiry(2, 3)) WHERE key = $1 AND \(Self.live)
        RETURNING \(Self.metadataColumns)
        """
    }

    /// One piece of the value of ETag $4 (live or not: the version a stream opened), for a
    /// stream: $1 key, $2 the first offset (from 0), $3 the most bytes.
    var readPiece: String {
        "SELECT substring(value FROM $2::bigint::integer + 1 FOR $3::integer) FROM \(table) WHERE key = $1 AND etag = $4"
    }

    /// Many keys at once: $1 the keys, as an array.
    var readMany: String {
        "SELECT key, value, \(Self.metadataColumns) FROM \(table) WHERE key = ANY($1::text[]) AND \(Self.live)"
    }

    // MARK: Writes

    private static let returning = "RETURNING \(metadataColumns)"

    /// The values of an insert: $1 key, `value` (by default $2), $3 size, $4 ETag, $5 and $6
    /// the expiry.
    private static func insertValues(_ value: String) -> String {
        "VALUES ($1, \(value), $3, $4, now(), now(), \(expiry(5, 6)))"
    }

    /// A streamed write's value: its parts, put together on the server in their order ($2, an
    /// empty value, when there are none).
    private static let valueFromParts = "COALESCE((SELECT string_agg(bytes, ''::bytea ORDER BY n) FROM pg_temp.trove_parts), $2::bytea)"

    /// The temporary table of a streamed write's parts: the connection's own, dropped when
    /// the write's transaction ends, however it ends.
    static let createParts = "CREATE TEMPORARY TABLE trove_parts (n integer PRIMARY KEY, bytes bytea NOT NULL) ON COMMIT DROP"

    /// One part of a streamed write: $1 its number, $2 its bytes.
    static let insertPart = "INSERT INTO pg_temp.trove_parts (n, bytes) VALUES ($1, $2)"

    /// What an insert over an existing row sets: the new value, a creation date kept from the
    /// old row unless that row had expired.
    private static let overwrite = """
        value = EXCLUDED.value, size = EXCLUDED.size, etag = EXCLUDED.etag,
        created_at = CASE WHEN \(expired.replacingOccurrences(of: "expires_at", with: "e.expires_at")) THEN now() ELSE e.created_at END,
        modified_at = now(), expires_at = EXCLUDED.expires_at
        """

    /// An unconditional write (an upsert).
    var write: String { write(.always) }

    /// The three writes, by their condition.
    enum WriteStatement {
        /// An upsert.
        case always
        /// A write if the key holds no live value: an insert that takes the place of an expired
        /// row only (no row comes back when a live one is there).
        case ifAbsent
        /// A write if the live row's ETag is $7 (no row comes back otherwise).
        case ifMatches
    }

    /// The write of `kind`: of the value $2, or, `fromParts`, of the parts in
    /// `pg_temp.trove_parts` (a streamed write), the parameters the same.
    func write(_ kind: WriteStatement, fromParts: Bool = false) -> String {
        let value = fromParts ? Self.valueFromParts : "$2"
        switch kind {
        case .always: return write(value: value)
        case .ifAbsent: return writeIfAbsent(value: value)
        case .ifMatches: return writeIfMatches(value: value)
        }
    }

    private func write(value: String) -> String {
        """
        INSERT INTO \(table) AS e (key, value, size, etag, created_at, modified_at, expires_at) \(Self.insertValues(value))
        ON CONFLICT (key) DO UPDATE SET \(Self.overwrite) \(Self.returning)
        """
    }

    private func writeIfAbsent(value: String) -> String {
        """
        INSERT INTO \(table) AS e (key, value, size, etag, created_at, modified_at, expires_at) \(Self.insertValues(value))
        ON CONFLICT (key) DO UPDATE SET \(Self.overwrite)
        WHERE \(Self.expired.replacingOccurrences(of: "expires_at", with: "e.expires_at")) \(Self.returning)
        """
    }

    private func writeIfMatches(value: String) -> String {
        """
        UPDATE \(table) SET value = \(value), size = $3, etag = $4, modified_at = now(), expires_at = \(Self.expiry(5, 6))
        WHERE key = $1 AND etag = $7 AND \(Self.live) \(Self.returning)
        """
    }

    // MARK: Deletes

    /// Deletes a row, live or not, saying whether it was live: $1 key.
    var delete: String {
        "DELETE FROM \(table) WHERE key = $1 RETURNING \(Self.live)"
    }

    /// Deletes the live row of ETag $2: $1 key.
    var deleteIfMatches: String {
        "DELETE FROM \(table) WHERE key = $1 AND etag = $2 AND \(Self.live) RETURNING true"
    }

    /// Deletes a row without saying anything: $1 key.
    var discard: String {
        "DELETE FROM \(table) WHERE key = $1"
    }

    /// Deletes many rows: $1 the keys, as an array.
    var discardMany: String {
        "DELETE FROM \(table) WHERE key = ANY($1::text[])"
    }

    /// Deletes every expired row and counts them.
    var reclaimExpired: String {
        "WITH gone AS (DELETE FROM \(table) WHERE \(Self.expired) RETURNING 1) SELECT count(*) FROM gone"
    }

    /// Deletes at most a few expired rows, oldest expiry first: the opportunistic purge.
    var purgeSome: String {
        """
        DELETE FROM \(table) WHERE key IN (
            SELECT key FROM \(table) WHERE \(Self.expired) ORDER BY expires_at LIMIT 64 FOR UPDATE SKIP LOCKED)
        """
    }

    // MARK: Listing and counting

    /// The range of keys under a prefix: $1 the prefix (the lower bound), $2 the smallest text
    /// above every key that starts with it (when `bounded`).
    private static func range(bounded: Bool) -> String {
        bounded ? "key >= $1 AND key < $2" : "key >= $1"
    }

    /// Counts the live keys under a prefix: $1 (and $2 when `bounded`) as in ``range(bounded:)``.
    func count(bounded: Bool) -> String {
        "SELECT count(*) FROM \(table) WHERE \(Self.range(bounded: bounded)) AND \(Self.live)"
    }

    /// One page of a listing without a delimiter: the range, $3 the last name of the previous
    /// page (or ''), $4 the most rows.
    func page(bounded: Bool, metadata: Bool) -> String {
        let columns = metadata ? "key, \(Self.metadataColumns)" : "key"
        return """
            SELECT \(columns) FROM \(table) WHERE \(Self.range(bounded: bounded)) AND key > $3 AND \(Self.live)
            ORDER BY key LIMIT $4
            """
    }

    /// One page of a delimiter listing, which skips each common prefix on the server: a
    /// recursive walk that takes the next live key, and from a key with the delimiter past the
    /// prefix jumps to the first key after everything under that common prefix (a range scan of
    /// the primary key each). $1 and $2 the range, $3 the lower bound of the page (every name is
    /// at or after it), $4 the most names, $5 the delimiter, $6 the character after the
    /// delimiter. Each row is a name's key and, for a common prefix, the prefix; with
    /// `metadata`, the key's metadata.
    func delimitedPage(bounded: Bool, metadata: Bool) -> String {
        let upper = bounded ? " AND key < $2" : ""
        // The common prefix a key rolls up into, or NULL.
        func common(_ name: String) -> String {
            "CASE WHEN strpos(substr(\(name), length($1) + 1), $5) > 0 "
                + "THEN left(\(name), length($1) + strpos(substr(\(name), length($1) + 1), $5)) END"
        }
        // The lowest text the walk may take after `name`: past every key under its common prefix,
        // or just past the key itself (a key holds no control character, so `name || chr(1)` is
        // the first text after it).
        let next = "COALESCE(left(\(common("w.name")), -1) || $6, w.name || chr(1))"
        let walk = """
            WITH RECURSIVE walk(name, n) AS (
                (SELECT key, 1 FROM \(table) WHERE \(Self.range(bounded: bounded)) AND key >= $3 AND \(Self.live)
                 ORDER BY key LIMIT 1)
                UNION ALL
                SELECT (SELECT key FROM \(table) WHERE key >= \(next)\(upper) AND \(Self.live) ORDER BY key LIMIT 1), w.n + 1
                FROM walk w WHERE w.name IS NOT NULL AND w.n < $4
            )
            """
        if metadata {
            return walk + """
                SELECT w.name, \(common("w.name")), t.size, t.etag, t.created_at, t.modified_at, t.expires_at
                FROM walk w LEFT JOIN \(table) t ON t.key = w.name AND \(common("w.name")) IS NULL
                WHERE w.name IS NOT NULL ORDER BY w.name
                """
        }
        return walk + "SELECT w.name, \(common("w.name")) FROM walk w WHERE w.name IS NOT NULL ORDER BY w.name"
    }

    // MARK: Batches

    /// Inserts or overwrites many rows in one statement: $1 keys, $2 values, $3 sizes, $4 ETags,
    /// $5 absolute expiries in seconds since 1970, $6 lifetimes in microseconds, as arrays of
    /// one length (an expiry that is not given is NaN, as an array cannot hold NULL here).
    var writeMany: String {
        """
        INSERT INTO \(table) AS e (key, value, size, etag, created_at, modified_at, expires_at)
        SELECT k, v, s, t, now(), now(),
               CASE WHEN x <> 'NaN' THEN to_timestamp(x) WHEN r <> 'NaN' THEN now() + r * interval '1 microsecond' END
        FROM unnest($1::text[], $2::bytea[], $3::bigint[], $4::text[], $5::float8[], $6::float8[]) AS u(k, v, s, t, x, r)
        ON CONFLICT (key) DO UPDATE SET \(Self.overwrite) RETURNING key, \(Self.metadataColumns)
        """
    }
}
