/// Opens stores from URL strings, with the schemes it was given.
///
/// An opener is a plain value: a program composes the schemes it links, and there is no
/// global registry to mutate. ``standard`` knows the schemes of this module; backends in other
/// modules add theirs:
///
///     let opener = StoreOpener.standard.adding(myBackendScheme)   // a StoreScheme of another module
///     try await opener.withStore("file:///var/data?durability=fsync") { store in
///         try await store.set(Data("hi".utf8), for: "greeting")
///     }
///
/// Schemes of ``standard``:
/// - `file:///absolute/path` or `file:relative/path` (relative to
///   ``StoreOpeningContext/currentDirectory``): a ``FileSystemStore``. Options:
///   `durability=buffered|fsync` (default `buffered`), `create=true|false` (create the
///   directory if missing; default `true`).
/// - `memory:`: a new, empty ``MemoryStore``, gone when the process ends.
/// - `null:`: a ``NullStore``, which keeps nothing.
public struct StoreOpener: Sendable {
    /// The schemes this opener knows, in the order they were added.
    public private(set) var schemes: [StoreScheme]

    /// Creates an opener that knows `schemes`. Defaults to none.
    ///
    /// When two schemes have the same name, the later one wins.
    public init(schemes: [StoreScheme] = []) {
        self.schemes = []
        for scheme in schemes { self = adding(scheme) }
    }

    /// An opener for the schemes of this module: `file`, `memory` and `null`.
    public static var standard: StoreOpener {
        StoreOpener(schemes: [.file, .memory, .null])
    }

    /// This opener, knowing `scheme` too; a scheme of the same name is replaced.
    ///
    ///     let opener = StoreOpener.standard.adding(.redis)
    public func adding(_ scheme: StoreScheme) -> StoreOpener {
        var copy = self
        if let index = copy.schemes.firstIndex(where: { $0.name == scheme.name }) {
            copy.schemes[index] = scheme
        } else {
            copy.schemes.append(scheme)
        }
        return copy
    }

    /// The scheme named `name` (case-insensitive), or `nil` if this opener does not know it.
    public func scheme(named name: String) -> StoreScheme? {
        let lowercased = name.lowercased()
        return schemes.first { $0.name == lowercased }
    }

    /// Parses `url` without opening anything, and checks that this opener knows its scheme.
    ///
    /// - Throws: ``StoreError/Code/invalidArgument`` when `url` does not parse or names an
    ///   unknown scheme (the message lists the known ones).
    public func parse(_ url: String) throws(StoreError) -> StoreURL {
        let parsed = try StoreURL(parsing: url)
        _ = try handler(for: parsed)
        return parsed
    }

    /// Opens the store `url` describes.
    ///
    /// Call ``OpenedStore/shutdown()`` when done (and ``OpenedStore/run()`` meanwhile, if the
    /// store needs it), or use ``withStore(_:in:isolation:_:)``, which does both.
    ///
    /// - Parameters:
    ///   - url: A store URL, such as `file:///var/data?durability=fsync`.
    ///   - context: What relative paths start from, the environment and the clock. Defaults
    ///     to ``StoreOpeningContext/process``.
    /// - Throws: ``StoreError/Code/invalidArgument`` when `url` does not parse, names an
    ///   unknown scheme, or has an unknown option or a bad value; whatever opening the store
    ///   throws.
    public func open(_ url: String, in context: StoreOpeningContext = .process) async throws -> OpenedStore {
        try await open(try StoreURL(parsing: url), in: context)
    }

    /// Opens the store a parsed `url` describes, as the `String` overload does.
    public func open(_ url: StoreURL, in context: StoreOpeningContext = .process) async throws -> OpenedStore {
        try await handler(for: url).open(url, in: context)
    }

    /// Opens the store `url` describes, runs `body` with it, and shuts it down however `body`
    /// ends; background work the store needs runs meanwhile.
    ///
    ///     let count = try await StoreOpener.standard.withStore("file:data") { store in
    ///         try await store.count()
    ///     }
    ///
    /// - Returns: What `body` returns.
    /// - Throws: What opening the store (see ``open(_:in:)-(String,_)``) or `body` throws.
    public func withStore<Value>(
        _ url: String,
        in context: StoreOpeningContext = .process,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (any KeyValueStore) async throws -> Value
    ) async throws -> Value {
        let opened = try await open(url, in: context)
        return try await opened.withRunning(isolation: isolation, body)
    }

    private func handler(for url: StoreURL) throws(StoreError) -> StoreScheme {
        guard let scheme = scheme(named: url.scheme) else {
            let known = schemes.map { "\($0.name):" }.joined(separator: ", ")
            throw url.invalid("unknown scheme '\(url.scheme):'; known schemes are \(known.isEmpty ? "none" : known)")
        }
        return scheme
    }
}
