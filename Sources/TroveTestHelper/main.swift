// A second process for the cross-process tests of Trove's stores.
//
//     TroveTestHelper cas-increment <root-directory> <key> <count>
//
// opens a FileSystemStore at <root-directory> and adds one to the decimal counter stored under
// <key>, <count> times, each by compare-and-swap (`update`). It exits 0 when every increment
// was stored, 1 with a one-line message on standard error when the store fails, and 2 for a
// usage error.

import Foundation
import Trove

/// How to call the helper.
let usage = "usage: TroveTestHelper cas-increment <root-directory> <key> <count>"

/// Writes `message` as one line on standard error and exits with `status`.
func exit(with message: String, status: Int32) -> Never {
    let line = "TroveTestHelper: " + message.split(whereSeparator: \.isNewline).joined(separator: " ") + "\n"
    FileHandle.standardError.write(Data(line.utf8))
    exit(status)
}

/// The value under the counter's key is not a decimal number.
struct NotACounter: Error, CustomStringConvertible {
    let value: Data
    var description: String { "the value under the key is not a decimal counter (\(value.count) bytes)" }
}

/// Adds one to the decimal counter under `key`, `count` times, each by compare-and-swap.
func incrementCounter(in store: some KeyValueStore, key: StoreKey, count: Int) async throws {
    for _ in 0..<count {
        let outcome = try await store.update(key) { current in
            guard let current else { return .set(Data("1".utf8)) }
            guard let value = Int(String(decoding: current, as: UTF8.self)) else { throw NotACounter(value: current) }
            return .set(Data(String(value + 1).utf8))
        }
        guard case .stored = outcome else {
            throw StoreError(.io, operation: .update, key: key, store: store.description,
                             message: "an increment did not store a value (\(outcome))")
        }
    }
}

let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "cas-increment":
    guard arguments.count == 4 else { exit(with: usage, status: 2) }
    guard let count = Int(arguments[3]), count >= 0 else {
        exit(with: "<count> must be a whole number, not '\(arguments[3])'", status: 2)
    }
    let key: StoreKey
    do {
        key = try StoreKey(validating: arguments[2])
    } catch {
        exit(with: error.description, status: 2)
    }
    do {
        let store = try FileSystemStore(root: URL(fileURLWithPath: arguments[1], isDirectory: true))
        try await incrementCounter(in: store, key: key, count: count)
    } catch {
        exit(with: "cas-increment failed: \(error)", status: 1)
    }
case let command?:
    exit(with: "unknown command '\(command)'; \(usage)", status: 2)
case nil:
    exit(with: usage, status: 2)
}
