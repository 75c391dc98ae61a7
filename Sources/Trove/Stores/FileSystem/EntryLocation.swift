/// Where a key's value lives under the root: its directories and its file name.
struct EntryLocation {
    let key: StoreKey
    /// The value file's name in the last directory.
    let file: FileNameCodec.Name
    /// The directories joined by `/`, or `""` for a key of one segment.
    let directoryPath: String
    /// The value file's path relative to the root.
    let relativePath: String

    init(_ key: StoreKey) {
        self.key = key
        let bytes = key.rawValue.utf8
        guard let lastSlash = bytes.lastIndex(of: UInt8(ascii: "/")) else {
            self.file = FileNameCodec.fileName(for: key.rawValue)
            self.directoryPath = ""
            self.relativePath = file.name
            return
        }
        if let path = Self.plainPath(of: key) {
            // The common case, with no byte to escape: one pass, no intermediate arrays.
            let last = key.rawValue[key.rawValue.utf8.index(after: lastSlash)...]
            self.file = FileNameCodec.Name(name: String(last), isShortened: false)
            self.relativePath = path
            self.directoryPath = String(path.utf8.prefix(path.utf8.count - last.utf8.count - 1))!
            return
        }
        var segments = key.segments
        let last = segments.removeLast()
        self.file = FileNameCodec.fileName(for: last)
        self.directoryPath = segments.map { FileNameCodec.directoryName(for: $0).name }.joined(separator: "/")
        self.relativePath = directoryPath + "/" + file.name
    }

    /// The directories from the root down, each with the segment it stands for (empty for a key
    /// of one segment). Computed when needed: only creating and removing directories use it.
    var directories: [(segment: Substring, name: FileNameCodec.Name)] {
        guard !directoryPath.isEmpty else { return [] }
        return key.segments.dropLast().map { ($0, FileNameCodec.directoryName(for: $0)) }
    }

    /// Bytes after the value: the key trailer of a shortened file name.
    var trailerLength: Int { file.isShortened ? key.byteCount + 4 : 0 }

    /// The relative path of `key` when no segment needs encoding or shortening: each `/` becomes
    /// `.d/`. `nil` otherwise.
    private static func plainPath(of key: StoreKey) -> String? {
        var path: [UInt8] = []
        path.reserveCapacity(key.byteCount + 16)
        var segmentStart = true
        var segmentLength = 0
        var previous: UInt8 = 0
        for byte in key.rawValue.utf8 {
            if byte == UInt8(ascii: "/") {
                // A segment ending in ".d", or too long for a directory name, needs encoding.
                if previous == UInt8(ascii: "d"), path.count >= 2, path[path.count - 2] == UInt8(ascii: ".") { return nil }
                if segmentLength + 2 > FileNameCodec.nameLimit { return nil }
                path.append(contentsOf: ".d/".utf8)
                segmentStart = true
                segmentLength = 0
                previous = byte
                continue
            }
            if byte == UInt8(ascii: "%") || (segmentStart && byte == UInt8(ascii: ".")) { return nil }
            path.append(byte)
            segmentStart = false
            segmentLength += 1
            previous = byte
        }
        if previous == UInt8(ascii: "d"), path.count >= 2, path[path.count - 2] == UInt8(ascii: ".") { return nil }
        if segmentLength > FileNameCodec.nameLimit { return nil }
        return String(decoding: path, as: UTF8.self)
    }
}
