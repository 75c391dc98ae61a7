public import Foundation
import Logging
public import PostgresNIO
import Synchronization
public import Trove

/// A store in one table of a PostgreSQL database: one consistent dictionary shared by every
/// process and machine that connects to the database, with its transactions and backups.
///
///     let client = PostgresClient(configuration: .init(
///         host: "db.internal", username: "app", password: secret, database: "app", tls: .disable))
///     try await withThrowingDiscardingTaskGroup { group in
///         group.addTask { await client.run() }          // the pool's upkeep, in a task you own
///         let store = try await PostgresStore(client: client)
///         try await store.set(Data("hello".utf8), for: "greeting")
///         group.cancelAll()
///     }
///
/// From a URL, ``Trove/StoreScheme/postgres`` opens the client and the store together, and
/// `OpenedStore.run()` (or `OpenedStore.withRunning(isolation:_:)`) runs the pool.
///
/// **Layout.** Each store is one table (`kv` in schema `public` unless you name others), so many
/// stores share a database:
///
///     key         text COLLATE "C" PRIMARY KEY
///     value       bytea NOT NULL
///     size        bigint NOT NULL
///     etag        text NOT NULL
///     created_at  timestamptz NOT NULL
///     modified_at timestamptz NOT NULL
///     expires_at  timestamptz          -- with a partial index WHERE expires_at IS NOT NULL
///
/// The `C` collation compares keys byte by byte, which is `StoreKey`'s order, so listing is a
/// range scan of the primary key: a prefix becomes `key >= prefix AND key < next` where `next`
/// is the smallest text after every key with that prefix, which the index serves (a `LIKE` on
/// an expression would not). Values are `bytea`, sent and received in binary.
///
/// **The contract in single statements.** Every call is one statement, so one round trip, and
/// its condition is part of it: an upsert (`INSERT … ON CONFLICT (key) DO UPDATE`) for a plain
/// write; for `WriteCondition.ifAbsent` the same insert whose `DO UPDATE` applies only over an
/// expired row (so a live row makes it return nothing: the condition failed); for
/// `WriteCondition.ifMatches(_:)` an `UPDATE … WHERE key = $1 AND etag = $7` of the live row;
/// deletes likewise. PostgreSQL re-checks an `UPDATE`'s `WHERE` on the newest version of a row it
/// waited for, so these compare-and-swaps hold across every client at the default isolation.
///
/// **Whose clock.** Expiry is judged by the server's clock: every statement compares
/// `expires_at` with `now()`, the start of its transaction, and `Expiry.after(_:)` is stored
/// as `now() + lifetime`. The servers of an application do not share a clock, and the database
/// is the one place they all reach, so an entry is live or expired for all of them at once; the
/// dates in `EntryMetadata` are the server's too. (`Expiry.at(_:)` is a point in time that
/// the caller chose, stored as it is.) An expired row is invisible to every read, listing and
/// count at once; ``reclaimExpired()`` deletes every one, and the store deletes a few itself
/// every few hundred writes.
///
/// **ETags** are 128 bits: a random identifier of the store instance and a counter, so every
/// write gives a new one, even of identical bytes (`StoreCapabilities.distinctETagPerWrite`).
///
/// **Batches** run in one transaction (`StoreCapabilities.atomicBatches`): a batch of
/// unconditional writes of distinct keys is a single multi-row `INSERT … SELECT FROM unnest(…)`;
/// other batches are one statement per entry inside `BEGIN … COMMIT`, each condition judged after
/// the entries before it. ``transaction(_:)`` runs your own sequence of calls the same way.
///
/// **Values** are limited to ``Options/maximumValueSize`` (64 MiB unless you set it), which
/// fails a larger write with `StoreError.Code.valueTooLarge` before anything is sent. A value
/// written or read whole is held whole in memory on its way; streamed
/// (``write(contentsOf:for:options:)``, ``readStream(_:chunkSize:options:)``) it goes a part of
/// 1 MiB at a time: a streamed write sends its parts into a temporary table of one transaction
/// and its last statement puts them together under the condition, and a stream reads its
/// value a piece at a time, each of the version it opened.
///
/// **Errors** are `StoreError`s whose `underlying` is postgres-nio's error. A lost or refused
/// connection is `unavailable` (retryable), saying whether the statement may have run; a
/// refused login (SQLSTATE 28P01, 28000) or privilege (42501) is `permissionDenied`; a missing
/// database (3D000) is `unavailable`, a missing schema (3F000) `invalidArgument`; the server's
/// `statement_timeout` (57014) and lock timeouts (55P03) are `timedOut`; serialization failures
/// and deadlocks (40001, 40P01) are retryable `unavailable`; a read-only server (25006) is
/// `readOnly`; a full disk (53100) is `outOfSpace`. Messages hold the server's text, never the
/// query, its parameters or the password.
///
/// **Threads and the pool.** Each statement runs on its connection's event loop, from the
/// write to the last row, so that the steps in which postgres-nio answers (the stream, the rows,
/// the end) resume it on the same thread; a call changes threads on its way in and on its way
/// back only. For a client of your own, consider what ``URLConfiguration/clientConfiguration()``
/// sets: postgres-nio's pool starts a keep-alive timer (and, above `minimumConnections`, an
/// idle timer) every time a connection comes back, and cancels them when it goes out again,
/// which costs a call at a time about as much as the statement's own work on the client; with
/// `keepAliveBehavior = nil` and a `minimumConnections` of one or two, neither runs.
///
/// Capabilities: retention, persistence, conditional writes and deletes, expiration, creation
/// and modification dates, a new ETag on every write, atomic batches, renewing an expiry within
/// a read, sharing across processes, and streaming.
public final class PostgresStore: KeyValueStore {
    /// The client whose pool the store's statements run on.
    public let client: PostgresClient
    /// The schema of the store's table.
    public let schema: String
    /// The table that holds this store's entries.
    public let table: String
    /// How the store uses its table.
    public let options: Options
    /// Where the server is, for descriptions and errors (never with a password).
    let location: String

    let sql: PostgresStatements
    let logger: Logger
    private let instance: UInt64
    private let counter = Atomic<UInt64>(0)
    private let writesSincePurge = Atomic<Int>(0)

    /// Opens the store in table `table` of schema `schema`, creating the table and its index
    /// when missing (with ``Options/createsTable``) and checking the shape of one that exists.
    ///
    /// The client must be running (its `PostgresClient.run()` in a task of yours): opening
    /// runs statements on it.
    ///
    /// - Parameters:
    ///   - client: The connection pool to use; the store does not run or close it.
    ///   - table: The table's name: a letter or `_`, then up to 54 letters, digits or `_`.
    ///     Defaults to `kv`.
    ///   - schema: The table's schema, named by the same rule; it must exist. Defaults to
    ///     `public`.
    ///   - options: How the store uses the table.
    ///   - location: How descriptions and errors name the server, such as `127.0.0.1:5432/app`.
    ///     Defaults to `postgres`; give no password here.
    /// - Throws: `StoreError` with `StoreError.Code.invalidArgument` for a bad name or a
    ///   table of another shape (the message names each difference), and the error of the first
    ///   statement otherwise (see ``PostgresStore`` on errors): `StoreError.Code.unavailable`
    ///   when the server cannot be reached, `StoreError.Code.permissionDenied` for a refused
    ///   login or a table the user may not create, …
    public convenience init(
        client: PostgresClient, table: String = "kv", schema: String = "public", options: Options = Options(),
        location: String = "postgres"
    ) async throws {
        try self.init(unopened: client, table: table, schema: schema, options: options, location: location)
        try await prepareTable { [client] query in try await client.query(query).collect() }
    }

    /// The store without touching the server (the URL scheme prepares the table over a
    /// connection of its own, before the pool runs).
    init(unopened client: PostgresClient, table: String, schema: String, options: Options, location: String) throws {
        self.client = client
        self.schema = schema
        self.table = table
        self.options = options
        self.location = location
        self.sql = PostgresStatements(schema: schema, table: table)
        self.logger = Logger(label: "trove.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
        var generator = SystemRandomNumberGenerator()
        self.instance = generator.next()
        for (what, name) in [("table", table), ("schema", schema)] where !PostgresStatements.isValidName(name) {
            throw StoreError(.invalidArgument, operation: .open, store: Self.describe(location, schema, table),
                             message: "'\(name)' is not a valid \(what) name: use a letter or '_', then up to 54 letters, digits or '_'")
        }
    }

    /// `postgres` followed by the server, the database and the table, such as
    /// `postgres 127.0.0.1:5432/app table public.kv`.
    public var description: String { Self.describe(location, schema, table) }

    static func describe(_ location: String, _ schema: String, _ table: String) -> String {
        "postgres \(location) table \(schema).\(table)"
    }

    /// Retention, persistence, conditional writes and deletes, expiration, creation dates, a new
    /// ETag on every write, atomic batches, renewing an expiry within a read, sharing across
    /// processes, and streaming (values in and out a part at a time).
    public var capabilities: StoreCapabilities {
        [.retention, .persistence, .conditionalWrites, .conditionalDeletes, .expiration, .creationDate,
         .distinctETagPerWrite, .atomicBatches, .expiryRefreshOnRead, .sharedAcrossProcesses, .streaming, .modificationDate]
    }

    /// A fresh ETag, never given before by any store instance (a random instance and a counter).
    func nextETag() -> String {
        ETag(high: instance, low: counter.add(1, ordering: .relaxed).newValue).rawValue
    }

    /// Whether this write should also delete a few expired rows.
    func shouldPurge() -> Bool {
        writesSincePurge.add(1, ordering: .relaxed).newValue % 512 == 0
    }
}
