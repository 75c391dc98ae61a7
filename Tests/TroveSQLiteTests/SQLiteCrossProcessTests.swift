import Foundation
import Testing
import Trove
import TroveSQLite
import TroveTestSupport

/// Compare-and-swap across processes: three helper processes and this one increment one counter
/// in one SQLite database at the same time, and no increment is lost.
@Suite("SQLiteStore: cross-process compare-and-swap")
struct SQLiteCrossProcessTests {
    @Test(.timeLimit(.minutes(3)))
    func incrementsFromFourProcessesAreAllKept() async throws {
        let helper = try BuiltExecutable.helper()
        try await withScratchDirectory { directory in
            let file = directory.appendingPathComponent("store.db")
            let store = try await SQLiteStore(path: file)
            let counter: StoreKey = "counters/shared"
            let arguments = ["cas-increment", sqliteURL(file), counter.rawValue, "200"]

            async let first = ChildProcess.run(helper, arguments, scratch: directory)
            async let second = ChildProcess.run(helper, arguments, scratch: directory)
            async let third = ChildProcess.run(helper, arguments, scratch: directory)
            var localError: (any Error)?
            do {
                for _ in 0..<200 {
                    let outcome = try await store.update(counter) { current in
                        .set(Data(String((try current.map(Self.decimal) ?? 0) + 1).utf8))
                    }
                    guard case .stored = outcome else {
                        Issue.record("an in-process increment did not store: \(outcome)")
                        break
                    }
                }
            } catch {
                localError = error
            }
            let results = try await [first, second, third]

            for (index, result) in results.enumerated() {
                #expect(result.status == 0, "helper process \(index + 1) exited with \(result.status): \(result.errors)")
            }
            if let localError { Issue.record("in-process increments failed: \(localError)") }
            let final = try await store[counter].map(Self.decimal)
            #expect(final == 800, "3 processes x 200 + 200 in-process compare-and-swap increments must give exactly 800")
        }
    }

    /// The counter's decimal value.
    static func decimal(_ data: Data) throws -> Int {
        guard let value = Int(String(decoding: data, as: UTF8.self)) else {
            throw TestFailure("the counter holds \(data.count) bytes that are not a decimal number")
        }
        return value
    }
}

/// Exclusive mode: while an exclusive store is open, no other store of the file opens, in this
/// process or another (the `trove` command line), and the file opens again once the store is
/// released; while a shared store is open, no exclusive one opens.
@Suite("SQLiteStore: exclusive mode")
struct SQLiteExclusiveTests {
    @Test(.timeLimit(.minutes(2)))
    func anExclusiveStoreKeepsEveryOtherStoreOutUntilReleased() async throws {
        let trove = try BuiltExecutable.trove()
        try await withScratchDirectory { directory in
            let file = directory.appendingPathComponent("store.db")
            let large = patternedBytes(2 << 20, seed: 7)
            weak var released: SQLiteStore?
            do {
                let exclusive = try await SQLiteStore(path: file, options: SQLiteStore.Options(isExclusive: true))
                released = exclusive
                try await exclusive.set(Data("kept".utf8), for: "k")
                // A value over 1 MiB is written on the store's blocking threads.
                try await exclusive.set(large, for: "large")

                for (table, options) in [("kv", SQLiteStore.Options()), ("kv", SQLiteStore.Options(isExclusive: true)),
                                         ("other", SQLiteStore.Options())] {
                    let error = try await expectStoreError(.unavailable) {
                        _ = try await SQLiteStore(path: file, table: table, options: options)
                    }
                    #expect(error.message.contains(file.path) == true, "the message must name the file: \(error.message)")
                    #expect(error.operation == .open)
                }

                let refused = try await ChildProcess.run(trove, ["--store", sqliteURL(file), "get", "k"], scratch: directory)
                #expect(refused.status == 4, "trove exited with \(refused.status): \(refused.errors)")
                #expect(refused.errors.hasPrefix("trove: ") && refused.errors.contains(file.path),
                        "the message must name the file: \(refused.errors)")
                #expect(refused.output.isEmpty)

                #expect(try await exclusive["k"] == Data("kept".utf8), "the refused opens disturbed the open store")
            }
            #expect(released == nil, "the exclusive store is still referenced after its last use, so its file stays held")

            do {
                let second = try await Self.reopen(file, options: SQLiteStore.Options(isExclusive: true))
                #expect(try await second["large"] == large)
            }
            let shared = try await Self.reopen(file)
            let allowed = try await ChildProcess.run(trove, ["--store", sqliteURL(file), "get", "k"], scratch: directory)
            #expect(allowed.status == 0, "trove exited with \(allowed.status): \(allowed.errors)")
            #expect(allowed.output == Data("kept".utf8))
            #expect(try await shared["k"] == Data("kept".utf8))
        }
    }

    /// Opens a store of `file` whose other stores were all released, trying again for up to 30
    /// seconds while it fails with `.unavailable`: a child process that another test starts
    /// holds copies of this process's descriptors, the lock file's among them, until it runs its
    /// program, and the lock lasts as long as any copy. On a loaded machine a child can wait
    /// seconds for its turn to run.
    static func reopen(_ file: URL, options: SQLiteStore.Options = SQLiteStore.Options()) async throws -> SQLiteStore {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            do {
                return try await SQLiteStore(path: file, options: options)
            } catch let error as StoreError where error.code == .unavailable && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
        }
    }

    @Test func aSharedStoreKeepsExclusiveStoresOut() async throws {
        try await withScratchDirectory { directory in
            let file = directory.appendingPathComponent("store.db")
            do {
                let shared = try await SQLiteStore(path: file)
                try await shared.set(Data("v".utf8), for: "k")
                let another = try await SQLiteStore(path: file, table: "other")
                let error = try await expectStoreError(.unavailable) {
                    _ = try await SQLiteStore(path: file, options: SQLiteStore.Options(isExclusive: true))
                }
                #expect(error.message.contains(file.path) == true, "the message must name the file: \(error.message)")
                #expect(try await shared["k"] == Data("v".utf8))
                #expect(try await another.count() == 0)
            }
            let exclusive = try await Self.reopen(file, options: SQLiteStore.Options(isExclusive: true))
            #expect(try await exclusive["k"] == Data("v".utf8))
        }
    }
}
