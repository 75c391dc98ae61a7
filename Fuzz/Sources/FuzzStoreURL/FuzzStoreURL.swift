// Fuzzes StoreURL(parsing:): no crash; every part of a parsed URL is as documented (lowercase
// scheme, no control character, port in range); the URL written back with every part
// percent-encoded parses to the same parts; the password never shows in `description` or in an
// error message.
//
// Input: the URL string (invalid UTF-8 repaired).
import FuzzSupport
@testable import Trove

/// Bytes that stand for themselves in every part of a URL (RFC 3986's unreserved characters).
func isUnreserved(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
         UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
        return true
    default:
        return false
    }
}

/// `text` with every byte but the unreserved ones (and `/` where `keepsSlashes`) as `%XX`.
func encode(_ text: String, keepsSlashes: Bool = false) -> String {
    var out = ""
    for byte in text.utf8 {
        if isUnreserved(byte) || (keepsSlashes && byte == UInt8(ascii: "/")) {
            out.unicodeScalars.append(Unicode.Scalar(byte))
        } else {
            out += "%" + hex([byte]).uppercased()
        }
    }
    return out
}

/// The URL written back from its parts, each percent-encoded.
func reassembled(_ url: StoreURL) -> String {
    var text = url.scheme + ":"
    if let host = url.host {
        text += "//"
        if let user = url.user {
            text += encode(user)
            if let password = url.password { text += ":" + encode(password) }
            text += "@"
        }
        text += encode(host)
        if let port = url.port { text += ":\(port)" }
        text += encode(url.path, keepsSlashes: true)
    } else {
        // Without an authority a path must not start with "//"; an escaped first slash is a slash.
        var path = encode(url.path, keepsSlashes: true)
        if path.hasPrefix("/") { path = "%2F" + path.dropFirst() }
        text += path
    }
    if !url.queryItems.isEmpty {
        text += "?" + url.queryItems.map { item in encode(item.name) + (item.value.map { "=" + encode($0) } ?? "") }
            .joined(separator: "&")
    }
    return text
}

/// Where the redaction of `text` hides a password, by the rule of `StoreURL.redacted`: in a URL
/// `scheme://authority…` whose authority runs to the first `/`, from after the first `:` of
/// the user information to its last `@`. Offsets in UTF-8 bytes.
func passwordRange(_ text: [UInt8]) -> Range<Int>? {
    guard let schemeColon = text.firstIndex(of: UInt8(ascii: ":")) else { return nil }
    let start = schemeColon + 1
    guard text.count >= start + 2, text[start] == UInt8(ascii: "/"), text[start + 1] == UInt8(ascii: "/") else { return nil }
    let authorityStart = start + 2
    let authorityEnd = text[authorityStart...].firstIndex(of: UInt8(ascii: "/")) ?? text.count
    guard let at = text[authorityStart..<authorityEnd].lastIndex(of: UInt8(ascii: "@")),
          let colon = text[authorityStart..<at].firstIndex(of: UInt8(ascii: ":")) else { return nil }
    return (colon + 1)..<at
}

/// Whether the UTF-8 bytes of `text` hold those of `part`.
func holds(_ text: String, _ part: some StringProtocol) -> Bool {
    Array(text.utf8).firstRange(of: Array(part.utf8)) != nil
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let text = string(bytes(start, count))
    let raw = Array(text.utf8)
    let hidden = passwordRange(raw)
    let expectedRedaction = hidden.map { Array(raw[..<$0.lowerBound]) + Array("***".utf8) + Array(raw[$0.upperBound...]) } ?? raw
    let redacted = StoreURLParser.redact(text)
    require(Array(redacted.utf8) == expectedRedaction, "redaction of \(hex(raw)) is \(hex(redacted.utf8))")

    let url: StoreURL
    do {
        url = try StoreURL(parsing: text)
    } catch {
        require(error.code == .invalidArgument, "failed with code \(error.code): \(hex(raw))")
        require(!hasControl(error.message), "the error message holds a raw control character: \(hex(error.message.utf8))")
        // A hidden password must not come back in the message, whole or in the pieces between
        // the delimiters that parsing cuts at. Only pieces that the message could not hold
        // otherwise are checked: with a non-ASCII character (the messages' own words are
        // ASCII) and found nowhere in what may be shown.
        if let hidden {
            // The URL is shown in quotes: a piece may end in the closing one.
            let shown = "'" + StoreKey.escape(redacted) + "')"
            let secret = string(Array(raw[hidden]))
            let pieces = [secret[...]] + secret.split(whereSeparator: { "?#&=:@[]/".contains($0) })
            for piece in pieces where piece.unicodeScalars.contains(where: { !$0.isASCII }) {
                guard !holds(redacted, piece), !holds(shown, piece) else { continue }
                require(!holds(error.message, piece),
                        "the error message shows (part of) the password: \(hex(raw)) -> \(hex(error.message.utf8))")
            }
        }
        return 0
    }
    // The parts, as documented; a URL with a fragment is refused.
    require(!raw.contains(UInt8(ascii: "#")), "a URL holding '#' was accepted: \(hex(raw))")
    require(url.description == redacted && url.redacted == redacted, "description is not the redacted URL")
    let scheme = Array(url.scheme.utf8)
    let isSchemeByte = { (byte: UInt8) in
        (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte) || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
    }
    require(!scheme.isEmpty && (0x61...0x7A).contains(scheme[0]) && scheme.allSatisfy(isSchemeByte), "scheme \(hex(scheme))")
    require(raw.count > scheme.count && raw[scheme.count] == UInt8(ascii: ":")
            && String(decoding: raw[..<scheme.count], as: UTF8.self).lowercased() == url.scheme, "scheme is not the URL's")
    let options: [String?] = url.queryItems.flatMap { item -> [String?] in [item.name, item.value] }
    for part in [url.user, url.password, url.host, url.path] + options {
        let text = part ?? ""
        require(!hasControl(text), "a part holds a control character: \(hex(text.utf8)) in \(hex(raw))")
    }
    require(url.port.map { (0...65_535).contains($0) } ?? true, "port \(url.port!)")
    require(url.queryItems.allSatisfy { !$0.name.isEmpty }, "an option without a name")
    require(url.hasAuthority == (url.host != nil), "hasAuthority")
    require(url.password == nil || url.user != nil, "a password without a user")
    // The password is hidden: redaction covers the whole password the parser found.
    if url.password != nil {
        require(hidden != nil, "a password that redaction does not hide: \(hex(raw))")
    }
    // Written back with every part percent-encoded, the URL parses to the same parts.
    let written = reassembled(url)
    do {
        let again = try StoreURL(parsing: written)
        require(again.scheme == url.scheme && again.user == url.user && again.password == url.password
                && again.host == url.host && again.port == url.port && again.path == url.path
                && again.queryItems == url.queryItems,
                "\(hex(raw)) written back as \(written) parses to other parts")
    } catch {
        require(false, "\(hex(raw)) written back as \(written) does not parse: \(error.message)")
    }
    return 0
}
