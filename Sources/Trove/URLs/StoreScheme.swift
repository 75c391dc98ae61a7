/// How to open the stores of one URL scheme: the scheme's name, a line of help, and a handler
/// that turns a parsed ``StoreURL`` into an open store.
///
/// Each backend offers its scheme as a static property, and a caller composes the schemes it
/// wants into a ``StoreOpener``; nothing is registered globally:
///
///     extension StoreScheme {
///         /// `redis://host:port/db?prefix=app:`
///         public static var redis: StoreScheme {
///             StoreScheme(name: "redis", usage: "redis://host[:port][/db]", summary: "a Redis server",
///                         options: [.init("prefix"), .init("tls", "true|false")]) { url, context in
///                 let store = try RedisStore(configuration: RedisStore.Configuration(url))
///                 return OpenedStore(store, run: { try await store.run() })
///             }
///         }
///     }
///
///     let opener = StoreOpener.standard.adding(.redis)
///
/// A handler reads the URL's options with ``StoreURL/optionReader`` and ends with
/// ``StoreURL/OptionReader/rejectUnknown()``, so a misspelt option is an error.
public struct StoreScheme: Sendable {
    /// The scheme's name, lowercased, without the colon: `file`, `memory`.
    public let name: String
    /// The form of the scheme's URLs, such as `file:///absolute/path or file:relative/path`.
    public let usage: String
    /// What the scheme opens, in a short line for help texts.
    public let summary: String
    /// The options its URLs take, in the order its handler reads them.
    public let options: [Option]
    private let handler: @Sendable (StoreURL, StoreOpeningContext) async throws -> OpenedStore

    /// Creates a scheme.
    ///
    /// - Parameters:
    ///   - name: The scheme's name: a letter, then letters, digits, `+`, `-` or `.`. It is
    ///     lowercased, as URL schemes are case-insensitive.
    ///   - usage: The form of the scheme's URLs, such as `file:///absolute/path`.
    ///   - summary: What the scheme opens, such as `one file per key`.
    ///   - options: The options its URLs take: every name the handler reads, so that help texts
    ///     list them all. Defaults to none.
    ///   - open: Opens the store a URL of this scheme describes. It is called only with URLs of
    ///     this scheme. It throws ``StoreError`` with code ``StoreError/Code/invalidArgument``
    ///     for a URL it cannot accept, and whatever opening the store throws.
    public init(
        name: String,
        usage: String,
        summary: String,
        options: [Option] = [],
        open: @escaping @Sendable (StoreURL, StoreOpeningContext) async throws -> OpenedStore
    ) {
        self.name = name.lowercased()
        self.usage = usage
        self.summary = summary
        self.options = options
        self.handler = open
    }

    /// One option of a scheme's URLs, for help texts.
    public struct Option: Sendable, Hashable {
        /// The option's name, as in `?name=value`.
        public let name: String
        /// The values it takes, such as `normal|full`, `true|false` or `<duration>`; `nil` for
        /// free text (a table name, a prefix).
        public let values: String?

        /// An option named `name` taking `values`.
        public init(_ name: String, _ values: String? = nil) {
            self.name = name
            self.values = values
        }

        /// `name=values`, or the name alone for free text.
        public var usage: String { values.map { "\(name)=\($0)" } ?? name }
    }

    /// The options in one line for help texts: `options: table, synchronous=normal|full`, or
    /// `no options`.
    public var optionsSummary: String {
        options.isEmpty ? "no options" : "options: " + options.map(\.usage).joined(separator: ", ")
    }

    /// Opens the store that `url` describes.
    ///
    /// - Throws: ``StoreError/Code/invalidArgument`` if `url` is not of this scheme or its
    ///   handler rejects it; whatever opening the store throws.
    public func open(_ url: StoreURL, in context: StoreOpeningContext) async throws -> OpenedStore {
        guard url.scheme == name else {
            throw url.invalid("the \(name): scheme cannot open a \(url.scheme): URL")
        }
        return try await handler(url, context)
    }
}
