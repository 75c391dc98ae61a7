import Foundation
import Synchronization
import Testing
import Trove

/// Parsing of store URLs, their options, the `file:`, `memory:` and `null:` schemes, and
/// composing openers.
@Suite("Store URLs")
struct StoreURLTests {
    /// What a valid URL parses into.
    struct Parsed: Sendable, CustomTestStringConvertible {
        var url: String
        var scheme: String
        var host: String?
        var port: Int? = nil
        var user: String? = nil
        var password: String? = nil
        var path: String
        var items: [StoreURL.QueryItem] = []

        var testDescription: String { url }
    }

    static let valid: [Parsed] = [
        Parsed(url: "file:///var/data", scheme: "file", host: "", path: "/var/data"),
        Parsed(url: "file://localhost/var/data", scheme: "file", host: "localhost", path: "/var/data"),
        Parsed(url: "file:relative/data", scheme: "file", host: nil, path: "relative/data"),
        Parsed(url: "file:/var/data", scheme: "file", host: nil, path: "/var/data"),
        Parsed(url: "FILE:///var/data", scheme: "file", host: "", path: "/var/data"),
        Parsed(url: "file:///my%20data/%C3%A9t%C3%A9", scheme: "file", host: "", path: "/my data/été"),
        Parsed(url: "file:///a%2Fb", scheme: "file", host: "", path: "/a/b"),
        Parsed(url: "file:///a+b", scheme: "file", host: "", path: "/a+b"),
        Parsed(url: "memory:", scheme: "memory", host: nil, path: ""),
        Parsed(url: "memory://", scheme: "memory", host: "", path: ""),
        Parsed(url: "file:///data?durability=fsync", scheme: "file", host: "", path: "/data",
               items: [.init(name: "durability", value: "fsync")]),
        Parsed(url: "file:///data?a=1&&b=&c", scheme: "file", host: "", path: "/data",
               items: [.init(name: "a", value: "1"), .init(name: "b", value: ""), .init(name: "c", value: nil)]),
        Parsed(url: "file:///data?equation=x%3Dy%26z", scheme: "file", host: "", path: "/data",
               items: [.init(name: "equation", value: "x=y&z")]),
        Parsed(url: "redis://127.0.0.1:6379/0?prefix=app:", scheme: "redis", host: "127.0.0.1", port: 6379,
               path: "/0", items: [.init(name: "prefix", value: "app:")]),
        Parsed(url: "redis://alice:s%40cret@cache.local/2", scheme: "redis", host: "cache.local",
               user: "alice", password: "s@cret", path: "/2"),
        Parsed(url: "redis://[::1]:6380", scheme: "redis", host: "::1", port: 6380, path: ""),
        Parsed(url: "postgres://user@db.local/app?table=kv", scheme: "postgres", host: "db.local", user: "user",
               path: "/app", items: [.init(name: "table", value: "kv")]),
        Parsed(url: "s3://bucket/some/prefix?endpoint=http%3A%2F%2Flocalhost%3A8333", scheme: "s3", host: "bucket",
               path: "/some/prefix", items: [.init(name: "endpoint", value: "http://localhost:8333")]),
    ]

    @Test("valid URLs parse into their parts", arguments: valid)
    func parsesValidURL(_ expected: Parsed) throws {
        let url = try StoreURL(parsing: expected.url)
        #expect(url.scheme == expected.scheme)
        #expect(url.host == expected.host)
        #expect(url.hasAuthority == (expected.host != nil))
        #expect(url.port == expected.port)
        #expect(url.user == expected.user)
        #expect(url.password == expected.password)
        #expect(url.path == expected.path)
        #expect(url.queryItems == expected.items)
    }

    static let invalid: [String] = [
        "",
        "/var/data",
        "data",
        "./data",
        "1file:///data",
        "fi le:///data",
        ":///data",
        "file:///data#top",
        "file:///data%",
        "file:///data%2",
        "file:///data%zz",
        "file:///data%FF",
        "file:///data%00",
        "file:///da\nta",
        "file:///data?%0A=1",
        "file:///data?=1",
        "redis://host:99999",
        "redis://host:-1",
        "redis://host:http",
        "redis://[::1",
        "redis://[::1]x",
    ]

    @Test("malformed URLs are rejected as invalid arguments", arguments: invalid)
    func rejectsMalformedURL(_ string: String) {
        let error = #expect(throws: StoreError.self) { try StoreURL(parsing: string) }
        #expect(error?.code == .invalidArgument)
    }

    @Test("a path given where a URL belongs gets a file: hint")
    func hintsAtFileScheme() {
        let error = #expect(throws: StoreError.self) { try StoreURL(parsing: "/var/data") }
        #expect(error?.message.contains("file:///var/data") == true)
    }

    @Test("a password never shows in the description or in errors")
    func redactsPassword() throws {
        let url = try StoreURL(parsing: "redis://alice:hunter2@cache.local/0")
        #expect(url.password == "hunter2")
        #expect(url.description == "redis://alice:***@cache.local/0")
        #expect(!url.invalid("test").description.contains("hunter2"))

        let error = #expect(throws: StoreError.self) { try StoreURL(parsing: "redis://alice:hunter2@cache.local:99999/0") }
        #expect(error?.message.contains("hunter2") == false)
        #expect(error?.message.contains("alice:***@cache.local") == true)

        // A raw '#' in a password makes the URL invalid; the message still hides the password.
        let rawHash = #expect(throws: StoreError.self) { try StoreURL(parsing: "redis://alice:pa#ss@cache.local/0") }
        #expect(rawHash?.message.contains("pa#ss") == false)
        #expect(rawHash?.message.contains("alice:***@cache.local/0") == true)
    }

    // MARK: Options

    @Test("typed options are read and the rest rejected by name")
    func readsTypedOptions() throws {
        let url = try StoreURL(parsing: "x:?mode=fast&flag&enabled=No&count=12&timeout=1m30s&name=a%20b")
        var options = url.optionReader
        #expect(try options.choice("mode", from: ["fast": 1, "slow": 2]) == 1)
        #expect(try options.bool("flag") == true)
        #expect(try options.bool("enabled") == false)
        #expect(try options.integer("count", in: 1...100) == 12)
        #expect(try options.duration("timeout") == .seconds(90))
        #expect(try options.string("name") == "a b")
        #expect(try options.string("absent") == nil)
        #expect(options.knownOptions == ["mode", "flag", "enabled", "count", "timeout", "name", "absent"])
        try options.rejectUnknown()
    }

    /// A URL and one option read that must fail, naming `option`.
    struct BadOption: Sendable, CustomTestStringConvertible {
        var url: String
        var option: String
        var read: @Sendable (inout StoreURL.OptionReader) throws -> Void
        var testDescription: String { url }
    }

    static let badOptions: [BadOption] = [
        BadOption(url: "x:?mode=medium", option: "mode") { _ = try $0.choice("mode", from: ["fast": 1, "slow": 2]) },
        BadOption(url: "x:?on=maybe", option: "on") { _ = try $0.bool("on") },
        BadOption(url: "x:?count=0", option: "count") { _ = try $0.integer("count", in: 1...100) },
        BadOption(url: "x:?count=ten", option: "count") { _ = try $0.integer("count", in: 1...100) },
        BadOption(url: "x:?wait=5x", option: "wait") { _ = try $0.duration("wait") },
        BadOption(url: "x:?name", option: "name") { _ = try $0.string("name") },
        BadOption(url: "x:?a=1&a=2", option: "a") { _ = try $0.string("a") },
        BadOption(url: "x:?known=1&unknwn=2", option: "unknwn") {
            _ = try $0.string("known")
            try $0.rejectUnknown()
        },
    ]

    @Test("a bad or unknown option is an invalid argument naming the option and the URL", arguments: badOptions)
    func rejectsBadOption(_ bad: BadOption) throws {
        var options = try StoreURL(parsing: bad.url).optionReader
        let error = #expect(throws: StoreError.self) { try bad.read(&options) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("'\(bad.option)'") == true)
        #expect(error?.message.contains(bad.url) == true)
    }

    // MARK: Durations

    static let durations: [(String, Duration)] = [
        ("500ms", .milliseconds(500)), ("30s", .seconds(30)), ("5m", .seconds(300)), ("2h", .seconds(7200)),
        ("1d", .seconds(86_400)), ("1h30m", .seconds(5400)), ("0s", .zero), ("1s250ms", .milliseconds(1250)),
    ]

    @Test("durations parse", arguments: durations)
    func parsesDuration(_ text: String, _ expected: Duration) throws {
        #expect(try Duration(parsing: text) == expected)
    }

    @Test("malformed durations are rejected",
          arguments: ["", "5", "s", "5x", "-5s", "1.5s", " 5s", "5 s", "5S", "5sec", "99999999999999999999d", "200000000000d"])
    func rejectsDuration(_ text: String) {
        let error = #expect(throws: StoreError.self) { try Duration(parsing: text) }
        #expect(error?.code == .invalidArgument)
    }

    // MARK: file:

    /// A made-up working directory: these tests resolve paths without touching the disk.
    static let workingDirectory = URL(fileURLWithPath: "/srv/app", isDirectory: true)

    static let fileURLs: [(String, String, Bool, Bool)] = [
        // URL, root, fsync, createsRoot
        ("file:///var/data", "/var/data", false, true),
        ("file://localhost/var/data", "/var/data", false, true),
        ("file:/var/data/", "/var/data", false, true),
        ("file:///var/data?durability=fsync", "/var/data", true, true),
        ("file:///var/data?durability=buffered&create=false", "/var/data", false, false),
        ("file:///var/my%20data", "/var/my data", false, true),
        ("file:data/cache", "/srv/app/data/cache", false, true),
        ("file:./data", "/srv/app/data", false, true),
        ("file:../data?create=true", "/srv/data", false, true),
    ]

    @Test("file: URLs give the root and configuration", arguments: fileURLs)
    func readsFileURL(_ string: String, _ root: String, _ fsync: Bool, _ createsRoot: Bool) throws {
        let settings = try FileSystemStore.URLConfiguration(try StoreURL(parsing: string),
                                                            currentDirectory: Self.workingDirectory)
        #expect(settings.root.path == root)
        #expect(settings.configuration.durability.syncsToDisk == fsync)
        #expect(settings.configuration.createsRoot == createsRoot)
    }

    static let badFileURLs: [(String, String)] = [
        // URL, a word the message must hold
        ("file:", "path"),
        ("file://", "path"),
        ("file://data/cache", "host"),
        ("file://alice@/var/data", "user"),
        ("file://:8080/var/data", "port"),
        ("file:///var/data?durability=fsnc", "'durability'"),
        ("file:///var/data?durabilty=fsync", "'durabilty'"),
        ("file:///var/data?durability=fsync&durability=buffered", "'durability'"),
        ("file:///var/data?create=maybe", "'create'"),
        ("memory:///var/data", "file"),
    ]

    @Test("bad file: URLs are invalid arguments naming the problem and the URL", arguments: badFileURLs)
    func rejectsFileURL(_ string: String, _ word: String) throws {
        let url = try StoreURL(parsing: string)
        let error = #expect(throws: StoreError.self) {
            try FileSystemStore.URLConfiguration(url, currentDirectory: Self.workingDirectory)
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains(word) == true)
        #expect(error?.message.contains(string) == true)
    }

    // MARK: Openers

    static let context = StoreOpeningContext(currentDirectory: workingDirectory)

    @Test("memory: opens a fresh, working memory store each time")
    func opensMemoryStore() async throws {
        let first = try await StoreOpener.standard.open("memory:", in: Self.context)
        #expect(first.store is MemoryStore)
        try await first.store.set(Data("one".utf8), for: "k")
        #expect(try await first.store["k"] == Data("one".utf8))
        let second = try await StoreOpener.standard.open("memory:", in: Self.context)
        #expect(try await second.store["k"] == nil)
    }

    @Test("null: opens a null store")
    func opensNullStore() async throws {
        let opened = try await StoreOpener.standard.open("NULL:", in: Self.context)
        #expect(opened.store is NullStore)
    }

    @Test("memory: and null: take no path, host or option", arguments: ["memory:cache", "memory://host", "memory:?size=1", "null:x"])
    func rejectsBareSchemeExtras(_ string: String) async throws {
        let error = await #expect(throws: StoreError.self) {
            _ = try await StoreOpener.standard.open(string, in: Self.context)
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains(string) == true)
    }

    @Test("an unknown scheme is named, with the known ones")
    func rejectsUnknownScheme() async throws {
        let error = await #expect(throws: StoreError.self) {
            _ = try await StoreOpener.standard.open("redis://127.0.0.1:6379/0", in: Self.context)
        }
        #expect(error?.code == .invalidArgument)
        let message = error?.message ?? ""
        #expect(message.contains("'redis:'"))
        #expect(message.contains("file:") && message.contains("memory:") && message.contains("null:"))
        #expect(throws: StoreError.self) { try StoreOpener.standard.parse("redis://127.0.0.1") }
        #expect(try StoreOpener.standard.parse("memory:").scheme == "memory")
    }

    @Test("a caller adds a scheme to its own opener, and nowhere else")
    func addsScheme() async throws {
        let shared = MemoryStore(name: "shared")
        let custom = StoreScheme(name: "Test", usage: "test:", summary: "the shared test store") { url, _ in
            try url.optionReader.rejectUnknown()
            return OpenedStore(shared)
        }
        let opener = StoreOpener.standard.adding(custom)
        #expect(opener.schemes.map(\.name) == ["file", "memory", "null", "test"])
        let opened = try await opener.open("TEST:", in: Self.context)
        #expect(opened.store.description == "memory shared")
        #expect(StoreOpener.standard.scheme(named: "test") == nil)

        let replaced = opener.adding(StoreScheme(name: "memory", usage: "memory:", summary: "shared") { _, _ in
            OpenedStore(shared)
        })
        #expect(replaced.schemes.count == 4)
        #expect(try await replaced.open("memory:", in: Self.context).store.description == "memory shared")
    }

    /// Records the lifecycle events of a test scheme.
    final class Events: Sendable {
        private let list = Mutex<[String]>([])
        func record(_ event: String) { list.withLock { $0.append(event) } }
        var all: [String] { list.withLock { $0 } }
    }

    struct BackgroundFailure: Error {}

    /// A scheme whose store has background work that runs until cancelled (or fails at once).
    static func lifecycleScheme(_ events: Events, failing: Bool = false) -> StoreScheme {
        StoreScheme(name: "life", usage: "life:", summary: "records its lifecycle") { _, _ in
            OpenedStore(
                MemoryStore(),
                run: {
                    if failing { throw BackgroundFailure() }
                    // Ends when the task is cancelled: an AsyncStream that never yields.
                    let (stream, continuation) = AsyncStream<Void>.makeStream()
                    for await _ in stream {}
                    continuation.finish()
                    events.record("run ended")
                },
                shutdown: { events.record("shutdown") })
        }
    }

    @Test("withStore runs the background work beside the body, then stops it and shuts down")
    func scopesStore() async throws {
        let events = Events()
        let opener = StoreOpener.standard.adding(Self.lifecycleScheme(events))
        let value = try await opener.withStore("life:", in: Self.context) { store in
            try await store.set(Data("v".utf8), for: "k")
            events.record("body")
            return try await store["k"]
        }
        #expect(value == Data("v".utf8))
        #expect(events.all == ["body", "run ended", "shutdown"])
    }

    struct BodyFailure: Error {}

    @Test("withStore shuts down when the body throws, and rethrows the body's error")
    func scopesStoreOnError() async throws {
        let events = Events()
        let opener = StoreOpener.standard.adding(Self.lifecycleScheme(events))
        await #expect(throws: BodyFailure.self) {
            try await opener.withStore("life:", in: Self.context) { _ in throw BodyFailure() }
        }
        #expect(events.all == ["run ended", "shutdown"])
    }

    @Test("withStore reports a failure of the background work")
    func reportsBackgroundFailure() async throws {
        let events = Events()
        let opener = StoreOpener.standard.adding(Self.lifecycleScheme(events, failing: true))
        await #expect(throws: BackgroundFailure.self) {
            try await opener.withStore("life:", in: Self.context) { _ in events.record("body") }
        }
        #expect(events.all == ["body", "shutdown"])
    }
}
