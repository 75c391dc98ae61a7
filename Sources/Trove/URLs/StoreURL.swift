/// A store URL, parsed: which backend to use (the scheme), where its data is, and its options.
///
/// The syntax is the generic one of RFC 3986,
/// `scheme:[//[user[:password]@]host[:port]]path[?name=value&…]`, so that every backend reads
/// its URLs the same way:
///
///     file:///var/data?durability=fsync      scheme file, empty host, path /var/data
///     file:relative/data                     scheme file, no host, path relative/data
///     memory:                                scheme memory, empty path
///     redis://127.0.0.1:6379/0?prefix=app:   scheme redis, host 127.0.0.1, port 6379, path /0
///
/// Parsing checks the syntax only; what a path, a host or an option means is up to the
/// scheme's ``StoreScheme`` handler, which reads the options with ``optionReader``.
///
/// The user, password, host, path, option names and option values are percent-decoded
/// (`%20` is a space); `+` is kept as `+`. A URL with a fragment (`#…`) is rejected, as is one
/// holding a control character, raw or percent-encoded.
///
/// A password never appears in ``description`` or in error messages: they show ``redacted``.
public struct StoreURL: Sendable, Hashable, CustomStringConvertible {
    /// The scheme, lowercased, such as `file` or `memory`.
    public let scheme: String
    /// The user name of the authority part, or `nil` if there is none.
    public let user: String?
    /// The password of the authority part, or `nil` if there is none. It is never printed.
    public let password: String?
    /// The host, without the brackets of an IPv6 address.
    ///
    /// `nil` when the URL has no authority part (`file:data`, `memory:`); an empty string when
    /// it has an empty one (`file:///data`).
    public let host: String?
    /// The port, or `nil` if the URL names none.
    public let port: Int?
    /// The path, percent-decoded: `/var/data` in `file:///var/data`, `data` in `file:data`.
    public let path: String
    /// The options of the query string, in the order they appear.
    public let queryItems: [QueryItem]
    /// The URL as it was given, with any password replaced by `***`: safe for messages and logs.
    public let redacted: String

    /// One `name=value` pair of a URL's query string, percent-decoded.
    public struct QueryItem: Sendable, Hashable {
        /// The option's name.
        public let name: String
        /// The option's value, or `nil` when the query holds the name alone (`?readonly`).
        public let value: String?

        /// Creates a query item.
        public init(name: String, value: String?) {
            self.name = name
            self.value = value
        }
    }

    /// Parses `string` as a store URL.
    ///
    ///     let url = try StoreURL(parsing: "file:///var/data?durability=fsync")
    ///     url.scheme   // "file"
    ///     url.path     // "/var/data"
    ///
    /// - Throws: ``StoreError`` with code ``StoreError/Code/invalidArgument`` naming the URL
    ///   and what is wrong with it: no scheme, a bad percent-escape, a port out of range, a
    ///   fragment, a control character.
    public init(parsing string: String) throws(StoreError) {
        self = try StoreURLParser(string).parse()
    }

    /// Creates a URL from its parts, already decoded.
    init(scheme: String, user: String?, password: String?, host: String?, port: Int?,
         path: String, queryItems: [QueryItem], redacted: String) {
        self.scheme = scheme
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.path = path
        self.queryItems = queryItems
        self.redacted = redacted
    }

    /// Whether the URL has an authority part (`//…` after the scheme).
    public var hasAuthority: Bool { host != nil }

    /// The URL with any password replaced by `***` (the same as ``redacted``).
    public var description: String { redacted }

    /// An error of code ``StoreError/Code/invalidArgument`` about this URL, for scheme
    /// handlers: `message` is followed by the URL, redacted.
    ///
    ///     throw url.invalid("a file URL takes no port")
    public func invalid(_ message: String) -> StoreError {
        StoreError(.invalidArgument, operation: .open, message: "\(message) (in store URL '\(redacted)')")
    }
}

/// The parsing of a ``StoreURL``, one part after the other.
struct StoreURLParser {
    private let string: String
    /// The string with its password replaced by `***`: what messages show.
    private let redacted: String

    init(_ string: String) {
        self.string = string
        self.redacted = Self.redact(string)
    }

    /// `part` of the URL in quotes for a message, or a note that it is not shown when the URL
    /// holds a password: in a URL whose password holds a raw '?' or '#', what the parser takes
    /// for a host, a port or an option may be part of that password.
    private func quoted(_ part: Substring) -> String {
        redacted == string ? "'\(part)'" : "(not shown: the URL holds a password)"
    }

    /// An error about the URL, naming it without its password or raw control characters.
    private func failure(_ message: String) -> StoreError {
        StoreError(.invalidArgument, operation: .open,
                   message: "\(message) (in store URL '\(StoreKey.escape(redacted))')")
    }

    func parse() throws(StoreError) -> StoreURL {
        if string.isEmpty {
            throw StoreError(.invalidArgument, operation: .open,
                             message: "a store URL must not be empty; use, for example, file:///var/data or memory:")
        }
        if string.unicodeScalars.contains(where: StoreKey.isControl) {
            throw failure("a store URL must not contain control characters")
        }
        let scheme = try parseScheme()
        // Delimiters are found by bytes, not by `Character`: a '#', '?', '/' or ':' followed by a
        // combining mark or a joiner is one `Character` with it, but a delimiter all the same.
        var rest = string[string.utf8.index(after: scheme.endIndex)...]
        if rest.utf8.contains(UInt8(ascii: "#")) {
            throw failure("a store URL takes no fragment (a part after '#'); write a '#' in a name or value as %23")
        }
        var query: Substring?
        if let mark = rest.utf8.firstIndex(of: UInt8(ascii: "?")) {
            query = rest[rest.utf8.index(after: mark)...]
            rest = rest[..<mark]
        }
        var user: String?, password: String?, host: String?, port: Int?
        if rest.utf8.starts(with: "//".utf8) {
            let afterSlashes = rest[rest.utf8.index(rest.startIndex, offsetBy: 2)...]
            let authorityEnd = afterSlashes.utf8.firstIndex(of: UInt8(ascii: "/")) ?? afterSlashes.endIndex
            let authority = afterSlashes[..<authorityEnd]
            rest = afterSlashes[authorityEnd...]
            (user, password, host, port) = try parseAuthority(authority)
        }
        let path = try decode(rest, part: "path")
        let items = try query.map { query throws(StoreError) in try parseQuery(query) } ?? []
        return StoreURL(scheme: scheme.lowercased(), user: user, password: password, host: host, port: port,
                        path: path, queryItems: items, redacted: redacted)
    }

    /// The scheme: a letter, then letters, digits, `+`, `-` or `.`, up to the first `:`.
    private func parseScheme() throws(StoreError) -> Substring {
        guard let colon = string.utf8.firstIndex(of: UInt8(ascii: ":")) else {
            throw failure("a store URL starts with a scheme such as file: or memory:" + pathHint())
        }
        let scheme = string[..<colon]
        let isScheme = scheme.unicodeScalars.first.map { $0.isASCII && $0.properties.isAlphabetic } == true
            && scheme.unicodeScalars.allSatisfy { scalar in
                scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "+-.".unicodeScalars.contains(scalar))
            }
        guard isScheme else {
            throw failure("'\(scheme)' is not a URL scheme (a letter, then letters, digits, '+', '-' or '.')" + pathHint())
        }
        return scheme
    }

    /// A hint for a string that looks like a file path rather than a URL; it quotes the string
    /// redacted, as every message does.
    private func pathHint() -> String {
        if string.hasPrefix("/") { return "; for a directory, write file://\(redacted)" }
        if string.hasPrefix(".") || string.hasPrefix("~") || !string.contains(":") {
            return "; for a directory, write file:\(redacted) (relative to the current directory) or file:///absolute/path"
        }
        return ""
    }

    /// `user:password@host:port`, each part optional.
    private func parseAuthority(_ authority: Substring) throws(StoreError)
        -> (user: String?, password: String?, host: String, port: Int?)
    {
        var hostAndPort = authority
        var user: String?, password: String?
        if let at = authority.utf8.lastIndex(of: UInt8(ascii: "@")) {
            let userInfo = authority[..<at]
            hostAndPort = authority[authority.utf8.index(after: at)...]
            if let colon = userInfo.utf8.firstIndex(of: UInt8(ascii: ":")) {
                user = try decode(userInfo[..<colon], part: "user")
                password = try decode(userInfo[userInfo.utf8.index(after: colon)...], part: "password")
            } else {
                user = try decode(userInfo, part: "user")
            }
        }
        var hostPart = hostAndPort
        var portPart: Substring?
        if hostAndPort.utf8.starts(with: "[".utf8) {
            guard let close = hostAndPort.utf8.firstIndex(of: UInt8(ascii: "]")) else {
                throw failure("the IPv6 address \(quoted(hostAndPort)) has no closing ']'")
            }
            hostPart = hostAndPort[hostAndPort.utf8.index(after: hostAndPort.startIndex)..<close]
            let afterClose = hostAndPort[hostAndPort.utf8.index(after: close)...]
            if afterClose.utf8.starts(with: ":".utf8) {
                portPart = afterClose[afterClose.utf8.index(after: afterClose.startIndex)...]
            } else if !afterClose.isEmpty {
                throw failure("unexpected \(quoted(afterClose)) after the IPv6 address")
            }
        } else if let colon = hostAndPort.utf8.lastIndex(of: UInt8(ascii: ":")) {
            hostPart = hostAndPort[..<colon]
            portPart = hostAndPort[hostAndPort.utf8.index(after: colon)...]
        }
        var port: Int?
        if let portPart, !portPart.isEmpty {
            guard portPart.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                  let number = Int(portPart), number <= 65_535
            else {
                // The text is not quoted: in a URL whose password holds a raw '?', '#' or '/',
                // what reads as the port is the head of that password.
                throw failure("the port (after the authority's last ':') is not a number from 0 to 65535; "
                              + "a '?', '#' or '/' in a password must be percent-encoded")
            }
            port = number
        }
        let host = try decode(hostPart, part: "host")
        return (user, password, host, port)
    }

    /// `name=value` pairs separated by `&`; empty pairs are skipped.
    private func parseQuery(_ query: Substring) throws(StoreError) -> [StoreURL.QueryItem] {
        var items: [StoreURL.QueryItem] = []
        for pair in query.parts(separatedBy: UInt8(ascii: "&"), omittingEmptyParts: true) {
            let name: String, value: String?
            if let equals = pair.utf8.firstIndex(of: UInt8(ascii: "=")) {
                name = try decode(pair[..<equals], part: "option name")
                value = try decode(pair[pair.utf8.index(after: equals)...], part: "option value")
            } else {
                name = try decode(pair, part: "option name")
                value = nil
            }
            if name.isEmpty {
                throw failure("an option has no name (\(quoted(pair)))")
            }
            items.append(StoreURL.QueryItem(name: name, value: value))
        }
        return items
    }

    /// `text` with every `%XX` escape replaced by its byte, checked to be UTF-8 without
    /// control characters.
    private func decode(_ text: Substring, part: String) throws(StoreError) -> String {
        guard text.utf8.contains(UInt8(ascii: "%")) else { return String(text) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(Self.hexValue), let low = iterator.next().flatMap(Self.hexValue) else {
                throw failure("the \(part) has a '%' not followed by two hexadecimal digits")
            }
            bytes.append(high << 4 | low)
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw failure("the \(part) is not valid UTF-8 once percent-decoded")
        }
        if decoded.unicodeScalars.contains(where: StoreKey.isControl) {
            throw failure("the \(part) holds a percent-encoded control character")
        }
        return decoded
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// `string` with the password of its authority part, if any, replaced by `***`.
    static func redact(_ string: String) -> String {
        guard let colon = string.utf8.firstIndex(of: UInt8(ascii: ":")) else { return string }
        let rest = string[string.utf8.index(after: colon)...]
        guard rest.utf8.starts(with: "//".utf8) else { return string }
        let authorityStart = rest.utf8.index(rest.startIndex, offsetBy: 2)
        // A password should be percent-encoded, but one holding a raw '?' or '#' must not show
        // either: the authority runs to the first '/', so those count as part of it here.
        let authorityEnd = rest[authorityStart...].utf8.firstIndex(of: UInt8(ascii: "/")) ?? rest.endIndex
        let authority = rest[authorityStart..<authorityEnd]
        guard let at = authority.utf8.lastIndex(of: UInt8(ascii: "@")),
              let passwordColon = authority[..<at].utf8.firstIndex(of: UInt8(ascii: ":"))
        else { return string }
        return String(string[..<string.utf8.index(after: passwordColon)]) + "***" + String(string[at...])
    }
}
