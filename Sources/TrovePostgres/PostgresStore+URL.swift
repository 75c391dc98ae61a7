public import Foundation
import Logging
public import PostgresNIO
public import Trove

extension PostgresStore {
    /// How a `postgres:` or `postgresql:` TLS setting (`sslmode`) connects.
    public enum TLSMode: String, Sendable, CaseIterable {
        /// Plain TCP, never TLS.
        case disable
        /// TLS when the server offers it, plain TCP otherwise; the certificate is not verified.
        /// The default, as in libpq.
        case prefer
        /// TLS or no connection; the certificate is not verified.
        case require
        /// TLS or no connection, with the certificate verified against the system's roots (or
        /// the certificates of `sslrootcert`) and the host name.
        case verifyFull = "verify-full"
    }

    /// What a `postgres:` store URL describes: the server, the login, the database, the table
    /// and the options.
    ///
    ///     postgres://app:secret@db.internal/app                     table public.kv
    ///     postgresql://app@127.0.0.1:5433/app?table=sessions        table public.sessions
    ///     postgres://app@db.internal/app?schema=cache&table=pages   table cache.pages
    ///
    /// Options: `table` (default `kv`), `schema` (default `public`), `sslmode` (`disable`,
    /// `prefer`, `require` or `verify-full`; default `prefer`), `sslrootcert` (a PEM file of the
    /// certificate authorities that `verify-full` trusts instead of the system's), `create` (`true` or `false`:
    /// whether to create a missing table), `max-value-size` (bytes, default 64 MiB),
    /// `statement-timeout` (such as `5s`: the server cancels longer statements), `connect-timeout`
    /// (such as `10s`), `pool` (most connections, 1 to 1000, default 20). Without a password in
    /// the URL, the `PGPASSWORD` environment variable gives it. The user defaults to `postgres`,
    /// the port to 5432, the database to the user's name.
    public struct URLConfiguration: Sendable {
        /// The server's host name or address.
        public var host: String
        /// The server's port.
        public var port: Int
        /// The user to log in as.
        public var user: String
        /// The password, if any; never printed.
        public var password: String?
        /// The database.
        public var database: String
        /// The table's schema.
        public var schema: String
        /// The table.
        public var table: String
        /// How the connections use TLS.
        public var tlsMode: TLSMode
        /// A PEM file of the certificate authorities that ``TLSMode/verifyFull`` trusts, instead
        /// of the system's roots; `nil` for the system's.
        public var trustedCertificatesFile: String?
        /// The store's options.
        public var options: Options
        /// The server's `statement_timeout` for the store's connections, if set.
        public var statementTimeout: Duration?
        /// How long connecting may take.
        public var connectTimeout: Duration
        /// The most connections of the pool.
        public var maximumConnections: Int

        /// Reads a `postgres:` or `postgresql:` URL.
        ///
        /// - Parameters:
        ///   - url: The URL, such as `postgres://app@db.internal/app?table=sessions`.
        ///   - environment: Where `PGPASSWORD` is looked up when the URL has no password.
        ///     Defaults to none.
        /// - Throws: `StoreError.Code.invalidArgument` for another scheme, a missing host, a
        ///   path that is not one database name, or an unknown option or bad value.
        public init(_ url: StoreURL, environment: [String: String] = [:]) throws(StoreError) {
            guard url.scheme == "postgres" || url.scheme == "postgresql" else {
                throw url.invalid("a PostgreSQL store needs a postgres: or postgresql: URL, not a \(url.scheme): one")
            }
            guard let host = url.host, !host.isEmpty else {
                throw url.invalid("a postgres URL needs a host: postgres://user@host[:port]/database")
            }
            let user = url.user.flatMap { $0.isEmpty ? nil : $0 } ?? "postgres"
            var database = url.path
            if database.hasPrefix("/") { database.removeFirst() }
            if database.isEmpty { database = user }
            if database.contains("/") {
                throw url.invalid("the path of a postgres URL is one database name, not '\(database)'")
            }
            var reader = url.optionReader
            let table = try reader.string("table") ?? "kv"
            let schema = try reader.string("schema") ?? "public"
            let tls = try reader.choice("sslmode", from: [
                "disable": TLSMode.disable, "prefer": .prefer, "require": .require, "verify-full": .verifyFull,
            ])
            let rootCertificates = try reader.string("sslrootcert")
            let creates = try reader.bool("create")
            let maximum = try reader.integer("max-value-size", in: 0...Options.byteaLimit)
            let statementTimeout = try reader.duration("statement-timeout")
            let connectTimeout = try reader.duration("connect-timeout")
            let pool = try reader.integer("pool", in: 1...1000)
            try reader.rejectUnknown()
            for (what, name) in [("table", table), ("schema", schema)] where !PostgresStatements.isValidName(name) {
                throw url.invalid("\(what) '\(name)' is not a valid name: use a letter or '_', then up to 54 letters, digits or '_'")
            }
            self.host = host
            self.port = url.port ?? 5432
            self.user = user
            self.password = url.password ?? environment["PGPASSWORD"]
            self.database = database
            self.schema = schema
            self.table = table
            self.tlsMode = tls ?? .prefer
            self.trustedCertificatesFile = rootCertificates.flatMap { $0.isEmpty ? nil : $0 }
            self.options = Options(maximumValueSize: maximum ?? (64 << 20), createsTable: creates ?? true)
            self.statementTimeout = statementTimeout
            self.connectTimeout = connectTimeout ?? .seconds(10)
            self.maximumConnections = pool ?? 20
        }

        /// Where the store is, for descriptions: `user@host:port/database`, without the password.
        public var location: String {
            let shownHost = host.contains(":") ? "[\(host)]" : host
            return "\(user)@\(shownHost):\(port)/\(database)"
        }

        /// The configuration of a client for this URL.
        public func clientConfiguration() -> PostgresClient.Configuration {
            var configuration = PostgresClient.Configuration(
                host: host, port: port, username: user, password: password, database: database, tls: clientTLS())
            configuration.options.connectTimeout = connectTimeout
            configuration.options.maximumConnections = maximumConnections
            // The pool's timers: every connection handed back starts a keep-alive timer, and one
            // above the minimum an idle timer too, each a task or two, cancelled when the
            // connection is handed out again, which for a call at a time is once per call. So
            // the first connections stay open without an idle timer, and there is no keep-alive:
            // a connection the server closed while idle is found closed when it is next handed
            // out, and the statement goes on another one (see PostgresStatement).
            configuration.options.minimumConnections = min(2, maximumConnections)
            configuration.options.keepAliveBehavior = nil
            configuration.options.additionalStartupParameters = startupParameters
            return configuration
        }

        /// The configuration of the single connection that checks the login and prepares the
        /// table before the pool runs.
        func connectionConfiguration() throws -> PostgresConnection.Configuration {
            let tls: PostgresConnection.Configuration.TLS
            switch tlsMode {
            case .disable: tls = .disable
            case .prefer: tls = .prefer(try NIOSSLContext(configuration: Self.unverified()))
            case .require: tls = .require(try NIOSSLContext(configuration: Self.unverified()))
            case .verifyFull: tls = .require(try NIOSSLContext(configuration: verified()))
            }
            var configuration = PostgresConnection.Configuration(
                host: host, port: port, username: user, password: password, database: database, tls: tls)
            configuration.options.connectTimeout = .nanoseconds(Int64(connectTimeout.components.seconds) * 1_000_000_000
                                                                + connectTimeout.components.attoseconds / 1_000_000_000)
            configuration.options.additionalStartupParameters = startupParameters
            return configuration
        }

        private func clientTLS() -> PostgresClient.Configuration.TLS {
            switch tlsMode {
            case .disable: return .disable
            case .prefer: return .prefer(Self.unverified())
            case .require: return .require(Self.unverified())
            case .verifyFull: return .require(verified())
            }
        }

        /// Full verification: the chain up to the system's roots or `sslrootcert`'s, and the
        /// host name.
        private func verified() -> TLSConfiguration {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .fullVerification
            if let trustedCertificatesFile { configuration.trustRoots = .file(trustedCertificatesFile) }
            return configuration
        }

        private static func unverified() -> TLSConfiguration {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .none
            return configuration
        }

        private var startupParameters: [(String, String)] {
            guard let statementTimeout else { return [] }
            let (seconds, attoseconds) = statementTimeout.components
            return [("statement_timeout", String(max(1, seconds * 1000 + attoseconds / 1_000_000_000_000_000)))]
        }
    }

    /// Opens the store a URL describes: checks the login and prepares the table over one
    /// connection of its own (so a wrong password, a missing database or a table of another
    /// shape fail here), then makes the pool that the store runs on, which
    /// `OpenedStore.run()` runs.
    ///
    /// - Throws: `StoreError` as ``init(client:table:schema:options:location:)`` does.
    public static func open(_ settings: URLConfiguration) async throws -> OpenedStore {
        let description = describe(settings.location, settings.schema, settings.table)
        let logger = Logger(label: "trove.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: try settings.connectionConfiguration(), id: 0, logger: logger)
        } catch {
            throw storeError(error, .open, nil, store: description)
        }
        let client = PostgresClient(configuration: settings.clientConfiguration())
        let store = try PostgresStore(unopened: client, table: settings.table, schema: settings.schema,
                                      options: settings.options, location: settings.location)
        do {
            try await store.prepareTable { query in try await connection.query(query, logger: logger).collect() }
        } catch {
            try? await connection.close()
            throw error
        }
        try? await connection.close()
        return OpenedStore(store, run: { await client.run() })
    }
}

extension StoreScheme {
    /// `postgres://user[:password]@host[:port]/database`: a ``PostgresStore``; options `table`,
    /// `schema`, `sslmode`, `sslrootcert`, `create`, `max-value-size`, `statement-timeout`, `connect-timeout`,
    /// `pool`. See ``PostgresStore/URLConfiguration``.
    public static var postgres: StoreScheme { postgresScheme(named: "postgres") }

    /// `postgresql://…`, the same as ``postgres``.
    public static var postgresql: StoreScheme { postgresScheme(named: "postgresql") }

    private static func postgresScheme(named name: String) -> StoreScheme {
        StoreScheme(
            name: name,
            usage: "\(name)://user[:password]@host[:port]/database",
            summary: "one table of a PostgreSQL database",
            options: [.init("table"), .init("schema"), .init("sslmode", "disable|prefer|require|verify-full"),
                      .init("sslrootcert", "<file>"), .init("create", "true|false"), .init("max-value-size", "<bytes>"),
                      .init("statement-timeout", "<duration>"), .init("connect-timeout", "<duration>"),
                      .init("pool", "1-1000")]
        ) { url, context in
            try await PostgresStore.open(PostgresStore.URLConfiguration(url, environment: context.environment))
        }
    }
}

extension StoreOpener {
    /// Adds the `postgres:` and `postgresql:` schemes.
    public func addingPostgres() -> StoreOpener {
        adding(.postgres).adding(.postgresql)
    }
}
