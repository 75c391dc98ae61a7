/// The text of one statement of a store, with its slot in each connection's table of prepared
/// statements, so that finding the prepared statement takes no hashing of the text.
struct SQLText: Sendable {
    let text: String
    let slot: Int
}

/// The SQL of one store's table, written once per store.
///
/// Columns of the key table, in the order every row query selects them after `key` or `value`:
/// `size, etag_high, etag_low, created_at, modified_at, expires_at`. Dates are seconds since
/// 2001-01-01 (Foundation's reference date) as `REAL`, which round-trips a `Date` exactly.
struct SQLiteStatements: Sendable {
    let table: String
    let segments: String

    let schema: String
    let expectedColumns: [(String, [String])]

    let selectEntry: SQLText
    let selectMetadata: SQLText
    let selectSegments: SQLText
    let selectEntryThenSegments: SQLText
    let writeAlways: SQLText
    let writeIfAbsent: SQLText
    let writeIfMatches: SQLText
    let deleteLive: SQLText
    let deleteExpired: SQLText
    let deleteIfMatches: SQLText
    let listPage: SQLText
    let insertSegment: SQLText
    let insertPendingSegment: SQLText
    let settleSegments: SQLText
    let segmentTotals: SQLText
    let deleteSegments: SQLText
    let purgeExpired: SQLText
    let purgeSomeExpired: SQLText
    let purgePendingSegments: SQLText
    let countLive: SQLText
    let renewExpiry: SQLText
    let selectRangeForUpdate: SQLText
    let replaceValue: SQLText

    /// How many statements have a slot.
    static let slotCount = 23

    init(table: String) {
        self.table = table
        self.segments = table + "$segments"
        let t = "\"\(table)\""
        let s = "\"\(segments)\""
        /// Whether the row is live at the time bound to parameter `now`.
        func live(_ now: String) -> String { "(expires_at IS NULL OR expires_at > \(now))" }
        schema = """
            CREATE TABLE IF NOT EXISTS \(t) (
                key TEXT PRIMARY KEY NOT NULL,
                value BLOB NOT NULL,
                segments INTEGER,
                size INTEGER NOT NULL,
                etag_high INTEGER NOT NULL,
                etag_low INTEGER NOT NULL,
                created_at REAL NOT NULL,
                modified_at REAL NOT NULL,
                expires_at REAL
            ) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS "\(table)$expiry" ON \(t)(expires_at) WHERE expires_at IS NOT NULL;
            CREATE TABLE IF NOT EXISTS \(s) (
                id INTEGER PRIMARY KEY,
                value_id INTEGER NOT NULL,
                pending_since REAL,
                data BLOB NOT NULL
            );
            CREATE INDEX IF NOT EXISTS "\(segments)$by_value" ON \(s)(value_id, id);
            CREATE TRIGGER IF NOT EXISTS "\(table)$replace_segments" AFTER UPDATE OF segments ON \(t)
                WHEN OLD.segments IS NOT NULL AND OLD.segments IS NOT NEW.segments
                BEGIN DELETE FROM \(s) WHERE value_id = OLD.segments; END;
            CREATE TRIGGER IF NOT EXISTS "\(table)$delete_segments" AFTER DELETE ON \(t)
                WHEN OLD.segments IS NOT NULL
                BEGIN DELETE FROM \(s) WHERE value_id = OLD.segments; END;
            """
        expectedColumns = [
            (table, ["key TEXT", "value BLOB", "segments INTEGER", "size INTEGER", "etag_high INTEGER",
                     "etag_low INTEGER", "created_at REAL", "modified_at REAL", "expires_at REAL"]),
            (segments, ["id INTEGER", "value_id INTEGER", "pending_since REAL", "data BLOB"]),
        ]
        let columns = "size, etag_high, etag_low, created_at, modified_at, expires_at"
        selectEntry = SQLText(text: "SELECT value, segments, \(columns) FROM \(t) WHERE key = ?1 AND \(live("?2"))", slot: 0)
        selectMetadata = SQLText(text: "SELECT key, segments, \(columns) FROM \(t) WHERE key = ?1 AND \(live("?2"))", slot: 1)
        selectSegments = SQLText(text: "SELECT id, length(data) FROM \(s) WHERE value_id = ?1 ORDER BY id", slot: 2)
        // ?1 key, ?2 now, ?3 the largest value whose parts to read. The row as in selectEntry (and
        // NULL), then, for a value in parts of at most ?3 bytes, one row per part: its data and its
        // id, in the order of the index on (value_id, id). One statement, so one snapshot; and the
        // parts' cursors open only when a step goes past the row, which a read of a value kept in
        // the row never does.
        selectEntryThenSegments = SQLText(text: """
            SELECT value, segments, \(columns), NULL FROM \(t) WHERE key = ?1 AND \(live("?2"))
            UNION ALL
            SELECT data, NULL, NULL, NULL, NULL, NULL, NULL, NULL, id FROM \(s)
            WHERE value_id = (SELECT segments FROM \(t) WHERE key = ?1 AND \(live("?2")) AND size <= ?3)
            """, slot: 3)
        // ?1 key, ?2 value, ?3 segments, ?4 size, ?5 etag_high, ?6 etag_low, ?7 now, ?8 expires_at,
        // ?9 and ?10 the expected ETag.
        let insert = """
            INSERT INTO \(t) (key, value, segments, size, etag_high, etag_low, created_at, modified_at, expires_at)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8)
            ON CONFLICT (key) DO UPDATE SET value = excluded.value, segments = excluded.segments,
                size = excluded.size, etag_high = excluded.etag_high, etag_low = excluded.etag_low,
                created_at = CASE WHEN expires_at IS NOT NULL AND expires_at <= ?7 THEN ?7 ELSE created_at END,
                modified_at = ?7, expires_at = excluded.expires_at
            """
        writeAlways = SQLText(text: insert + " RETURNING created_at", slot: 4)
        // No RETURNING (SQLite keeps returned rows in a table of their own, a few microseconds a
        // row): the row was written when the statement changed one, and its creation is ?7
        // then, whether inserted or replacing an expired row.
        writeIfAbsent = SQLText(text: insert + " WHERE expires_at IS NOT NULL AND expires_at <= ?7", slot: 5)
        writeIfMatches = SQLText(text: """
            UPDATE \(t) SET value = ?2, segments = ?3, size = ?4, etag_high = ?5, etag_low = ?6, modified_at = ?7,
                expires_at = ?8
            WHERE key = ?1 AND etag_high = ?9 AND etag_low = ?10 AND \(live("?7"))
            RETURNING created_at
            """, slot: 6)
        // ?1 key, ?2 now, ?3 and ?4 the expected ETag. A delete without condition deletes the live
        // row (deleteLive); when there was none, an expired one (deleteExpired). Both without
        // RETURNING, whose table of returned rows costs more than the second statement.
        deleteLive = SQLText(text: "DELETE FROM \(t) WHERE key = ?1 AND \(live("?2"))", slot: 7)
        deleteExpired = SQLText(text: "DELETE FROM \(t) WHERE key = ?1 AND expires_at <= ?2", slot: 20)
        deleteIfMatches = SQLText(text: "DELETE FROM \(t) WHERE key = ?1 AND etag_high = ?3 AND etag_low = ?4 AND \(live("?2"))", slot: 8)
        // ?1 exclusive lower bound, ?2 prefix, ?3 exclusive upper bound, ?4 now, ?5 limit.
        listPage = SQLText(text: """
            SELECT key, segments, \(columns) FROM \(t)
            WHERE key > ?1 AND key >= ?2 AND key < ?3 AND \(live("?4"))
            ORDER BY key LIMIT ?5
            """, slot: 9)
        insertSegment = SQLText(text: "INSERT INTO \(s) (id, value_id, pending_since, data) VALUES (NULL, coalesce(?1, (SELECT coalesce(max(id), 0) + 1 FROM \(s))), NULL, ?2)", slot: 10)
        insertPendingSegment = SQLText(text: "INSERT INTO \(s) (id, value_id, pending_since, data) VALUES (NULL, coalesce(?1, (SELECT coalesce(max(id), 0) + 1 FROM \(s))), ?3, ?2)", slot: 11)
        // A streamed value is pending while its first row, an empty marker whose id is the
        // value's, has a `pending_since`: settling updates that row alone (updating a row rewrites
        // all of it, a part of 1 MiB included), and purging deletes every part of the value.
        settleSegments = SQLText(text: "UPDATE \(s) SET pending_since = NULL WHERE id = ?1", slot: 12)
        segmentTotals = SQLText(text: "SELECT count(*), coalesce(sum(length(data)), 0) FROM \(s) WHERE value_id = ?1", slot: 13)
        deleteSegments = SQLText(text: "DELETE FROM \(s) WHERE value_id = ?1", slot: 14)
        purgeExpired = SQLText(text: "DELETE FROM \(t) WHERE expires_at <= ?1", slot: 15)
        purgeSomeExpired = SQLText(text: "DELETE FROM \(t) WHERE key IN (SELECT key FROM \(t) WHERE expires_at <= ?1 LIMIT 64)", slot: 16)
        purgePendingSegments = SQLText(text: "DELETE FROM \(s) WHERE value_id IN (SELECT value_id FROM \(s) WHERE pending_since IS NOT NULL AND pending_since < ?1)", slot: 17)
        // trove_is_key leaves out what listing passes over: rows that another program wrote
        // under names that are not keys.
        countLive = SQLText(text: """
            SELECT count(*) FROM \(t)
            WHERE key >= ?1 AND key < ?2 AND (expires_at IS NULL OR expires_at > ?3) AND trove_is_key(key)
            """, slot: 18)
        renewExpiry = SQLText(text: "UPDATE \(t) SET expires_at = ?3 WHERE key = ?1 AND \(live("?2"))", slot: 19)
        // A walk of updateInKeyOrder, inside its write transaction: ?1 inclusive lower bound,
        // ?2 exclusive upper bound, ?3 now, ?4 limit. Then each replacement: ?1 key, ?2 value,
        // ?3 size, ?4 and ?5 the ETag, ?6 now (the row read in the same transaction, so no
        // condition and no RETURNING: its creation date is known).
        selectRangeForUpdate = SQLText(text: """
            SELECT key, value, segments, size, etag_high, etag_low, created_at, modified_at, expires_at FROM \(t)
            WHERE key >= ?1 AND key < ?2 AND \(live("?3")) ORDER BY key LIMIT ?4
            """, slot: 21)
        replaceValue = SQLText(text: """
            UPDATE \(t) SET value = ?2, segments = NULL, size = ?3, etag_high = ?4, etag_low = ?5, modified_at = ?6,
                expires_at = NULL
            WHERE key = ?1
            """, slot: 22)
    }

    /// Whether `name` can name a store's table: a letter or `_`, then up to 63 ASCII letters,
    /// digits or `_`.
    static func isValidTableName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, bytes.count <= 64 else { return false }
        func isLetter(_ byte: UInt8) -> Bool { (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == 0x5F }
        return isLetter(first) && bytes.dropFirst().allSatisfy { isLetter($0) || (0x30...0x39).contains($0) }
    }
}
