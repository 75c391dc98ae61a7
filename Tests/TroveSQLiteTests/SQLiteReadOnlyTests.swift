import Foundation
import Testing
import Trove
import TroveSQLite
import TroveTestSupport

/// Read-only mode on a file system that can be written: what it creates (nothing), what it
/// sees of a writer's commits, and what it refuses. The read-only file system itself is in
/// SQLiteFileSystemTests.
@Suite("SQLiteStore in read-only mode")
struct SQLiteReadOnlyTests {
    static let readOnly = SQLiteStore.Options(accessMode: .readOnly)

    @Test func aReadOnlyStoreCreatesNothingAndSeesAWritersCommits() async throws {
        try await withScratchDirectory { directory in
            let file = directory.appendingPathComponent("store.db")
            do {
                let writer = try await SQLiteStore(path: file)
                try await writer.set(Data("1".utf8), for: "a")
            }
            try FileManager.default.removeItem(atPath: file.path + "-trove-lock")
            let before = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
            #expect(before == ["store.db"], "the last store closed left \(before)")

            let reader = try await SQLiteStore(path: file, options: Self.readOnly)
            #expect(try await reader["a"] == Data("1".utf8))
            #expect(!FileManager.default.fileExists(atPath: file.path + "-trove-lock"), "a read-only store created the lock file")

            // A writer opened meanwhile: the reader sees its commits.
            let writer = try await SQLiteStore(path: file)
            try await writer.set(Data("2".utf8), for: "b")
            #expect(try await reader["b"] == Data("2".utf8))
            #expect(try await reader.count() == 2)
            try await expectStoreError(.readOnly) { try await reader.set(Data("3".utf8), for: "c") }
            #expect(try await writer["c"] == nil)
        }
    }

    @Test func aMissingFileIsRefusedAndNotCreated() async throws {
        try await withScratchDirectory { directory in
            let file = directory.appendingPathComponent("missing.db")
            let error = try await expectStoreError(.io) { _ = try await SQLiteStore(path: file, options: Self.readOnly) }
            #expect(error.message.contains(file.path) == true, "\(error.message)")
            let created = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            #expect(created.isEmpty, "files were created: \(created)")
            let viaURL = try await expectStoreError(.io) {
                try await StoreOpener.withSQLite.withStore(sqliteURL(directory.appendingPathComponent("sub/x.db"), query: "mode=readonly")) { _ in }
            }
            #expect(viaURL.operation == .open, "opening a missing database read-only fails as an open: \(viaURL)")
            let afterURL = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            #expect(afterURL.isEmpty, "the URL created \(afterURL)")
        }
    }

    @Test func aMissingTableIsRefusedNamingIt() async throws {
        try await withScratchDirectory { directory in
            let file = directory.appendingPathComponent("store.db")
            _ = try await SQLiteStore(path: file)
            let error = try await expectStoreError(.invalidArgument) {
                _ = try await SQLiteStore(path: file, table: "other", options: Self.readOnly)
            }
            #expect(error.message.contains("'other'") == true, "\(error.message)")
            #expect(try RawDatabase(file).integer("SELECT count(*) FROM sqlite_master WHERE name = 'other'") == 0)
        }
    }

    @Test func exclusiveReadOnlyIsRefusedAndAnExclusiveStoreKeepsReadersOut() async throws {
        try await withScratchDirectory { directory in
            let file = directory.appendingPathComponent("store.db")
            let error = try await expectStoreError(.invalidArgument) {
                _ = try await SQLiteStore(path: file, options: .init(isExclusive: true, accessMode: .readOnly))
            }
            #expect(error.message.contains("exclusive") == true)
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty, "files were created")

            do {
                let exclusive = try await SQLiteStore(path: file, options: .init(isExclusive: true))
                try await expectStoreError(.unavailable) { _ = try await SQLiteStore(path: file, options: Self.readOnly) }
                _ = exclusive
            }
            // Once the exclusive store is gone, a reader gets in (after any child process of
            // another test has let go of its inherited copy of the lock).
            let reader = try await SQLiteExclusiveTests.reopen(file, options: Self.readOnly)
            try await expectStoreError(.unavailable) { _ = try await SQLiteStore(path: file, options: .init(isExclusive: true)) }
            _ = reader
        }
    }

    @Test("the mode option of an sqlite: URL", arguments: [("mode=readonly", true), ("mode=readwrite", false), (nil, false)])
    func theModeOption(_ query: String?, _ isReadOnly: Bool) throws {
        let url = try StoreURL(parsing: "sqlite:///data/app.db" + (query.map { "?" + $0 } ?? ""))
        let configuration = try SQLiteStore.URLConfiguration(url, currentDirectory: URL(fileURLWithPath: "/"))
        #expect(configuration.options.accessMode == (isReadOnly ? .readOnly : .readWrite))
    }

    @Test func aBadModeIsRefusedNamingIt() throws {
        let url = try StoreURL(parsing: "sqlite:///data/app.db?mode=ro")
        #expect {
            try SQLiteStore.URLConfiguration(url, currentDirectory: URL(fileURLWithPath: "/"))
        } throws: { error in
            guard let error = error as? StoreError else { return false }
            return error.code == .invalidArgument && error.message.contains("mode") && error.message.contains("readonly")
        }
    }
}
