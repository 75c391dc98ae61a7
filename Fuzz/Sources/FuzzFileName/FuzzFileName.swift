// Fuzzes the file store's names for keys (FileNameCodec, EntryLocation): against a model of the
// documented encoding; round trip; one-to-one (different segments, different names; a name
// decodes only if it is the one its segment encodes to); every name at most 255 bytes, never
// starting with `.`, a file name never ending in `.d`, a directory name always.
//
// Input: one or two strings separated by a 0xFF byte (invalid UTF-8 repaired), each used as a
// key segment, a key, and a name found on disk.
import FuzzSupport
@testable import Trove

let limit = 255
let marker = Array("%#".utf8)

/// The documented encoding: `%` as `%25`, a leading `.` and the `.` of a trailing `.d` as `%2E`.
func modelEncoding(_ segment: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    for (index, byte) in segment.enumerated() {
        let isLeadingDot = index == 0 && byte == 0x2E
        let isDotOfTrailingD = index == segment.count - 2 && byte == 0x2E && segment[segment.count - 1] == UInt8(ascii: "d")
        if byte == UInt8(ascii: "%") || isLeadingDot || isDotOfTrailingD {
            out += Array("%".utf8) + Array(hex([byte]).uppercased().utf8)
        } else {
            out.append(byte)
        }
    }
    return out
}

/// Checks the name of `segment` with `suffix` ("" for a file, ".d" for a directory).
func checkName(_ name: FileNameCodec.Name, segment: String, suffix: String) {
    let bytes = Array(name.name.utf8), segmentBytes = Array(segment.utf8)
    let encoded = modelEncoding(segmentBytes)
    let suffixBytes = Array(suffix.utf8)
    require(bytes.count <= limit, "a name of \(bytes.count) bytes for \(hex(segmentBytes))")
    require(bytes.first != 0x2E, "a name starting with '.' for \(hex(segmentBytes))")
    require(!bytes.contains(0x2F) && !bytes.contains(0), "a name with '/' or NUL for \(hex(segmentBytes))")
    require(bytes.count >= suffixBytes.count && Array(bytes.suffix(suffixBytes.count)) == suffixBytes, "suffix")
    let stem = Array(bytes.dropLast(suffixBytes.count))
    require(!(stem.count >= 2 && stem.suffix(2).elementsEqual(".d".utf8)), "a stem ending in '.d' for \(hex(segmentBytes))")
    if encoded.count + suffixBytes.count <= limit {
        require(!name.isShortened && stem == encoded, "\(hex(segmentBytes)) encoded as \(hex(stem)), not \(hex(encoded))")
    } else {
        // Shortened: a head of the encoding, the marker, 40 digits of the segment's SHA-256.
        require(name.isShortened, "a long name not shortened for \(hex(segmentBytes))")
        let digest = Array(SHA256.hexDigest(segmentBytes).prefix(40).utf8)
        require(stem.count >= 42 && Array(stem.suffix(42)) == marker + digest, "shortened name's tail for \(hex(segmentBytes))")
        let head = Array(stem.dropLast(42))
        require(head.count <= limit - suffixBytes.count - 42 && encoded.starts(with: head), "the head is not a prefix of the encoding")
        require(head.count == encoded.count || encoded[head.count] & 0xC0 != 0x80, "the head cuts a character")
        if let percent = head.lastIndex(of: UInt8(ascii: "%")) { require(head.count - percent >= 3, "the head cuts an escape") }
    }
}

/// Checks the file and directory names of a valid one-segment key.
func checkSegment(_ segment: String) {
    let file = FileNameCodec.fileName(for: segment), directory = FileNameCodec.directoryName(for: segment)
    checkName(file, segment: segment, suffix: "")
    checkName(directory, segment: segment, suffix: ".d")
    require(FileNameCodec.decodeFileName(file.name) == (file.isShortened ? .shortened : .segment(segment)), "file name round trip")
    require(FileNameCodec.decodeDirectoryName(directory.name) == (directory.isShortened ? .shortened : .segment(segment)),
            "directory name round trip")
    require(FileNameCodec.decodeFileName(directory.name) == .foreign, "a directory name decodes as a file name")
    if case .segment(let decoded) = FileNameCodec.decodeFileName(file.name) {
        require(Array(decoded.utf8) == Array(segment.utf8), "round trip changed the bytes")
    }
}

/// Checks what a name found on disk decodes to: only the name its segment encodes to decodes.
func checkFoundName(_ name: String) {
    let bytes = Array(name.utf8)
    guard !bytes.isEmpty, bytes.count <= limit, !bytes.contains(0x2F), !bytes.contains(0) else { return }
    if case .segment(let segment) = FileNameCodec.decodeFileName(name) {
        require((try? StoreKey(validating: segment)) != nil && !segment.contains("/"), "\(hex(bytes)) decodes to an invalid segment")
        require(Array(FileNameCodec.fileName(for: segment).name.utf8) == bytes, "file name \(hex(bytes)) is not its segment's name")
    }
    if case .segment(let segment) = FileNameCodec.decodeDirectoryName(name) {
        require((try? StoreKey(validating: segment)) != nil && !segment.contains("/"), "\(hex(bytes)) decodes to an invalid segment")
        require(Array(FileNameCodec.directoryName(for: segment).name.utf8) == bytes, "directory name \(hex(bytes)) is not its segment's name")
    }
    if Array(name.utf8).firstRange(of: marker) == nil, FileNameCodec.decodeFileName(name) == .shortened {
        require(false, "\(hex(bytes)) has no marker but decodes as shortened")
    }
}

/// The path of a key, built segment by segment.
func expectedPath(_ key: StoreKey) -> String {
    let segments = key.segments
    let directories = segments.dropLast().map { FileNameCodec.directoryName(for: $0).name }
    return (directories + [FileNameCodec.fileName(for: segments[segments.count - 1]).name]).joined(separator: "/")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let texts = parts(bytes(start, count), limit: 2).map(string)
    var keys: [StoreKey] = []
    for text in texts {
        checkFoundName(text)
        guard let key = try? StoreKey(validating: text) else { continue }
        keys.append(key)
        if key.segments.count == 1 { checkSegment(text) }
        let location = EntryLocation(key)
        require(location.relativePath == expectedPath(key), "fast and slow paths differ for \(hex(text.utf8))")
        require(location.directoryPath == location.directories.map(\.name.name).joined(separator: "/"), "directoryPath")
        let components = Array(location.relativePath.utf8).split(separator: 0x2F, omittingEmptySubsequences: false)
        require(components.count == key.segments.count, "the path has \(components.count) components for \(key.segments.count) segments")
        for component in components {
            require(!component.isEmpty && component.count <= limit, "a path component of \(component.count) bytes")
        }
    }
    if keys.count == 2 {
        let (a, b) = (keys[0], keys[1])
        let differ = Array(a.rawValue.utf8) != Array(b.rawValue.utf8)
        require(!differ || EntryLocation(a).relativePath != EntryLocation(b).relativePath,
                "two keys share a path: \(hex(a.rawValue.utf8)) and \(hex(b.rawValue.utf8))")
        if a.segments.count == 1, b.segments.count == 1 {
            let names = [FileNameCodec.fileName(for: a.rawValue).name, FileNameCodec.directoryName(for: a.rawValue).name]
            let others = [FileNameCodec.fileName(for: b.rawValue).name, FileNameCodec.directoryName(for: b.rawValue).name]
            require(Array(names[0].utf8) != Array(others[1].utf8), "a file name equals a directory name")
            if differ {
                require(Array(names[0].utf8) != Array(others[0].utf8) && Array(names[1].utf8) != Array(others[1].utf8),
                        "two segments share a name: \(hex(a.rawValue.utf8)) and \(hex(b.rawValue.utf8))")
            }
        }
    }
    return 0
}
