public import Foundation

extension FileSystemStore {
    /// What a `file:` store URL describes: the root directory and the store's configuration.
    ///
    ///     file:///var/data                    root /var/data
    ///     file://localhost/var/data           the same
    ///     file:data/cache                     root data/cache under the current directory
    ///     file:///var/my%20data               root "/var/my data"
    ///     file:///var/data?durability=fsync   every write fsyncs the file and its directory
    ///
    /// Options:
    /// - `durability`: `buffered` or `fsync`; see ``FileSystemStore/Durability``. Defaults to
    ///   `buffered`.
    /// - `create`: `true` or `false`: whether to create the root directory if it is missing.
    ///   Defaults to `true`.
    public struct URLConfiguration: Sendable {
        /// The root directory, absolute, with `.` and `..` segments resolved.
        public var root: URL
        /// The store's configuration, from the URL's options.
        public var configuration: FileSystemStore.Configuration

        /// Reads a `file:` URL.
        ///
        /// - Parameters:
        ///   - url: A URL of scheme `file`.
        ///   - currentDirectory: The directory a relative path (`file:data`) starts from.
        /// - Throws: ``StoreError/Code/invalidArgument`` when the URL is not a `file:` URL, has
        ///   no path, names a host other than `localhost`, a user, a password or a port, or has
        ///   an unknown option or a bad value.
        public init(_ url: StoreURL, currentDirectory: URL) throws(StoreError) {
            guard url.scheme == "file" else {
                throw url.invalid("a file store needs a file: URL, not a \(url.scheme): one")
            }
            if let host = url.host, !host.isEmpty, host.lowercased() != "localhost" {
                throw url.invalid("a file URL takes no host ('\(host)'); write file:///\(host)\(url.path) "
                                  + "for an absolute path or file:\(host)\(url.path) for a relative one")
            }
            if url.user != nil || url.password != nil || url.port != nil {
                throw url.invalid("a file URL takes no user, password or port")
            }
            guard !url.path.isEmpty else {
                throw url.invalid("a file URL needs a path: file:///absolute/path or file:relative/path")
            }
            let root = url.path.hasPrefix("/")
                ? URL(fileURLWithPath: url.path, isDirectory: true)
                : currentDirectory.appendingPathComponent(url.path, isDirectory: true)
            var options = url.optionReader
            let durability = try options.choice(
                "durability", from: ["buffered": FileSystemStore.Durability.buffered, "fsync": .fsync])
            let createsRoot = try options.bool("create")
            try options.rejectUnknown()
            self.root = root.standardizedFileURL
            self.configuration = FileSystemStore.Configuration(
                durability: durability ?? .buffered, createsRoot: createsRoot ?? true)
        }
    }
}

extension StoreScheme {
    /// `file:///absolute/path` or `file:relative/path`: a ``FileSystemStore``; options
    /// `durability=buffered|fsync`, `create=true|false`. See
    /// ``FileSystemStore/URLConfiguration``.
    public static var file: StoreScheme {
        StoreScheme(
            name: "file",
            usage: "file:///absolute/path or file:relative/path",
            summary: "one file per key",
            options: [.init("durability", "buffered|fsync"), .init("create", "true|false")]
        ) { url, context in
            let settings = try FileSystemStore.URLConfiguration(url, currentDirectory: context.currentDirectory)
            let store = try FileSystemStore(root: settings.root, configuration: settings.configuration, clock: context.clock)
            return OpenedStore(store)
        }
    }
}
