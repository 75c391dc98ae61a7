// A second process for RedisStore's cross-process tests.
//
//     TroveRedisTestHelper cas-increment <redis-url> <key> <count>
//
// opens the store of <redis-url> and adds one to the decimal counter under <key>, <count>
// times, each by compare-and-swap (`update`, not the store's native counter), then prints
// `done`.
import Foundation
import Trove
import TroveRedis

let arguments = CommandLine.arguments
guard arguments.count == 5, arguments[1] == "cas-increment", let count = Int(arguments[4]) else {
    FileHandle.standardError.write(Data("usage: TroveRedisTestHelper cas-increment <redis-url> <key> <count>\n".utf8))
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
    let opened = try await StoreOpener.withRedis.open(arguments[2])
    try await increment(opened.store, key, count)
    try await opened.shutdown()
    print("done")
} catch {
    FileHandle.standardError.write(Data("TroveRedisTestHelper: \(error)\n".utf8))
    exit(1)
}
