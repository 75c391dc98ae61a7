public import Foundation

/// The README's examples and the compiled files they are copied from.
public enum ReadmeBlocks {
    /// The package's directory (the one holding README.md).
    public static let packageDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The lines of `text` that say something, without their indentation.
    public static func normalized(_ text: some StringProtocol) -> [String] {
        text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// The README's Swift code blocks, each without its `import` lines.
    public static func readmeExamples() throws -> [[String]] {
        let readme = try String(contentsOf: packageDirectory.appendingPathComponent("README.md"), encoding: .utf8)
        var blocks: [[String]] = []
        var rest = Substring(readme)
        while let start = rest.range(of: "```swift\n") {
            guard let end = rest[start.upperBound...].range(of: "```") else { break }
            blocks.append(normalized(rest[start.upperBound..<end.lowerBound]).filter { !$0.hasPrefix("import ") })
            rest = rest[end.upperBound...]
        }
        return blocks
    }

    /// The README block whose first line is `marker`, without its `import` lines, or `nil`.
    public static func readmeExample(startingWith marker: String) throws -> [String]? {
        try readmeExamples().first { $0.first == marker }
    }

    /// The lines of the source file at `path` (relative to the package) from the line `marker`
    /// to the end, normalized as README blocks are.
    public static func sourceExample(at path: String, from marker: String) throws -> [String] {
        let source = try String(contentsOf: packageDirectory.appendingPathComponent(path), encoding: .utf8)
        let lines = normalized(source)
        guard let start = lines.firstIndex(of: marker) else { return [] }
        return Array(lines[start...]).filter { !$0.hasPrefix("import ") }
    }
}
