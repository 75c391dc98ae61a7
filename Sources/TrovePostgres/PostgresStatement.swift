import PostgresNIO

/// One of a store's statements as a postgres-nio prepared statement, prepared once on each
/// connection of the pool and then run by name (a Bind and an Execute, no parsing or planning).
///
/// postgres-nio names a prepared statement, and takes its SQL, from static properties of its
/// type; a store's SQL depends on its table, known only at run time. So the name and the SQL
/// are set for the task that runs the statement (``run(_:on:client:logger:)``), which is where
/// postgres-nio reads them, before the statement leaves for its connection. The name is a
/// digest of the SQL, so one text is one statement on every connection.
struct PostgresStatement: PostgresPreparedStatement {
    /// The name and the SQL of the statement the current task runs.
    @TaskLocal static var current = (name: "", sql: "")

    static var name: String { current.name }
    static var sql: String { current.sql }

    typealias Row = PostgresRow

    let bindings: PostgresBindings

    func makeBindings() throws -> PostgresBindings { bindings }

    func decodeRow(_ row: PostgresRow) throws -> PostgresRow { row }

    /// The statement's name for `sql`: `trove_` and 64 bits of an FNV-1a digest of it, in
    /// hexadecimal.
    static func name(for sql: String) -> String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in sql.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        let digits = String(hash, radix: 16)
        return "trove_" + String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// Runs `query` as a prepared statement on `connection`, or on a connection of `client`'s
    /// pool, and returns every row.
    ///
    /// The statement runs on the connection's event loop (see ``EventLoopExecutor``), from the
    /// write of its Bind and Execute to the last row: postgres-nio answers a statement in steps
    /// (the stream of rows as soon as the server has bound the statement, then the rows, then
    /// the end), and each step resumes the caller; on the event loop's thread that is a call,
    /// not a hand-over to another thread. Only the way in and the way back change threads.
    ///
    /// With `confirmingCommit`, for a change outside a transaction: the server commits such a
    /// statement at the Sync that follows it, after it has written the statement's answer, and
    /// postgres-nio ends the statement at that answer. So the statement returns its rows only
    /// once the connection's ``StatementEndWatch`` has seen the Sync answered: it throws
    /// ``CommitFailed`` when the server reported an error before that (the change was rolled
    /// back), and ``ClosedAfterAnswer`` when the connection closed before it (an immediate
    /// shutdown sends what the server had written, then closes: the change may or may not
    /// have been committed).
    static func run(
        _ query: PostgresQuery, on connection: PostgresConnection?, client: PostgresClient, logger: Logger,
        confirmingCommit: Bool = false
    ) async throws -> [PostgresRow] {
        let statement = PostgresStatement(bindings: query.binds)
        let names = (name(for: query.sql), query.sql)
        if let connection {
            return try await collect(statement, names, on: connection, logger: logger, confirmingCommit: confirmingCommit)
        }
        return try await client.withConnection { connection in
            try await collect(statement, names, on: connection, logger: logger, confirmingCommit: confirmingCommit)
        }
    }

    /// Runs `query` as a simple query (no preparing: `BEGIN`, `COMMIT`) on `connection`, or on
    /// a connection of `client`'s pool, and returns every row; throws ``ClosedBeforeSending``,
    /// having sent nothing, when the connection has closed.
    static func runSimple(
        _ query: PostgresQuery, on connection: PostgresConnection?, client: PostgresClient, logger: Logger
    ) async throws -> [PostgresRow] {
        guard let connection else {
            return try await client.withConnection { try await runSimple(query, on: $0, client: client, logger: logger) }
        }
        return try await withTaskExecutorPreference(EventLoopExecutor(connection.eventLoop)) {
            try await passingOverIfClosed(connection)
            return try await connection.query(query, logger: logger).collect()
        }
    }

    /// Throws ``ClosedBeforeSending`` when `connection` has closed, once its pool knows: on the
    /// connection's event loop, nothing closes the channel between this check and a write that
    /// follows it without suspending (postgres-nio writes a statement without a promise, and a
    /// write to a closed channel would leave the statement waiting for an answer that never
    /// comes).
    private static func passingOverIfClosed(_ connection: PostgresConnection) async throws {
        guard connection.isClosed else { return }
        // The pool learns of the close from the channel's close future, which NIO completes a
        // moment after the channel stops being active: until then, a connection given back is
        // handed out again. So it goes back once the pool knows.
        try? await connection.closeFuture.get()
        throw ClosedBeforeSending()
    }

    private static func collect(
        _ statement: PostgresStatement, _ names: (name: String, sql: String), on connection: PostgresConnection, logger: Logger,
        confirmingCommit: Bool
    ) async throws -> [PostgresRow] {
        try await withTaskExecutorPreference(EventLoopExecutor(connection.eventLoop)) {
            try await passingOverIfClosed(connection)
            let watch = confirmingCommit ? StatementEndWatch.watch(of: connection) : nil
            let rows = try await $current.withValue(names) {
                var rows: [PostgresRow] = []
                for try await row in try await connection.execute(statement, logger: logger) { rows.append(row) }
                return rows
            }
            guard confirmingCommit else { return rows }
            switch await watch?.endOfLastCycle() ?? .unknown {
            case .committed:
                return rows
            case .failed(let failure):
                throw CommitFailed(failure: failure)
            case .closed:
                throw ClosedAfterAnswer()
            case .unknown:
                // Without the watch, what the connection shows at once: a server that went
                // away right after the answer has usually closed it in the same read.
                if connection.isClosed { throw ClosedAfterAnswer() }
                return rows
            }
        }
    }
}

/// The server answered a change outside a transaction and closed the connection before
/// confirming that it committed it: the change may or may not have taken effect.
struct ClosedAfterAnswer: Error {}

/// The server answered a change outside a transaction, then reported an error before it
/// confirmed the commit (a deferred constraint, a failed commit): the change was rolled back.
struct CommitFailed: Error {
    let failure: StatementEndWatch.ServerFailure
}

/// The pool handed out a connection that had closed; the statement was not sent, so any
/// statement, a write too, may run again on another connection.
struct ClosedBeforeSending: Error {}

/// A task executor that runs every job on one NIO event loop, so that a task preferring it
/// runs on the loop's thread: what the loop's channel handlers resume runs right after them,
/// on that thread, instead of waking a thread of the global executor.
final class EventLoopExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
