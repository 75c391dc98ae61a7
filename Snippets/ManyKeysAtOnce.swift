// Batches, read options (a byte range, a read that skips an unchanged value) and the
// dictionary operations, on the quick start's store.

// snippet.hide
import Foundation
import Trove

let store = try FileSystemStore(root: URL(filePath: "data"))
// snippet.show
// Batches: one result per entry; `atomicBatches` says whether a failure undoes the rest.
let results = try await store.writeBatch([
    BatchWrite("users/alice", Data("A".utf8)),
    BatchWrite("users/bob", Data("B".utf8), options: WriteOptions(condition: .ifAbsent)),
])
let entries = try await store.readBatch(["users/alice", "users/carol"])   // [entry, nil]
let etag = entries[0]?.metadata.etag

// A byte range, or nothing at all when the value has not changed since you read it.
let head = try await store.read("users/alice", options: ReadOptions(range: .bytes(0..<1)))
if case .unchanged? = try await store.read("users/alice", options: ReadOptions(ifNoneMatch: etag)) { /* cached copy is current */ }

// Dictionary operations, atomic on every store with conditional writes.
let visits = try await store.increment("counters/visits")              // 1, 2, 3, …
let session = try await store.value(for: "sessions/x", default: Data("new".utf8))   // setdefault
let popped = try await store.removeValue(for: "users/bob")             // pop
try await store.removeAll(withPrefix: "sessions/")                     // clear a namespace
let report = try await store.copy(to: MemoryStore(), withPrefix: "users/")   // streams, keeps expiry
