public import Trove

/// The phases of a workload run over a Trove store, through the `KeyValueStore` API only.
public enum StorePhases {
    /// Writes every key of `workload` with `set(_:for:)`.
    public static func put(_ workload: Workload, into store: some KeyValueStore) async throws {
        let value = workload.valueData
        for key in workload.keys { try await store.set(value, for: key) }
    }

    /// Reads every key with `read(_:)` in the workload's read order; returns the bytes read.
    @discardableResult
    public static func get(_ workload: Workload, from store: some KeyValueStore) async throws -> Int {
        var total = 0
        for index in workload.readOrder {
            guard let entry = try await store.read(workload.keys[index]) else {
                throw WorkloadError("\(store) get: \(workload.keys[index]) is missing")
            }
            total += entry.value.count
        }
        try check(total, equals: workload.keyCount * workload.valueByteCount, "\(store) get: bytes read")
        return total
    }

    /// Lists every key with `list()`; returns how many there were.
    @discardableResult
    public static func list(_ workload: Workload, in store: some KeyValueStore) async throws -> Int {
        var count = 0
        for try await _ in store.list() { count += 1 }
        try check(count, equals: workload.keyCount, "\(store) list: keys listed")
        return count
    }

    /// Deletes every key with `delete(_:)`.
    public static func delete(_ workload: Workload, from store: some KeyValueStore) async throws {
        for key in workload.keys {
            guard try await store.delete(key) else { throw WorkloadError("\(store) delete: \(key) was missing") }
        }
    }
}
