// A second process for the cross-process tests of Trove's stores.
//
//     TroveTestHelper cas-increment <root-directory> <key> <count>
//
// opens a FileSystemStore at <root-directory> and adds one to the decimal counter stored under
// <key>, <count> times, each by compare-and-swap (`update`).
//
//     TroveTestHelper write-loop <root-directory> <first-serial> <count>
//
// writes <count> values, numbered from <first-serial>, with fsync durability to the keys `crash/0` … `crash/15` in turn and
// prints the serial number of each write on standard output once the write has returned (an
// acknowledged write). Value n is `crashTestValue(n)`. Crash tests kill it at random moments.
//
//     TroveTestHelper stream-roundtrip <root-directory> <mebibytes>
//
// streams a value of <mebibytes> MiB into the store and back, checks every byte, and prints
// the growth of the process's peak resident memory in KiB.
//
//     TroveTestHelper queue-produce <root-directory> <namespace> <first> <count> [<batch>]
//
// enqueues the numbers <first> ..< <first> + <count> into the DurableQueue<Int> <namespace>,
// one at a time, or <batch> at a time with enqueue(contentsOf:).
//
//     TroveTestHelper queue-consume <root-directory> <namespace> <lease-milliseconds> <done-key> [<batch>]
//
// dequeues and acknowledges until the queue is empty and <done-key> exists, one at a time or up
// to <batch> at a time (dequeue(upTo:), acknowledge(contentsOf:)), printing `acking N` before
// each acknowledgement and `acked N` after it.
//
//     TroveTestHelper hold-lock <root-directory> <key>
//
// takes the file store's lock of <key>, prints `held` and the kind of lock, and waits without
// releasing it until it is killed (a writer that dies holding a key's lock).
//
// In each command, <root-directory> may instead be a store URL (any scheme with a colon, such as
// `sqlite:///tmp/x/store.db?synchronous=full`), opened as `trove` opens it; write-loop then
// uses the URL's own durability options. A file store makes only the portable system calls
// (those of platforms other than Linux) when TROVE_TEST_SYSTEM_CALLS=portable is set.
//
// The helper exits 0 on success, 1 with a one-line message on standard error when the store
// fails, and 2 for a usage error.

import Foundation
@_spi(Testing) import Trove
import TroveSQLite

/// Runs `body` on the store that `location` names: a store URL when it has a colon, else a
/// FileSystemStore rooted there (with fsync durability when `durable`), which makes only the
/// portable system calls when `TROVE_TEST_SYSTEM_CALLS` is `portable`.
func withStore(at location: String, durable: Bool = false, _ body: (any KeyValueStore) async throws -> Void) async throws {
    if location.contains(":") {
        try await StoreOpener.withSQLite.withStore(location) { store in try await body(store) }
        return
    }
    let portable = ProcessInfo.processInfo.environment["TROVE_TEST_SYSTEM_CALLS"] == "portable"
    let store = try FileSystemStore(root: URL(fileURLWithPath: location, isDirectory: true),
                                    configuration: .init(durability: durable ? .fsync : .buffered),
                                    systemCalls: portable ? .portable : .native)
    try await body(store)
}

/// How to call the helper.
let usage = "usage: TroveTestHelper cas-increment <root-directory> <key> <count> | "
    + "write-loop <root-directory> <first-serial> <count> | stream-roundtrip <root-directory> <mebibytes> | "
    + "queue-produce <root-directory> <namespace> <first> <count> [<batch>] | "
    + "queue-consume <root-directory> <namespace> <lease-milliseconds> <done-key> [<batch>] | hold-lock <root-directory> <key>"

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
        try await withStore(at: arguments[1]) { store in try await incrementCounter(in: store, key: key, count: count) }
    } catch {
        exit(with: "cas-increment failed: \(error)", status: 1)
    }
case "hold-lock":
    guard arguments.count == 3, let key = try? StoreKey(validating: arguments[2]) else { exit(with: usage, status: 2) }
    do {
        let store = try FileSystemStore(root: URL(fileURLWithPath: arguments[1], isDirectory: true), systemCalls: .native)
        try store.takeKeyLockAndKeepIt(for: key)
        FileHandle.standardOutput.write(Data("held \(store.keyLockKind)\n".utf8))
        while true { sleep(60) }
    } catch {
        exit(with: "hold-lock failed: \(error)", status: 1)
    }
case "write-loop":
    guard arguments.count == 4, let first = Int(arguments[2]), first >= 0, let count = Int(arguments[3]), count >= 0 else {
        exit(with: usage, status: 2)
    }
    do {
        try await withStore(at: arguments[1], durable: true) { store in
            try await writeLoop(in: store, serials: first..<(first + count))
        }
    } catch {
        exit(with: "write-loop failed: \(error)", status: 1)
    }
case "stream-roundtrip":
    guard arguments.count == 3, let mebibytes = Int(arguments[2]), mebibytes > 0 else { exit(with: usage, status: 2) }
    do {
        try await withStore(at: arguments[1]) { store in
            let growth = try await streamRoundTrip(in: store, mebibytes: mebibytes)
            print("peak-growth-kib \(growth)")
        }
    } catch {
        exit(with: "stream-roundtrip failed: \(error)", status: 1)
    }
case "queue-produce":
    guard arguments.count == 5 || arguments.count == 6, let first = Int(arguments[3]), let count = Int(arguments[4]), count >= 0,
          let batch = arguments.count == 6 ? Int(arguments[5]) : 1, batch >= 1,
          let namespace = try? KeyNamespace(validating: arguments[2]) else { exit(with: usage, status: 2) }
    do {
        try await withStore(at: arguments[1]) { store in
            try await produce(into: store, namespace: namespace, numbers: first..<(first + count), batch: batch)
        }
    } catch {
        exit(with: "queue-produce failed: \(error)", status: 1)
    }
case "queue-consume":
    guard arguments.count == 5 || arguments.count == 6, let milliseconds = Int(arguments[3]), milliseconds > 0,
          let batch = arguments.count == 6 ? Int(arguments[5]) : 1, batch >= 1,
          let namespace = try? KeyNamespace(validating: arguments[2]),
          let doneKey = try? StoreKey(validating: arguments[4]) else { exit(with: usage, status: 2) }
    do {
        try await withStore(at: arguments[1]) { store in
            try await consume(from: store, namespace: namespace, lease: .milliseconds(milliseconds), doneKey: doneKey,
                              batch: batch)
        }
    } catch {
        exit(with: "queue-consume failed: \(error)", status: 1)
    }
case let command?:
    exit(with: "unknown command '\(command)'; \(usage)", status: 2)
case nil:
    exit(with: usage, status: 2)
}
