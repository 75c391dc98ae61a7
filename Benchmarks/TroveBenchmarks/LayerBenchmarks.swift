import Benchmark
import Crypto
import Foundation
import Trove
import TroveCrypto
import WorkloadKit

// The overhead of each layer over the store beneath it, on W1 (10,000 keys x 100 B), in one run:
// `swift package benchmark --filter "Layers.*" --grouping metric`. Every stack stands on a
// FileSystemStore in its own directory; "Layers W1 get (file)" is the bare store in the same run,
// and "file, keys under app/" the bare store holding the keys that the prefixed stack writes.

/// A small Codable record of about the size of a W1 value, for the typed view.
struct Record: Codable, Sendable {
    var id: Int
    var payload: String
}

/// Registers W1 get and put for every layer stack.
func registerLayers(_ workload: Workload, base: String) {
    let key1 = SymmetricKey(size: .bits256)
    let key2 = SymmetricKey(size: .bits256)
    let cache = { BoundedMemoryStore(maximumBytes: 64 << 20, maximumEntries: 100_000) }
    for phase in [Workload.Phase.get, .put] {
        func stack<Store: KeyValueStore>(_ name: String, _ open: @escaping (URL) async throws -> Store) {
            registerStore(workload, phase, name: name, base: base, prefix: "Layers ", open: open)
        }
        stack("file") { root in try FileSystemStore(root: root) }
        // The bare store with the keys the prefixed stack writes (`app/key-0000042`), which the
        // file store keeps one directory deeper: the prefix's own cost, apart from the layer's.
        registerStore(workload.keyed(under: "app/"), phase, name: "file, keys under app/", base: base,
                      prefix: "Layers ") { root in try FileSystemStore(root: root) }
        stack("prefixed(file)") { root in try FileSystemStore(root: root).prefixed("app") }
        stack("cached append-only(file)") { root in try FileSystemStore(root: root).cached(in: cache(), mode: .appendOnly) }
        stack("cached mutable(file)") { root in try FileSystemStore(root: root).cached(in: cache(), mode: .mutable) }
        stack("tiered(memory, file)") { root in try FileSystemStore(root: root).tiered(below: MemoryStore()) }
        stack("expiring(file)") { root in try FileSystemStore(root: root).expiring(after: .seconds(3600)) }
        stack("limited(file)") { root in try FileSystemStore(root: root).limited(keyLength: 64, valueSize: 16 << 10) }
        stack("signed(file)") { root in try FileSystemStore(root: root).signed(with: try Keyring(current: 1, key: key1)) }
        stack("encrypted(file)") { root in try FileSystemStore(root: root).encrypted(with: try Keyring(current: 1, key: key2)) }
        registerTyped(workload, phase, base: base)
    }
}

/// Registers W1 `phase` on `FileSystemStore.typed(as: Record.self)` (JSON).
private func registerTyped(_ workload: Workload, _ phase: Workload.Phase, base: String) {
    let fixture = Fixture<TypedStore<Record>>()
    let payload = String(repeating: "x", count: max(0, workload.valueByteCount - 24))
    let records = (0..<workload.keyCount).map { Record(id: $0, payload: payload) }
    let name = "Layers " + benchmarkName(workload, phase, "typed JSON(file)")
    func open(_ scratch: ScratchDirectory) throws -> TypedStore<Record> {
        try FileSystemStore(root: scratch.url.appendingPathComponent(dataDirectory, isDirectory: true)).typed(as: Record.self)
    }
    func putAll(_ store: TypedStore<Record>) async throws {
        for (index, key) in workload.keys.enumerated() { try await store.set(records[index], for: key) }
    }
    Benchmark(name) { benchmark in
        if phase == .put {
            let scratch = try fixture.directory()
            let store = try open(scratch)
            try await measure(benchmark, operations: workload.keyCount) { try await putAll(store) }
            try scratch.removeItem(dataDirectory)
        } else {
            let store = try fixture.populated()
            try await measure(benchmark, operations: workload.keyCount) {
                var total = 0
                for index in workload.readOrder {
                    guard let record = try await store[workload.keys[index]] else {
                        throw WorkloadError("typed get: \(workload.keys[index]) is missing")
                    }
                    total &+= record.id
                }
                blackHole(total)
            }
        }
    } setup: {
        try await fixture.setUp(in: base, label: "typed-\(phase.rawValue)") { scratch in
            guard phase == .get else { return nil }
            let store = try open(scratch)
            try await putAll(store)
            return store
        }
    } teardown: {
        try fixture.tearDown()
    }
}
