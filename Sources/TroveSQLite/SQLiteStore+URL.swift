public import Foundation
public import Trove

extension SQLiteStore {
    /// What an `sqlite:` store URL describes: the database file, the table and the options.
    ///
    ///     sqlite:///var/data/app.db                  table kv of /var/data/app.db
    ///     sqlite:app.db?table=sessions               table sessions of app.db in the current directory
    ///     sqlite:///var/data/app.db?synchronous=full every commit on disk before it returns
    ///     sqlite:///var/data/app.db?exclusive=true   held by this store alone while open
    ///     sqlite:///mnt/archive/app.db?mode=readonly read, list and count only; nothing created
    ///
    /// Options: `table` (default `kv`), `synchronous` (`normal` or `full`), `exclusive`
    /// (`true` or `false`), `busy-timeout` (such as `5s`), `readers` (1 to 64), `create`
    /// (`true` or `false`: whether to create a missing file), `mode` (`readwrite` or
    /// `readonly`: see ``SQLiteStore/AccessMode/readOnly``).
    public struct URLConfiguration: Sendable {
        /// The database file, absolute.
        public var path: URL
        /// The table.
        public var table: String
        /// The options.
        public var options: Options

        /// Reads an `sqlite:` URL.
        ///
        /// - Throws: `StoreError.Code.invalidArgument` for another scheme, a host other than
        ///   `localhost`, a missing path, or an unknown option or bad value.
        public init(_ url: StoreURL, currentDirectory: URL) throws(StoreError) {
            guard url.scheme == "sqlite" else {
                throw url.invalid("an SQLite store needs an sqlite: URL, not a \(url.scheme): one")
            }
            if let host = url.host, !host.isEmpty, host.lowercased() != "localhost" {
                throw url.invalid("an sqlite URL takes no host ('\(host)'); write sqlite:///\(host)\(url.path) "
                                  + "for an absolute path or sqlite:\(host)\(url.path) for a relative one")
            }
            if url.user != nil || url.password != nil || url.port != nil {
                throw url.invalid("an sqlite URL takes no user, password or port")
            }
            guard !url.path.isEmpty, !url.path.hasSuffix("/") else {
                throw url.invalid("an sqlite URL needs the path of a database file: sqlite:///absolute/file.db or sqlite:relative.db")
            }
            let path = url.path.hasPrefix("/")
                ? URL(fileURLWithPath: url.path)
                : currentDirectory.appendingPathComponent(url.path)
            var reader = url.optionReader
            let table = try reader.string("table") ?? "kv"
            let synchronization = try reader.choice(
                "synchronous", from: ["normal": Synchronization.normal, "full": .full])
            let exclusive = try reader.bool("exclusive")
            let timeout = try reader.duration("busy-timeout")
            let readers = try reader.integer("readers", in: 1...64)
            let creates = try reader.bool("create")
            let mode = try reader.choice("mode", from: ["readwrite": AccessMode.readWrite, "readonly": .readOnly])
            try reader.rejectUnknown()
            guard SQLiteStatements.isValidTableName(table) else {
                throw url.invalid("table '\(table)' is not a valid name: use a letter or '_', then up to 63 letters, digits or '_'")
            }
            self.path = path.standardizedFileURL
            self.table = table
            self.options = Options(
                synchronization: synchronization ?? .normal, isExclusive: exclusive ?? false,
                busyTimeout: timeout ?? .seconds(5), readerCount: readers ?? 2, createsFile: creates ?? true,
                accessMode: mode ?? .readWrite)
        }
    }
}

extension StoreScheme {
    /// `sqlite:///absolute/file.db` or `sqlite:relative.db`: an ``SQLiteStore``; options
    /// `table`, `synchronous=normal|full`, `exclusive=true|false`, `busy-timeout`, `readers`,
    /// `create=true|false`, `mode=readwrite|readonly`. See ``SQLiteStore/URLConfiguration``.
    public static var sqlite: StoreScheme {
        StoreScheme(
            name: "sqlite",
            usage: "sqlite:///absolute/file.db or sqlite:relative.db",
            summary: "one table of an SQLite database",
            options: [.init("table"), .init("synchronous", "normal|full"), .init("exclusive", "true|false"),
                      .init("busy-timeout", "<duration>"), .init("readers", "1-64"), .init("create", "true|false"),
                      .init("mode", "readwrite|readonly")]
        ) { url, context in
            let settings = try SQLiteStore.URLConfiguration(url, currentDirectory: context.currentDirectory)
            if settings.options.createsFile && settings.options.accessMode == .readWrite {
                try? FileManager.default.createDirectory(at: settings.path.deletingLastPathComponent(),
                                                         withIntermediateDirectories: true)
            }
            let store = try await SQLiteStore(path: settings.path, table: settings.table, options: settings.options,
                                        clock: context.clock)
            return OpenedStore(store)
        }
    }
}

extension StoreOpener {
    /// The standard schemes (`file:`, `memory:`, `null:`) and `sqlite:`.
    public static var withSQLite: StoreOpener { standard.adding(.sqlite) }
}
