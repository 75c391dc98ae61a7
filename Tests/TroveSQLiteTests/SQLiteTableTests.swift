import Foundation
import Testing
import Trove
import TroveSQLite
import TroveTestSupport

/// What a store keeps in its tables: expired rows invisible at once and deleted by
/// `reclaimExpired()`, and several stores in one database file, each in a table of its own.
@Suite("SQLiteStore: tables")
struct SQLiteTableTests {
    @Test func expiredRowsAreInvisibleAtOnceAndReclaimedFromTheTable() async throws {
        try await withScratchDirectory { directory in
            let file = directory.appendingPathComponent("store.db")
            let clock = ManualWallClock()
            let store = try await SQLiteStore(path: file, clock: clock.wallClock)
            try await store.set(Data("soon".utf8), for: "e/soon", expiry: .after(.seconds(60)))
            try await store.set(patternedBytes(2 << 20, seed: 1), for: "e/large", expiry: .after(.seconds(60)))
            try await store.set(Data("later".utf8), for: "e/later", expiry: .after(.seconds(120)))
            try await store.set(Data("kept".utf8), for: "e/kept")
            let raw = try RawDatabase(file)
            #expect(try raw.integer("SELECT count(*) FROM kv") == 4)
            #expect(try raw.integer(#"SELECT count(*) FROM "kv$segments""#) == 2)

            clock.advance(by: .seconds(60))
            for name: StoreKey in ["e/soon", "e/large"] {
                #expect(try await store.read(name) == nil, "\(name) is readable after it expired")
                #expect(try await store.metadata(for: name) == nil)
                #expect(try await store.readStream(name, chunkSize: 1 << 20) == nil)
                #expect(try await !store.contains(name))
            }
            #expect(try await store.readAll(["e/soon", "e/large", "e/later"]).keys.sorted() == ["e/later"])
            var listed: [String] = []
            for try await element in store.list(.all, pageSize: 1) { listed.append(element.name) }
            #expect(listed == ["e/kept", "e/later"])
            #expect(try await store.count(withPrefix: "e/") == 2)
            #expect(try await store.count(withPrefix: "e/s") == 0)
            #expect(try await store.delete("e/soon") == false, "deleting an expired value reports no live value")
            #expect(try raw.integer("SELECT count(*) FROM kv") == 3, "deleting an expired key removes its row, and no other")

            #expect(try await store.reclaimExpired() == 1)
            #expect(try raw.column("SELECT key FROM kv ORDER BY key") == ["e/kept", "e/later"])
            #expect(try raw.integer(#"SELECT count(*) FROM "kv$segments""#) == 0, "the parts of a reclaimed value are left")
            #expect(try await store.reclaimExpired() == 0)

            clock.advance(by: .seconds(60))
            #expect(try await store["e/later"] == nil)
            #expect(try await store.count(withPrefix: "e/") == 1)
            #expect(try await store.reclaimExpired() == 1)
            #expect(try raw.column("SELECT key FROM kv") == ["e/kept"])
            #expect(try await store["e/kept"] == Data("kept".utf8))
        }
    }

    @Test func storesInTwoTablesOfOneFileAreIndependent() async throws {
        try await withScratchDirectory { directory in
            let file = directory.appendingPathComponent("shared.db")
            let a = try await SQLiteStore(path: file, table: "a")
            let b = try await SQLiteStore(path: file, table: "b")
            let large = patternedBytes(2 << 20, seed: 1)
            for name: StoreKey in ["same/1", "same/2"] {
                try await a.set(Data("a \(name)".utf8), for: name)
                try await b.set(Data("b \(name)".utf8), for: name)
            }
            try await a.set(Data("only a".utf8), for: "only/a")
            try await a.set(large, for: "large")
            try await b.set(large, for: "large")

            #expect(try await a["same/1"] == Data("a same/1".utf8))
            #expect(try await b["same/1"] == Data("b same/1".utf8))
            #expect(try await b["only/a"] == nil)
            var keysOfA: [String] = [], keysOfB: [String] = []
            for try await element in a.list() { keysOfA.append(element.name) }
            for try await element in b.list() { keysOfB.append(element.name) }
            #expect(keysOfA == ["large", "only/a", "same/1", "same/2"])
            #expect(keysOfB == ["large", "same/1", "same/2"])
            #expect(try await a.count() == 4)
            #expect(try await b.count() == 3)

            #expect(try await a.delete("same/1"))
            try await a.set(Data("small".utf8), for: "large")
            #expect(try await b["same/1"] == Data("b same/1".utf8))
            #expect(try await b["large"] == large, "replacing a's value touched b's parts")
            try await b.writeAll([("same/2", Data("b2".utf8))])
            #expect(try await a["same/2"] == Data("a same/2".utf8))

            let raw = try RawDatabase(file)
            #expect(try raw.column("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
                    == ["a", "a$segments", "b", "b$segments"])
            #expect(try raw.integer(#"SELECT count(*) FROM "a$segments""#) == 0)
            #expect(try raw.integer(#"SELECT count(*) FROM "b$segments""#) == 2)

            // A store of one table opens while the other's is open, and sees only its own table.
            let again = try await SQLiteStore(path: file, table: "b")
            #expect(try await again.count() == 3)
        }
    }
}
