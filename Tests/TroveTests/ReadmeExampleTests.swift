import Foundation
import Testing
import TroveTestSupport

/// The README's Swift examples: each is a snippet (Snippets/NAME.swift, its shown code word for
/// word) or, for the one that needs a package no library of Trove's depends on, the body of a
/// function of one program (Tests/ReadmeExamples). These tests check that the README and those
/// files say the same, and run them all twice in a fresh directory, as a reader who pastes the
/// examples and runs them again would.
@Suite("README examples")
struct ReadmeExampleTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The snippets in the order the README shows them; each runs where the one before ran.
    static let snippets = ["QuickStart", "LayersAndTypedValues", "ManyKeysAtOnce", "CheckingABackend"]

    /// The lines of `text` that say something, without their indentation and `import` lines.
    static func normalized(_ text: some StringProtocol) -> [String] {
        text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("import ") }
    }

    /// The README's Swift blocks but the manifest.
    static func readmeExamples() throws -> [[String]] {
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        var examples: [[String]] = []
        var rest = Substring(readme)
        while let start = rest.range(of: "```swift\n") {
            guard let end = rest[start.upperBound...].range(of: "```") else { break }
            let block = rest[start.upperBound..<end.lowerBound]
            rest = rest[end.upperBound...]
            if block.hasPrefix("// Package.swift") { continue }
            examples.append(normalized(block))
        }
        return examples
    }

    /// What a snippet shows, as DocC and the README do: its lines outside `snippet.hide` …
    /// `snippet.show`, without the comment that opens the file (the snippet's description).
    static func shownCode(ofSnippet name: String) throws -> [String] {
        let source = try String(contentsOf: root.appendingPathComponent("Snippets/\(name).swift"), encoding: .utf8)
        var lines = source.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        while let first = lines.first, first.isEmpty || (first.hasPrefix("//") && !first.hasPrefix("// snippet.")) {
            lines.removeFirst()
        }
        var shown: [String] = []
        var hidden = false
        for line in lines {
            switch line.trimmingCharacters(in: .whitespaces) {
            case "// snippet.hide": hidden = true
            case "// snippet.show": hidden = false
            default: if !hidden { shown.append(line) }
            }
        }
        return normalized(shown.joined(separator: "\n"))
    }

    @Test func everyExampleIsASnippetOrInTheProgramWordForWord() throws {
        var examples = try Self.readmeExamples()
        #expect(examples.count >= 5, "the README's Swift examples were not found")

        let inFolder = try FileManager.default.contentsOfDirectory(atPath: Self.root.appendingPathComponent("Snippets").path)
            .filter { $0.hasSuffix(".swift") }.map { String($0.dropLast(6)) }
        #expect(Set(inFolder) == Set(Self.snippets), "Snippets/ holds \(inFolder.sorted()), the README shows \(Self.snippets)")
        for name in Self.snippets {
            let shown = try Self.shownCode(ofSnippet: name)
            if let index = examples.firstIndex(of: shown) {
                examples.remove(at: index)
            } else {
                Issue.record("the README shows no example that is Snippets/\(name).swift as it is:\n\(shown.joined(separator: "\n"))")
            }
        }

        let program = try String(contentsOf: Self.root.appendingPathComponent("Tests/ReadmeExamples/main.swift"), encoding: .utf8)
        let lines = Self.normalized(program)
        let functions = program.split(separator: "\n").filter { $0.hasPrefix("func ") }.count
        #expect(functions == examples.count, "the program has \(functions) examples, the README \(examples.count) that are not snippets")
        for example in examples {
            let found = lines.indices.contains { start in
                start + example.count <= lines.count && Array(lines[start..<(start + example.count)]) == example
            }
            #expect(found, "this README example is neither a snippet nor in Tests/ReadmeExamples/main.swift as it is:\n\(example.joined(separator: "\n"))")
        }
    }

    /// Runs every snippet and then the program in `directory`, one after the other.
    static func runAll(in directory: URL) async throws -> [String: [String]] {
        var outputs: [String: [String]] = [:]
        for name in snippets + ["ReadmeExamples"] {
            let result = try await ChildProcess.run(try BuiltExecutable.locate(name), [], in: directory, scratch: directory)
            #expect(result.status == 0, "\(name) failed: \(result.errors)")
            outputs[name] = result.outputLines
        }
        return outputs
    }

    @Test func theExamplesRunTwiceInARow() async throws {
        try await withScratchDirectory { directory in
            let first = try await Self.runAll(in: directory)
            let quickStart = first["QuickStart", default: []]
            #expect(quickStart.first == "hello")
            for line in ["docs/readme", "counters/", "docs/", "greetings/", "sessions/", "12"] {
                #expect(quickStart.contains(line), "the quick start's first run did not print '\(line)': \(quickStart)")
            }
            #expect(!quickStart.contains { $0.contains("was there already") })
            let metrics = #"trove_operations_total{system="file",store="documents",operation="read",outcome="notFound"} 1"#
            #expect(first["ReadmeExamples", default: []].contains(metrics), "the metrics example did not print its counts: \(first)")
            #expect(first["ReadmeExamples", default: []].last == "every example ran")

            let second = try await Self.runAll(in: directory)
            #expect(second["QuickStart", default: []].contains("docs/readme was there already; nothing was changed"), "\(second)")
            #expect(second["ReadmeExamples", default: []].last == "every example ran")
        }
    }
}
