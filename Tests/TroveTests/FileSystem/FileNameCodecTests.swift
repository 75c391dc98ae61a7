import Testing
@testable import Trove

@Suite("File-name encoding of key segments")
struct FileNameCodecTests {
    @Test(arguments: [
        "plain", "with space", "é", "中文", "%", "100%", "%25", ".hidden", "...", "a.", "x.d", "x.d.d", ".d",
        "back\\slash", "star*?<>|\"", "~tilde", "d", "-", "a%#b",
    ])
    func segmentsRoundTrip(_ segment: String) {
        let file = FileNameCodec.fileName(for: segment)
        let directory = FileNameCodec.directoryName(for: segment)
        #expect(!file.isShortened && !directory.isShortened)
        #expect(FileNameCodec.decodeFileName(file.name) == .segment(segment))
        #expect(FileNameCodec.decodeDirectoryName(directory.name) == .segment(segment))
        #expect(!file.name.hasPrefix("."), "stored names never start with a dot")
        #expect(!file.name.hasSuffix(".d"), "a file name never looks like a directory")
        #expect(directory.name.hasSuffix(".d"))
    }

    @Test func escapesOnlyWhatItMust() {
        #expect(FileNameCodec.fileName(for: "plain").name == "plain")
        #expect(FileNameCodec.fileName(for: "%").name == "%25")
        #expect(FileNameCodec.fileName(for: ".hidden").name == "%2Ehidden")
        #expect(FileNameCodec.fileName(for: "x.d").name == "x%2Ed")
        #expect(FileNameCodec.directoryName(for: "x").name == "x.d")
        #expect(FileNameCodec.directoryName(for: "x.d").name == "x%2Ed.d")
    }

    @Test(arguments: [300, 1000])
    func longSegmentsAreShortenedWithinTheNameLimit(_ length: Int) {
        for segment in [String(repeating: "q", count: length), String(repeating: "é", count: length / 2),
                        String(repeating: "%", count: length / 3)] {
            let file = FileNameCodec.fileName(for: segment)
            let directory = FileNameCodec.directoryName(for: segment)
            #expect(file.isShortened && directory.isShortened)
            #expect(file.name.utf8.count <= FileNameCodec.nameLimit)
            #expect(directory.name.utf8.count <= FileNameCodec.nameLimit)
            #expect(FileNameCodec.decodeFileName(file.name) == .shortened)
            #expect(FileNameCodec.decodeDirectoryName(directory.name) == .shortened)
            #expect(String(validating: Array(file.name.utf8), as: UTF8.self) != nil, "never cuts inside a character")
        }
        let a = FileNameCodec.fileName(for: String(repeating: "q", count: length) + "a")
        let b = FileNameCodec.fileName(for: String(repeating: "q", count: length) + "b")
        #expect(a.name != b.name, "segments that differ only past the head get different names")
    }

    @Test(arguments: [".DS_Store", ".trove", "bad%zz", "bad%2", "lower%2e", "x.d", "unescaped%", "%2Eplain.d"])
    func foreignFileNamesAreNotKeys(_ name: String) {
        #expect(FileNameCodec.decodeFileName(name) == .foreign)
    }

    @Test func directoryNamesNeedTheirSuffix() {
        #expect(FileNameCodec.decodeDirectoryName("plain") == .foreign)
        #expect(FileNameCodec.decodeDirectoryName(".d") == .foreign)
        #expect(FileNameCodec.decodeDirectoryName("a.d") == .segment("a"))
    }
}

@Suite("SHA-256")
struct SHA256Tests {
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ])
    func standardVectors(_ input: String, _ digest: String) {
        #expect(SHA256.hexDigest(Array(input.utf8)) == digest)
    }

    @Test func millionAs() {
        let input = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        #expect(SHA256.hexDigest(input) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}

@Suite("Paths of keys in a file store")
struct EntryLocationTests {
    /// The path built segment by segment with the codec, as the slow path does.
    static func expectedPath(_ key: StoreKey) -> String {
        let segments = key.segments
        let directories = segments.dropLast().map { FileNameCodec.directoryName(for: $0).name }
        return (directories + [FileNameCodec.fileName(for: segments[segments.count - 1]).name]).joined(separator: "/")
    }

    @Test(arguments: [
        "a", "a/b", "a/b/c", "d/x", "a/d/x", "x.d/y", "x/y.d", "a/.b/c", "a/%/c", "é/ü/中", "a.b/c.e",
        "dd/d", "a/b.dd", ".d/x",
    ])
    func fastAndSlowPathsAgree(_ raw: String) throws {
        let key = try StoreKey(validating: raw)
        let location = EntryLocation(key)
        #expect(location.relativePath == Self.expectedPath(key))
        let directories = location.directories.map(\.name.name).joined(separator: "/")
        #expect(location.directoryPath == directories)
    }

    @Test func longSegmentsTakeTheShortenedPath() throws {
        let long = String(repeating: "z", count: 254)
        for raw in [long + "/x", "x/" + long + "zz", long + "z/y"] {
            let key = try StoreKey(validating: raw)
            #expect(EntryLocation(key).relativePath == Self.expectedPath(key))
        }
    }
}
