import Foundation
import Testing
import TroveTestSupport

/// The README's Swift examples: Tests/ReadmeExamples holds each, word for word, as the body of a
/// function of one program; these tests check that the two say the same and run the program
/// twice in a fresh directory, as a reader who pastes an example and runs it again would.
@Suite("README examples")
struct ReadmeExampleTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The lines of `text` that say something, without their indentation.
    static func normalized(_ text: some StringProtocol) -> [String] {
        text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// The README's Swift blocks but the manifest, without their `import` lines.
    static func readmeExamples() throws -> [[String]] {
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        var examples: [[String]] = []
        var rest = Substring(readme)
        while let start = rest.range(of: "```swift\n") {
            guard let end = rest[start.upperBound...].range(of: "```") else { break }
            let block = rest[start.upperBound..<end.lowerBound]
            rest = rest[end.upperBound...]
            if block.hasPrefix("// Package.swift") { continue }
            examples.append(normalized(block).filter { !$0.hasPrefix("import ") })
        }
        return examples
    }

    @Test func everyExampleIsInTheProgramWordForWord() throws {
        let program = try String(contentsOf: Self.root.appendingPathComponent("Tests/ReadmeExamples/main.swift"), encoding: .utf8)
        let lines = Self.normalized(program)
        let examples = try Self.readmeExamples()
        #expect(examples.count >= 4, "the README's Swift examples were not found")
        var functions = 0
        for line in program.split(separator: "\n") where line.hasPrefix("func ") { functions += 1 }
        #expect(functions == examples.count, "the program has \(functions) examples, the README \(examples.count)")
        for example in examples {
            let found = lines.indices.contains { start in
                start + example.count <= lines.count && Array(lines[start..<(start + example.count)]) == example
            }
            #expect(found, "this README example is not in Tests/ReadmeExamples/main.swift as it is:\n\(example.joined(separator: "\n"))")
        }
    }

    @Test func theExamplesRunTwiceInARow() async throws {
        try await withScratchDirectory { directory in
            let program = try BuiltExecutable.locate("ReadmeExamples")
            let first = try await ChildProcess.run(program, [], in: directory, scratch: directory)
            #expect(first.status == 0, "\(first.errors)")
            #expect(first.outputLines.first == "hello")
            for line in ["docs/readme", "counters/", "docs/", "greetings/", "sessions/", "12", "every example ran"] {
                #expect(first.outputLines.contains(line), "the first run did not print '\(line)': \(first.outputLines)")
            }
            #expect(!first.outputLines.contains { $0.contains("was there already") })
            let metrics = #"trove_operations_total{system="file",store="documents",operation="read",outcome="notFound"} 1"#
            #expect(first.outputLines.contains(metrics), "the metrics example did not print its counts: \(first.outputLines)")
            let second = try await ChildProcess.run(program, [], in: directory, scratch: directory)
            #expect(second.status == 0, "\(second.errors)")
            #expect(second.outputLines.contains("docs/readme was there already; nothing was changed"), "\(second.outputLines)")
            #expect(second.outputLines.last == "every example ran")
        }
    }
}
