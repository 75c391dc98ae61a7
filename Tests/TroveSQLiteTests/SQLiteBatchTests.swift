import Foundation
import Synchronization
import Testing
import Trove
import TroveSQLite
import TroveTestSupport

/// `writeAll`, `readAll`, `deleteAll` and `transaction`: all or nothing, with values kept in the
/// row, in parts, and in several parts.
@Suite("SQLiteStore: batches and transactions")
struct SQLiteBatchTests {
    /// Runs `body` with a store over a new database file.
    func withStore(_ body: (SQLiteStore, URL) async throws -> Void) async throws {
        try await withScratchDirectory { directory in
            let file = directory.appendingPathComponent("store.db")
            try await body(try await SQLiteStore(path: file), file)
        }
    }

    /// The protocol's batches reach SQLite's one-transaction batch through a stack of layers and
    /// an existential: a failing entry rolls back the whole batch, values in parts included.
    @Test func batchesThroughLayersAreOneTransaction() async throws {
        try await withStore { store, _ in
            let stack = AnyKeyValueStore(store).prefixed("app").limited(keyLength: 200)
            #expect(stack.capabilities.contains(.atomicBatches))
            try await stack.set(Data("taken".utf8), for: "taken")
            let large = Data(repeating: 7, count: 3 << 20)
            let results = try await stack.writeBatch([
                BatchWrite("a", Data("a".utf8)),
                BatchWrite("large", large),
                BatchWrite("taken", Data("x".utf8), options: WriteOptions(condition: .ifAbsent)),
            ])
            #expect(results.count == 3)
            guard case .failure(let culprit) = results[2] else { Issue.record("the taken key was written"); return }
            #expect(culprit.code == .conditionFailed)
            #expect(culprit.key == "taken")
            for index in 0..<2 {
                guard case .failure(let aborted) = results[index] else { Issue.record("entry \(index) was applied"); continue }
                #expect(aborted.code == .conditionFailed && aborted.message.contains("atomic"))
            }
            #expect(try await store.readBatch(["app/a", "app/large", "app/taken"]).map { $0?.value } == [nil, nil, Data("taken".utf8)])

            let written = try await stack.writeBatch([BatchWrite("a", Data("a".utf8)), BatchWrite("large", large)]).get()
            #expect(written.map(\.key) == ["a", "large"])
            #expect(try await stack.readBatch(["large", "missing", "a"]).map { $0?.value } == [large, nil, Data("a".utf8)])
            let deleted = try await stack.deleteBatch([BatchDelete("a"), BatchDelete("large", condition: .ifMatches(written[0].etag))])
            guard case .failure = deleted[1] else { Issue.record("a delete with another key's ETag succeeded"); return }
            #expect(try await store.count(withPrefix: "app/") == 3, "a failed delete batch must delete nothing")
            _ = try await stack.deleteBatch(["a", "large"]).get()
            #expect(try await stack.count() == 1)
        }
    }

    /// A write `ifAbsent` and a delete without condition learn what they did from the rows
    /// changed, not from rows returned: over a live row, an expired one and none, alone and in
    /// a batch, the table holds what the calls said.
    @Test func writesIfAbsentAndDeletesOverLiveExpiredAndMissingRows() async throws {
        try await withScratchDirectory { directory in
            let file = directory.appendingPathComponent("store.db")
            let clock = ManualWallClock(start: Date(timeIntervalSinceReferenceDate: 800_000_000))
            let store = try await SQLiteStore(path: file, clock: clock.wallClock)
            let raw = try RawDatabase(file)
            let expiring = WriteOptions(expiry: .after(.seconds(1)))
            for name in ["live", "expired", "batch/live", "batch/expired"] {
                try await store.write(Data(name.utf8), for: key(name), options: name.hasSuffix("expired") ? expiring : WriteOptions())
            }
            let firstCreation = clock.now
            clock.advance(by: .seconds(2))
            #expect(try raw.integer("SELECT count(*) FROM kv") == 4)

            // ifAbsent: refused over the live row, written over the expired one and the missing one.
            let refused = await #expect(throws: StoreError.self) {
                try await store.write(Data("x".utf8), for: "live", options: WriteOptions(condition: .ifAbsent))
            }
            #expect(refused?.code == .conditionFailed)
            let replaced = try await store.write(Data("new".utf8), for: "expired", options: WriteOptions(condition: .ifAbsent))
            #expect(replaced.creationDate == clock.now, "a value replacing an expired one is new")
            let metadata = try #require(try await store.metadata(for: "expired"))
            #expect(metadata.creationDate == clock.now && metadata.etag == replaced.etag && metadata.expirationDate == nil)
            #expect(try await store.metadata(for: "live")?.creationDate == firstCreation)
            #expect(try await store["live"] == Data("live".utf8))

            // Deletes: true for a live row, false for an expired one or none; each row goes.
            try await store.write(Data("gone".utf8), for: "soon", options: expiring)
            clock.advance(by: .seconds(2))
            #expect(try await store.delete("soon") == false)
            #expect(try await store.delete("missing") == false)
            #expect(try await store.delete("live") == true)
            #expect(try raw.integer("SELECT count(*) FROM kv WHERE key IN ('soon', 'live')") == 0)

            // The same in one batch.
            let written = try await store.writeBatch([
                BatchWrite("batch/expired", Data("new".utf8), options: WriteOptions(condition: .ifAbsent)),
                BatchWrite("batch/missing", Data("new".utf8), options: WriteOptions(condition: .ifAbsent)),
            ]).get()
            #expect(written.allSatisfy { $0.creationDate == clock.now })
            try await store.write(Data("gone".utf8), for: "batch/soon", options: expiring)
            clock.advance(by: .seconds(2))
            _ = try await store.deleteBatch(["batch/live", "batch/soon", "batch/missing", "batch/none"]).get()
            #expect(try raw.column("SELECT key FROM kv WHERE key LIKE 'batch/%' ORDER BY key") == ["batch/expired"])
            #expect(try raw.integrityCheck() == ["ok"])
        }
    }

    /// `updateInKeyOrder` walks live entries under a byte prefix in order, replaces what it is
    /// told in one transaction, stops when told or at its limit, and undoes everything when
    /// `decide` throws.
    @Test func orderedUpdatesWalkReplaceStopAndRollBack() async throws {
        try await withScratchDirectory { directory in
            let file = directory.appendingPathComponent("store.db")
            let clock = ManualWallClock(start: Date(timeIntervalSinceReferenceDate: 800_000_000))
            let store = try await SQLiteStore(path: file, clock: clock.wallClock)
            let created = clock.now
            for index in 0..<6 { try await store.set(Data("v\(index)".utf8), for: try key("q/\(index)")) }
            try await store.set(Data("outside".utf8), for: "qq/0")
            try await store.set(Data("gone".utf8), for: "q/5b", expiry: .after(.seconds(1)))
            try await store.set(Data(repeating: 3, count: 3 << 20), for: "q/6")   // kept in parts
            clock.advance(by: .seconds(2))
            let before = try await store.metadata(for: "q/1")

            // Even indices replaced, odd kept; the expired entry and the other prefix unseen.
            let seen = Mutex<[StoreKey]>([])
            let result = try await store.updateInKeyOrder(withPrefix: "q/", after: nil, examining: 100) { entry in
                seen.withLock { $0.append(entry.metadata.key) }
                guard let last = entry.metadata.key.rawValue.last, let digit = last.wholeNumberValue else { return .keep }
                if digit == 6 { #expect(entry.value == Data(repeating: 3, count: 3 << 20)) }
                return digit % 2 == 0 ? .replace(entry.value + Data("!".utf8)) : .keep
            }
            #expect(seen.withLock { $0 } == ["q/0", "q/1", "q/2", "q/3", "q/4", "q/5", "q/6"])
            #expect(result.reachedTheEnd)
            #expect(result.replaced.map(\.key) == ["q/0", "q/2", "q/4", "q/6"])
            #expect(try await store["q/2"] == Data("v2!".utf8))
            #expect(try await store["q/6"]?.count == (3 << 20) + 1)
            let replaced = try #require(try await store.metadata(for: "q/0"))
            #expect(replaced.etag == result.replaced[0].etag && replaced.creationDate == created && replaced.modificationDate == clock.now)
            #expect(try await store.metadata(for: "q/1") == before, "a kept entry is not written")
            #expect(try await store["qq/0"] == Data("outside".utf8))

            // Stop and limit: the walk ends early and says so.
            let stopped = try await store.updateInKeyOrder(withPrefix: "q/", after: nil, examining: 100) { entry in
                entry.metadata.key == "q/1" ? .stop : .keep
            }
            #expect(!stopped.reachedTheEnd && stopped.replaced.isEmpty)
            let limited = try await store.updateInKeyOrder(withPrefix: "q/", after: nil, examining: 3) { _ in .keep }
            #expect(!limited.reachedTheEnd)
            let exact = try await store.updateInKeyOrder(withPrefix: "q/", after: nil, examining: 7) { _ in .keep }
            #expect(exact.reachedTheEnd)
            // Past a key: from the next one on (a key before the prefix starts at the prefix).
            let later = Mutex<[StoreKey]>([])
            _ = try await store.updateInKeyOrder(withPrefix: "q/", after: "q/2", examining: 100) { entry in
                later.withLock { $0.append(entry.metadata.key) }
                return .keep
            }
            #expect(later.withLock { $0 } == ["q/3", "q/4", "q/5", "q/6"])
            let fromTheStart = try await store.updateInKeyOrder(withPrefix: "q/", after: "a", examining: 7) { _ in .keep }
            #expect(fromTheStart.reachedTheEnd)

            // A throw undoes the replacements made before it.
            struct Refusal: Error {}
            await #expect(throws: Refusal.self) {
                _ = try await store.updateInKeyOrder(withPrefix: "q/", after: nil, examining: 100) { entry in
                    if entry.metadata.key == "q/3" { throw Refusal() }
                    return .replace(Data("overwritten".utf8))
                }
            }
            #expect(try await store["q/0"] == Data("v0!".utf8))
            #expect(try await store["q/1"] == Data("v1".utf8))
            let invalid = await #expect(throws: StoreError.self) {
                _ = try await store.updateInKeyOrder(withPrefix: "q/", after: nil, examining: 0) { _ in .keep }
            }
            #expect(invalid?.code == .invalidArgument)
            #expect(try RawDatabase(file).integrityCheck() == ["ok"])
        }
    }

    @Test func aThousandEntriesAreWrittenReadCountedAndDeletedInOneCallEach() async throws {
        try await withStore { store, _ in
            let entries = try (0..<1000).map { index in
                (key: try key("batch/" + String(String(index + 10000).dropFirst())), value: Data("value \(index)".utf8))
            }
            let written = try await store.writeAll(entries)
            #expect(written.map(\.key) == entries.map(\.key))
            #expect(written.map(\.size) == entries.map { Int64($0.value.count) })
            #expect(Set(written.map(\.etag)).count == 1000, "ETags repeat within a batch")

            let read = try await store.readAll(entries.map(\.key) + ["batch/missing"])
            #expect(read.count == 1000)
            let wrong = entries.filter { read[$0.key]?.value != $0.value }.map(\.key)
            #expect(wrong.isEmpty, "readAll returned other values for \(wrong.prefix(5))")
            #expect(read[entries[500].key]?.metadata.etag == written[500].etag)

            #expect(try await store.count(withPrefix: "batch/") == 1000)
            #expect(try await store.count(withPrefix: "batch/00") == 100)
            #expect(try await store.count(withPrefix: "batch/0999") == 1)
            #expect(try await store.count(withPrefix: "batch0") == 0)
            #expect(try await store.count() == 1000)

            #expect(try await store.deleteAll(entries.map(\.key) + ["batch/missing"]) == 1000)
            #expect(try await store.count(withPrefix: "batch/") == 0)
            #expect(try await store.readAll(entries.map(\.key)).isEmpty)
        }
    }

    @Test func aBatchWithAFailingConditionWritesNothing() async throws {
        try await withStore { store, file in
            let before = try await store.set(Data("old".utf8), for: "exists")
            let error = try await expectStoreError(.conditionFailed) {
                try await store.writeAll([
                    ("new/1", Data("one".utf8)), ("exists", Data("two".utf8)), ("new/3", patternedBytes(2 << 20, seed: 3)),
                ], options: WriteOptions(condition: .ifAbsent))
            }
            #expect(error.key == "exists")
            try await expectStoreError(.conditionFailed) {
                try await store.writeAll([
                    ("new/3", patternedBytes(2 << 20, seed: 3)), ("exists", Data("two".utf8)),
                ], options: WriteOptions(condition: .ifAbsent))
            }

            #expect(try await store.readAll(["new/1", "new/3"]).isEmpty, "a failed batch wrote some of its values")
            #expect(try await store["exists"] == Data("old".utf8))
            #expect(try await store.metadata(for: "exists")?.etag == before.etag)
            #expect(try await store.count() == 1)
            #expect(try RawDatabase(file).integer(#"SELECT count(*) FROM "kv$segments""#) == 0,
                    "a failed batch left the parts of its large value")
        }
    }

    /// What a transaction saw before it threw, carried out by its error.
    struct Abort: Error {
        var seen: [String] = []
    }

    @Test func aTransactionThatThrowsLeavesEverythingAsBefore() async throws {
        try await withStore { store, file in
            let a = try await store.set(Data("1".utf8), for: "t/a")
            let b = try await store.set(Data("2".utf8), for: "t/b")
            let large = patternedBytes((1 << 20) + 100, seed: 4)
            let c = try await store.set(large, for: "t/large")
            let partsBefore = try RawDatabase(file).integer(#"SELECT count(*) FROM "kv$segments""#)

            do {
                _ = try await store.transaction { transaction in
                    var seen: [String] = []
                    seen.append(try transaction.read("t/a").map { String(decoding: $0.value, as: UTF8.self) } ?? "nil")
                    try transaction.write(Data("changed".utf8), for: "t/a")
                    try transaction.write(patternedBytes(3 << 20, seed: 5), for: "t/new")
                    seen.append(String(try transaction.delete("t/b")))
                    try transaction.write(Data("small now".utf8), for: "t/large")
                    seen.append(try transaction.read("t/a").map { String(decoding: $0.value, as: UTF8.self) } ?? "nil")
                    seen.append(try transaction.read("t/b") == nil ? "gone" : "there")
                    seen.append(String(try transaction.metadata(for: "t/new")?.size ?? -1))
                    throw Abort(seen: seen)
                }
                Issue.record("the transaction did not throw")
            } catch let abort as Abort {
                #expect(abort.seen == ["1", "true", "changed", "gone", String(3 << 20)])
            } catch {
                Issue.record("the transaction's own error came back as \(type(of: error)): \(error)")
            }

            #expect(try await store.metadata(for: "t/a")?.etag == a.etag)
            #expect(try await store["t/a"] == Data("1".utf8))
            #expect(try await store.metadata(for: "t/b")?.etag == b.etag)
            #expect(try await store["t/large"] == large)
            #expect(try await store.metadata(for: "t/large")?.etag == c.etag)
            #expect(try await store["t/new"] == nil)
            #expect(try await store.count(withPrefix: "t/") == 3)
            #expect(try RawDatabase(file).integer(#"SELECT count(*) FROM "kv$segments""#) == partsBefore)
        }
    }

    @Test func aFailedConditionInATransactionUndoesItsEarlierWrites() async throws {
        try await withStore { store, _ in
            try await store.set(Data("1".utf8), for: "t/a")
            let error = try await expectStoreError(.conditionFailed) {
                _ = try await store.transaction { transaction in
                    try transaction.write(Data("x".utf8), for: "t/x")
                    try transaction.delete("t/a")
                    try transaction.write(Data("y".utf8), for: "t/x", condition: .ifAbsent)
                }
            }
            #expect(error.key == "t/x")
            #expect(try await store["t/a"] == Data("1".utf8))
            #expect(try await store["t/x"] == nil)
        }
    }

    @Test func aTransactionThatReturnsCommits() async throws {
        try await withStore { store, _ in
            let a = try await store.set(Data("1".utf8), for: "t/a")
            try await store.set(Data("2".utf8), for: "t/b")
            let large = patternedBytes(5 << 20, seed: 6)
            let result = try await store.transaction { transaction -> Int in
                guard let current = try transaction.read("t/a"),
                      let count = Int(String(decoding: current.value, as: UTF8.self)) else { return -1 }
                try transaction.write(Data(String(count + 1).utf8), for: "t/a", condition: .ifMatches(current.metadata.etag))
                try transaction.delete("t/b", condition: .ifMatches(try transaction.metadata(for: "t/b")?.etag ?? a.etag))
                try transaction.write(large, for: "t/large", condition: .ifAbsent)
                return count + 1
            }
            #expect(result == 2)
            #expect(try await store["t/a"] == Data("2".utf8))
            #expect(try await store.metadata(for: "t/a")?.etag != a.etag)
            #expect(try await store["t/b"] == nil)
            #expect(try await store["t/large"] == large)
        }
    }

    /// Sizes around the limits of the layout: empty, small, at and past ``SQLiteStore/inlineLimit``,
    /// at and past one part of 1 MiB, and several parts.
    static let sizes = [0, 1, 100, SQLiteStore.inlineLimit, SQLiteStore.inlineLimit + 1, 1 << 20, (1 << 20) + 1, (3 << 20) + 5]

    @Test func valuesInTheRowAndInPartsMixInBatchesAndTransactions() async throws {
        try await withStore { store, file in
            let entries = try Self.sizes.enumerated().map { index, size in
                (key: try key("mixed/\(index)"), value: patternedBytes(size, seed: UInt64(index)))
            }
            try await store.writeAll(entries)
            let read = try await store.readAll(entries.map(\.key))
            for (name, value) in entries {
                #expect(read[name]?.value == value, "readAll of \(value.count) bytes")
                #expect(try await store[name] == value, "read of \(value.count) bytes")
                #expect(try await store.metadata(for: name)?.size == Int64(value.count))
                let streamed = try #require(try await store.readStream(name, chunkSize: 100_000))
                var whole = Data()
                for try await chunk in streamed.chunks { whole.append(chunk) }
                #expect(whole == value, "readStream of \(value.count) bytes")
            }
            let raw = try RawDatabase(file)
            let inline = Self.sizes.filter { $0 <= SQLiteStore.inlineLimit }.count
            #expect(try raw.integer("SELECT count(*) FROM kv WHERE segments IS NULL") == inline,
                    "values up to inlineLimit are kept in their row, larger ones in parts")
            let parts = Self.sizes.filter { $0 > SQLiteStore.inlineLimit }.reduce(0) { $0 + ($1 + (1 << 20) - 1) >> 20 }
            #expect(try raw.integer(#"SELECT count(*) FROM "kv$segments""#) == parts, "parts of up to 1 MiB")

            // The same values through a transaction, which reads each back before committing.
            let seen = try await store.transaction { transaction -> [Int] in
                try entries.map { name, value in
                    try transaction.write(value, for: try key("again/" + name.rawValue))
                    return try transaction.read(try key("again/" + name.rawValue))?.value == value ? value.count : -1
                }
            }
            #expect(seen == Self.sizes)
            for (name, value) in entries { #expect(try await store[try key("again/" + name.rawValue)] == value) }
            #expect(try await store.deleteAll(entries.map(\.key)) == entries.count)
            #expect(try raw.integer(#"SELECT count(*) FROM "kv$segments""#) == parts, "deleting a value deletes its parts")
        }
    }
}

/// A value kept in parts streams from a snapshot on a connection of its own; closing the
/// stream releases that connection, and a closed stream refuses to go on.
@Suite("SQLiteStore: scoped streams")
struct SQLiteStreamScopeTests {
    @Test func closingAStreamReleasesItsSnapshot() async throws {
        try await withScratchDirectory { directory in
            let store = try await SQLiteStore(path: directory.appendingPathComponent("store.db"))
            let value = Data((0..<(3 << 20)).map { UInt8($0 % 253) })
            try await store.set(value, for: "large")

            var kept: StreamedEntry?
            let first = try await store.withReadStream("large", chunkSize: 1 << 20) { stream in
                let stream = try #require(stream)
                kept = stream
                var iterator = stream.chunks.makeAsyncIterator()
                return try await iterator.next()
            }
            #expect(first == value.prefix(1 << 20))
            var iterator = try #require(kept).chunks.makeAsyncIterator()
            await #expect(throws: StoreError.self) { _ = try await iterator.next() }

            // An unclosed stream still reads whole, twice (the second time from a new snapshot).
            let stream = try #require(try await store.readStream("large", chunkSize: 1 << 20))
            #expect(try await stream.chunks.collect() == value)
            #expect(try await stream.chunks.collect() == value)
            try await store.set(Data("small now".utf8), for: "large")
            await #expect(throws: StoreError.self) { _ = try await stream.chunks.collect() }
        }
    }
}
