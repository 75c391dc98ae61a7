/// How key segments become file and directory names, and back. No I/O.
///
/// A key `a/b/c` is stored as the file `a.d/b.d/c` under the root: every segment but the last
/// names a directory with the suffix `.d`, and the last names the file holding the value. A key
/// can therefore be a value and a prefix at once: `a` is the file `a`, `a/b` lives in `a.d/`.
///
/// Encoding of a segment (reversible; the bytes are otherwise kept as they are):
/// - `%` becomes `%25`;
/// - a leading `.` becomes `%2E`, so no stored name starts with `.` (those are Trove's own
///   names, such as the `.trove` directory, or foreign files, which listing ignores);
/// - the `.` of a trailing `.d` becomes `%2E`, so a file name never ends in `.d`.
///
/// A name longer than the file system allows (255 bytes) is shortened to a readable head, the
/// marker `%#` (which encoding never produces) and 40 hexadecimal digits of the segment's
/// SHA-256. The original segment is kept beside it: inside the value file for a file, in a
/// `.trove-name` file for a directory; listing reads it back.
enum FileNameCodec {
    /// The suffix of directories that hold the keys under a segment.
    static let directorySuffix = ".d"
    /// Where a shortened name's digest starts.
    static let hashMarker = "%#"
    /// The longest file name the supported file systems accept, in bytes.
    static let nameLimit = 255
    /// Hexadecimal digits of SHA-256 kept in a shortened name.
    static let digestLength = 40
    /// The file inside a shortened directory that holds its original segment.
    static let directoryNameFile = ".trove-name"

    /// A name on disk for a segment.
    struct Name: Equatable {
        /// The file or directory name.
        var name: String
        /// Whether the name was shortened (its segment must be read from beside it).
        var isShortened: Bool
    }

    /// The file name of the value whose key ends in `segment`.
    static func fileName(for segment: some StringProtocol) -> Name {
        shorten(encode(segment), segment: segment, suffix: "")
    }

    /// The directory name holding the keys under `segment/`.
    static func directoryName(for segment: some StringProtocol) -> Name {
        shorten(encode(segment), segment: segment, suffix: directorySuffix)
    }

    /// What a name found on disk stands for.
    enum Decoded: Equatable {
        /// A segment, decoded.
        case segment(String)
        /// A shortened name: its segment must be read from beside it.
        case shortened
        /// Not one of ours (a foreign file, Trove's internal files, an undecodable name).
        case foreign
    }

    /// Whether a value file's name on disk is its segment as it is: no `%`, no leading `.`, not
    /// ending in `.d`, so that decoding would give back the same bytes.
    static func isPlainFileName(_ name: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let first = name.first, first != UInt8(ascii: ".") else { return false }
        if name.count >= 2, name[name.count - 1] == UInt8(ascii: "d"), name[name.count - 2] == UInt8(ascii: ".") { return false }
        return !name.contains(UInt8(ascii: "%"))
    }

    /// The segment that the bytes of a value file's name stand for, when they need no decoding
    /// (the common case), made without a validating pass when they are ASCII.
    static func plainSegment(_ name: UnsafeBufferPointer<UInt8>) -> String? {
        guard isPlainSegment(name) else { return nil }
        var isASCII = true
        for byte in name where byte >= 0x80 {
            isASCII = false
            break
        }
        return isASCII ? String(decoding: name, as: UTF8.self) : String(validating: name, as: UTF8.self)
    }

    /// Whether `bytes` are a valid segment as they stand: no `%`, no leading `.`, no trailing
    /// `.d`, no control character, at most a key's length (UTF-8 validity aside).
    private static func isPlainSegment(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let first = bytes.first, first != UInt8(ascii: "."), bytes.count <= StoreKey.maximumByteCount else { return false }
        if bytes.count >= 2, bytes[bytes.count - 1] == UInt8(ascii: "d"), bytes[bytes.count - 2] == UInt8(ascii: ".") { return false }
        var previous: UInt8 = 0
        for byte in bytes {
            // ASCII controls, DEL, `%`, `/`; and U+0080–U+009F, which UTF-8 writes as C2 80–C2 9F.
            if byte < 0x20 || byte == 0x7F || byte == UInt8(ascii: "%") || byte == UInt8(ascii: "/") { return false }
            if previous == 0xC2, byte >= 0x80, byte <= 0x9F { return false }
            previous = byte
        }
        return true
    }

    /// Decodes a value file's name.
    static func decodeFileName(_ name: String) -> Decoded {
        if name.utf8.count >= 2, name.utf8.last == UInt8(ascii: "d"),
           name.utf8.dropLast().last == UInt8(ascii: ".") {
            return .foreign
        }
        return decode(name)
    }

    /// Decodes a directory's name, or `.foreign` if it lacks the directory suffix.
    static func decodeDirectoryName(_ name: String) -> Decoded {
        guard name.hasSuffix(directorySuffix), name.utf8.count > directorySuffix.utf8.count else { return .foreign }
        return decode(String(name.utf8.dropLast(directorySuffix.utf8.count))!)
    }

    // MARK: - Encoding

    static func encode(_ segment: some StringProtocol) -> String {
        if !needsEscaping(segment.utf8) { return String(segment) }
        let bytes = Array(segment.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 4)
        for (index, byte) in bytes.enumerated() {
            let isLeadingDot = index == 0 && byte == UInt8(ascii: ".")
            let isDotOfTrailingD = byte == UInt8(ascii: ".") && index == bytes.count - 2
                && bytes[bytes.count - 1] == UInt8(ascii: "d")
            if byte == UInt8(ascii: "%") || isLeadingDot || isDotOfTrailingD {
                out.append(UInt8(ascii: "%"))
                out.append(hexDigit(byte >> 4))
                out.append(hexDigit(byte & 0x0F))
            } else {
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether any byte of `bytes` must be escaped (the common case is no).
    private static func needsEscaping(_ bytes: some Collection<UInt8>) -> Bool {
        if bytes.first == UInt8(ascii: ".") || bytes.contains(UInt8(ascii: "%")) { return true }
        return bytes.count >= 2 && bytes.dropFirst(bytes.count - 2).elementsEqual(".d".utf8)
    }

    private static func shorten(_ encoded: String, segment: some StringProtocol, suffix: String) -> Name {
        if encoded.utf8.count + suffix.utf8.count <= nameLimit {
            return Name(name: encoded + suffix, isShortened: false)
        }
        let digest = String(SHA256.hexDigest(segment.utf8).prefix(digestLength))
        let budget = nameLimit - suffix.utf8.count - hashMarker.utf8.count - digestLength
        let bytes = Array(encoded.utf8)
        var cut = min(budget, bytes.count)
        // Do not cut inside a %XX escape or inside a multi-byte UTF-8 character.
        while cut > 0 {
            if let start = bytes[..<cut].suffix(2).lastIndex(of: UInt8(ascii: "%")), cut - start < 3 { cut = start; continue }
            if cut < bytes.count, bytes[cut] & 0xC0 == 0x80 { cut -= 1; continue }
            break
        }
        let name = String(decoding: bytes[..<cut], as: UTF8.self) + hashMarker + digest + suffix
        return Name(name: name, isShortened: true)
    }

    // MARK: - Decoding

    private static func decode(_ name: String) -> Decoded {
        if let plain = plainSegment(name) { return .segment(plain) }
        let bytes = Array(name.utf8)
        guard let first = bytes.first, first != UInt8(ascii: ".") else { return .foreign }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%") {
                if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "#") { return .shortened }
                guard index + 2 < bytes.count, let high = hexValue(bytes[index + 1]),
                      let low = hexValue(bytes[index + 2]) else { return .foreign }
                out.append(high << 4 | low)
                index += 3
            } else {
                out.append(byte)
                index += 1
            }
        }
        guard let segment = String(validating: out, as: UTF8.self),
              StoreKey.violation(in: segment) == nil, !segment.contains("/") else { return .foreign }
        // Only names that encoding produces are ours: this keeps decoding one-to-one.
        guard encode(segment) == name else { return .foreign }
        return .segment(segment)
    }

    /// `name` itself when it needs no decoding and is a valid segment as it stands (the common
    /// case): no `%`, no leading `.`, no trailing `.d`, no control character, at most a key's length.
    private static func plainSegment(_ name: String) -> String? {
        let plain = name.utf8.withContiguousStorageIfAvailable(isPlainSegment)
        return plain == true ? name : nil
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "A") + value - 10
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
