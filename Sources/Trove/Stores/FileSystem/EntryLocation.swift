/// Where a key's value lives under the root: its directories and its file name.
struct EntryLocation {
    let key: StoreKey
    /// The directories from the root down, each with the segment it stands for.
    let directories: [(segment: Substring, name: FileNameCodec.Name)]
    /// The value file's name in the last directory.
    let file: FileNameCodec.Name
    /// The directories joined by `/`, or `""` for a key of one segment.
    let directoryPath: String
    /// The value file's path relative to the root.
    let relativePath: String

    init(_ key: StoreKey) {
        self.key = key
        if !key.rawValue.utf8.contains(UInt8(ascii: "/")) {
            self.directories = []
            self.file = FileNameCodec.fileName(for: key.rawValue)
            self.directoryPath = ""
            self.relativePath = file.name
            return
        }
        var segments = key.segments
        let last = segments.removeLast()
        self.directories = segments.map { ($0, FileNameCodec.directoryName(for: $0)) }
        self.file = FileNameCodec.fileName(for: last)
        self.directoryPath = directories.map(\.name.name).joined(separator: "/")
        self.relativePath = directoryPath + "/" + file.name
    }

    /// Bytes after the value: the key trailer of a shortened file name.
    var trailerLength: Int { file.isShortened ? key.byteCount + 4 : 0 }
}
