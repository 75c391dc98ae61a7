// A second process for PostgresStore's cross-process tests.
//
//     TrovePostgresTestHelper cas-increment <postgres-url> <key> <count>
//
// opens the store of <postgres-url> and adds one to the decimal counter under <key>, <count>
// times, each by compare-and-swap (`update`: a read, then a write if the ETag still matches),
// then prints `done`. It exits 1 with a one-line message on standard error when the store fails,
// and 2 for a usage error.
import Foundation
import Trove
import TrovePostgres

let arguments = CommandLine.arguments
guard arguments.count == 5, arguments[1] == "cas-increment", let count = Int(arguments[4]) else {
    FileHandle.standardError.write(Data("usage: TrovePostgresTestHelper cas-increment <postgres-url> <key> <count>\n".utf8))
    exit(2)
}

/// Adds one to the counter under `key`, `count` times, by compare-and-swap.
nonisolated func increment(_ store: any KeyValueStore, _ key: StoreKey, _ count: Int) async throws {
    for _ in 0..<count {
        _ = try await store.update(key, maxAttempts: 10_000) { @Sendable current in
            let value = current.flatMap { Int(String(decoding: $0, as: UTF8.self)) } ?? 0
            return .set(Data(String(value + 1).utf8))
        }
    }
}

do {
    let key = try StoreKey(validating: arguments[3])
    try await StoreOpener.standard.addingPostgres().withStore(arguments[2]) { store in
        try await increment(store, key, count)
    }
    print("done")
} catch {
    FileHandle.standardError.write(Data("TrovePostgresTestHelper: \(error)\n".utf8))
    exit(1)
}
