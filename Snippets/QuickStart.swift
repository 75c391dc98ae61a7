// The quick start: a directory store, reads and writes, conditional writes, compare-and-swap,
// expiry, listing, a namespace and a streamed read.

import Foundation
import Trove

// A directory store in ./data, created on first use.
let store = try FileSystemStore(root: URL(filePath: "data"))

// Write, read, delete. A missing key is nil.
try await store.set(Data("hello".utf8), for: "greetings/en")
if let bytes = try await store["greetings/en"] {
    print(String(decoding: bytes, as: UTF8.self))          // hello
}

// Conditional writes: create only if absent, or replace only the version you read. Errors
// are StoreError values; match on their code.
do {
    try await store.set(Data("v1".utf8), for: "docs/readme", condition: .ifAbsent)
} catch let error as StoreError where error.code == .conditionFailed {
    print("docs/readme was there already; nothing was changed")    // the second run
}
if let current = try await store.metadata(for: "docs/readme") {
    try await store.set(Data("v2".utf8), for: "docs/readme", condition: .ifMatches(current.etag))
}

// Compare-and-swap in a loop; safe across tasks and processes.
try await store.update("counters/visits") { current in
    let count = current.flatMap { Int(String(decoding: $0, as: UTF8.self)) } ?? 0
    return .set(Data(String(count + 1).utf8))
}

// Expiry, listing (paged under the hood, byte-wise order), one level of a hierarchy.
try await store.set(Data("token".utf8), for: "sessions/abc", expiry: .after(.seconds(3600)))
for try await key in try store.keys(withPrefix: "docs/") { print(key) }
for try await element in store.list(try ListQuery(prefix: "", delimiter: "/")) { print(element.name) }

// A namespace, and large values in chunks without holding them in memory.
let alice = store.prefixed("users/alice")
try await alice.set(Data("avatar bytes".utf8), for: "avatar")     // users/alice/avatar
if let stream = try await store.readStream("users/alice/avatar") {
    for try await chunk in stream.chunks { print(chunk.count) }
}
