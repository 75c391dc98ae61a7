/// How to open the stores of one URL scheme: the scheme's name, a line of help, and a handler
/// that turns a parsed ``StoreURL`` into an open store.
///
/// Each backend offers its scheme as a static property, and a caller composes the schemes it
/// wants into a ``StoreOpener``; nothing is registered globally:
///
///     extension StoreScheme {
///         /// `redis://host:port/db?prefix=app:`
///         public static var redis: StoreScheme {
///             StoreScheme(name: "redis", usage: "redis://host[:port][/db]",
///                         summary: "a Redis server; options prefix=…, tls=true|false") { url, context in
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
    /// What the scheme opens and its options, in a short line for help texts.
    public let summary: String
    private let handler: @Sendable (StoreURL, StoreOpeningContext) async throws -> OpenedStore

    /// Creates a scheme.
    ///
    /// - Parameters:
    ///   - name: The scheme's name: a letter, then letters, digits, `+`, `-` or `.`. It is
    ///     lowercased, as URL schemes are case-insensitive.
    ///   - usage: The form of the scheme's URLs, such as `file:///absolute/path`.
    ///   - summary: What the scheme opens and its options, such as
    ///     `a directory store; options durability=buffered|fsync`.
    ///   - open: Opens the store a URL of this scheme describes. It is called only with URLs of
    ///     this scheme. It throws ``StoreError`` with code ``StoreError/Code/invalidArgument``
    ///     for a URL it cannot accept, and whatever opening the store throws.
    public init(
        name: String,
        usage: String,
        summary: String,
        open: @escaping @Sendable (StoreURL, StoreOpeningContext) async throws -> OpenedStore
    ) {
        self.name = name.lowercased()
        self.usage = usage
        self.summary = summary
        self.handler = open
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
