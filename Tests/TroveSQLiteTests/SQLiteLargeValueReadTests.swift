import Foundation
import Testing
import Trove
import TroveSQLite

/// Values kept in parts (over `SQLiteStore.inlineLimit`) read inside a snapshot or transaction
/// that is already open: `readAll` and `transaction` read them on their own connection's
/// transaction.
@Suite("SQLiteStore: large values inside transactions")
struct SQLiteLargeValueReadTests {
    static let large = Data((0..<(3 * SQLiteStore.inlineLimit + 17)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 13) })

    @Test func readAllReadsLargeValues() async throws {
        try await SQLiteFixture.normal.withFreshStore { store, _ in
            try await store.set(Self.large, for: "large")
            try await store.set(Data("small".utf8), for: "small")
            let found = try await store.readAll(["large", "small", "missing"])
            #expect(found["large"]?.value == Self.large)
            #expect(found["small"]?.value == Data("small".utf8))
            #expect(found["missing"] == nil)
        }
    }

    @Test func transactionReadsLargeValues() async throws {
        try await SQLiteFixture.normal.withFreshStore { store, _ in
            try await store.set(Self.large, for: "large")
            let read = try await store.transaction { transaction in
                let entry = try transaction.read("large")
                try transaction.write(Data("copied".utf8), for: "copy")
                return entry?.value
            }
            #expect(read == Self.large)
            #expect(try await store.read("copy")?.value == Data("copied".utf8))
        }
    }

    @Test func readReturnsLargeValuesWhole() async throws {
        try await SQLiteFixture.normal.withFreshStore { store, _ in
            let huge = Data(repeating: 0xA5, count: 2 * (1 << 20) + 3) // three parts of up to 1 MiB
            try await store.set(Self.large, for: "large")
            try await store.set(huge, for: "huge")
            #expect(try await store.read("large")?.value == Self.large)
            #expect(try await store.read("huge")?.value == huge)
        }
    }
}
